"""``resources.*``, ``image.*`` (static), ``security.*``, ``reliability.*``: one pass per pod.

Every rule here reads one pod template (a Deployment's, a CronJob's, a bare Pod) and
its containers, so they share one walk: each object is visited once, each container
once, and every finding points at the exact field: the one that is wrong, or the one
to add (``…containers[0].resources.limits.memory``), whose line is then that of its
nearest ancestor in the file.

Precision over volume. **Errors** are for what the API server or the kubelet will
reject (a request above its limit, ``runAsUser: 0`` with ``runAsNonRoot``, a quantity
that does not parse) or for what hands a container the node (privileged, host
namespaces, hostPath, ``SYS_ADMIN``, a password committed in plain text). **Warnings**
are risks, **info** is advice. What makes a rule quieter:

- Kubernetes fills a missing request from the limit, and a namespace's ``LimitRange``
  fills both from its defaults: neither counts as missing.
- ``runAsUser`` with a non-zero id is as good as ``runAsNonRoot: true``; a pod-wide
  omission is one finding for the pod, not one per container.
- A container nothing routes to (no ports, no Service selecting it) without a
  readiness probe is info, not a warning.
- A workload a HorizontalPodAutoscaler scales is judged by the HPA's replica range.
- One replica in a namespace (or an overlay directory) named like ``dev``/``test`` is
  info; ``replicas: 0`` is a workload switched off on purpose.
- Values that look templated (``${IMAGE}``, ``{{ .tag }}``) are left alone.

Policies (:mod:`~pilothouse.agents.validator.policies`) supply the bounds and the
allowed registries; switching rules off and changing severities happens afterwards,
in :meth:`Policies.apply`, for every check alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from pilothouse.agents.validator import policies as policy
from pilothouse.agents.validator.model import (
    Corpus,
    Evidence,
    Finding,
    Manifest,
    RuleInfo,
    Severity,
)
from pilothouse.agents.validator.workloads import (
    WORKLOAD_KINDS,
    PodTemplate,
    as_dict,
    as_list,
    pod_template,
)

__all__ = ["RULES", "WorkloadCheck"]

_TABLE: tuple[tuple[str, str, Severity, str, str], ...] = (
    # rule_id, category, severity, summary, hint
    ("resources-missing", "resources.limits-missing", "warning",
     "a container sets no resource requests or limits",
     "Set requests (what the scheduler reserves) and a memory limit, e.g. "
     "resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}"),
    ("memory-limit-missing", "resources.limits-missing", "warning",
     "a container has no memory limit",
     "Set resources.limits.memory; without it one leak can push the node out of memory "
     "and get other pods evicted"),
    ("cpu-limit-missing", "resources.limits-missing", "info",
     "a container has no CPU limit",
     "Optional: a CPU limit caps bursts (and throttles); the CPU request already "
     "guarantees a share"),
    ("cpu-request-missing", "resources.requests-missing", "warning",
     "a container has no CPU request (nor a limit to default it from)",
     "Set resources.requests.cpu so the scheduler reserves CPU for it"),
    ("memory-request-missing", "resources.requests-missing", "warning",
     "a container has no memory request (nor a limit to default it from)",
     "Set resources.requests.memory so the scheduler reserves memory for it"),
    ("request-exceeds-limit", "resources.request-exceeds-limit", "error",
     "a resource request is above its limit (the pod is rejected)",
     "Lower the request to at most the limit, or raise the limit"),
    ("resource-quantity-invalid", "schema.invalid", "error",
     "a resource quantity does not parse or is negative (the object is rejected)",
     "Write a Kubernetes quantity: 250m or 0.25 for CPU, 512Mi or 1Gi for memory"),
    ("request-above-bound", "resources.out-of-bounds", "error",
     "a resource request is above the policy's maximum",
     "Lower the request, or change the bound in the policies file (or an override)"),
    ("limit-above-bound", "resources.out-of-bounds", "error",
     "a resource limit is above the policy's maximum",
     "Lower the limit, or change the bound in the policies file (or an override)"),
    ("replicas-below-min", "resources.out-of-bounds", "warning",
     "fewer replicas than the policy's minimum",
     "Raise the replica count, or change replicas_min in the policies file"),
    ("replicas-above-max", "resources.out-of-bounds", "warning",
     "more replicas than the policy's maximum",
     "Lower the replica count, or change replicas_max in the policies file"),
    ("image-tag-missing", "image.unpinned", "warning",
     "an image has no tag or digest (it means :latest)",
     "Pin a version tag or, better, a digest (image@sha256:…) so every node runs "
     "the same build"),
    ("image-tag-latest", "image.unpinned", "warning",
     "an image is tagged :latest",
     "Pin a version tag or a digest; :latest changes under you and cannot be rolled back"),
    ("image-tag-mutable", "image.unpinned", "info",
     "an image tag names a moving channel (stable, main, nightly, …)",
     "Pin a version tag or a digest for reproducible rollouts"),
    ("registry-not-allowed", "image.registry-not-allowed", "error",
     "an image comes from a registry the policy does not allow",
     "Mirror the image into an allowed registry, or add its registry to allowed_registries"),
    ("privileged-container", "security.privileged", "error",
     "a container runs privileged (root on the node)",
     "Remove privileged: true; grant the one capability it needs instead"),
    ("privilege-escalation-allowed", "security.privilege-escalation", "warning",
     "allowPrivilegeEscalation is not false",
     "Set securityContext.allowPrivilegeEscalation: false"),
    ("run-as-non-root-unset", "security.run-as-root", "warning",
     "nothing stops a container from running as root",
     "Set securityContext.runAsNonRoot: true (pod-wide) and a non-zero runAsUser"),
    ("run-as-root-user", "security.run-as-root", "error",
     "a container is told to run as root (runAsUser: 0)",
     "Use a non-zero runAsUser (and an image that works as that user)"),
    ("host-network", "security.host-namespace", "error",
     "the pod shares the node's network namespace",
     "Remove hostNetwork: true; expose the pod through a Service instead"),
    ("host-pid", "security.host-namespace", "error",
     "the pod shares the node's process namespace",
     "Remove hostPID: true; it lets the pod see and signal every process on the node"),
    ("host-ipc", "security.host-namespace", "error",
     "the pod shares the node's IPC namespace",
     "Remove hostIPC: true"),
    ("host-port", "security.host-namespace", "warning",
     "a container binds a port on the node",
     "Remove hostPort and use a Service (NodePort or LoadBalancer if it must be reachable)"),
    ("host-path-volume", "security.host-path", "error",
     "the pod mounts a directory of the node (hostPath)",
     "Use a PersistentVolumeClaim, a ConfigMap/Secret or an emptyDir instead"),
    ("dangerous-capability-added", "security.capabilities", "error",
     "a container adds a capability that amounts to root on the node",
     "Remove it from capabilities.add; if truly needed, isolate the workload"),
    ("capability-added", "security.capabilities", "warning",
     "a container adds a capability outside the Pod Security baseline",
     "Remove it, or run the workload in a namespace whose Pod Security level allows it"),
    ("capabilities-not-dropped", "security.capabilities", "warning",
     "a container does not drop all capabilities",
     "Set securityContext.capabilities.drop: [ALL] and add back only what it needs"),
    ("secret-in-env", "security.secret-in-env", "error",
     "a secret-looking environment variable has a literal value",
     "Move the value into a Secret and use valueFrom.secretKeyRef; it is in the git "
     "history now, so rotate it"),
    ("credentials-in-env-url", "security.secret-in-env", "error",
     "an environment variable holds a URL with a password in it",
     "Keep the password in a Secret and build the URL from $(VARS), or use valueFrom"),
    ("readiness-probe-missing", "reliability.probe-missing", "warning",
     "a long-running container has no readiness probe",
     "Add a readinessProbe so traffic and rollouts wait until it is ready"),
    ("liveness-probe-missing", "reliability.probe-missing", "info",
     "a long-running container has no liveness probe",
     "Consider a livenessProbe so a hung process is restarted"),
    ("single-replica", "reliability.single-replica", "warning",
     "a Deployment or StatefulSet runs a single replica",
     "Run at least 2 replicas (with a PodDisruptionBudget) so a rollout or a node drain "
     "does not take it down"),
)  # fmt: skip

RULES: tuple[RuleInfo, ...] = tuple(RuleInfo(r, c, s, summary) for r, c, s, summary, _ in _TABLE)
_INFO: dict[str, tuple[str, Severity, str]] = {r: (c, s, hint) for r, c, s, _, hint in _TABLE}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SCALED_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"})
SERVING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
DEV_WORDS = _words(
    "dev devel develop development test tests testing qa sandbox preview local ci e2e "
    "tmp temp scratch playground demo review"
)
MOVING_TAGS = _words(
    "stable main master edge nightly dev develop canary current head release lts "
    "mainline rolling snapshot unstable"
)
DANGEROUS_CAPS = _words(
    "ALL SYS_ADMIN NET_ADMIN SYS_PTRACE SYS_MODULE SYS_RAWIO SYS_BOOT SYS_TIME SYS_RESOURCE "
    "DAC_READ_SEARCH BPF PERFMON MAC_ADMIN MAC_OVERRIDE LINUX_IMMUTABLE"
)
BASELINE_CAPS = _words(
    "AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID KILL MKNOD NET_BIND_SERVICE SETFCAP "
    "SETGID SETPCAP SETUID SYS_CHROOT"
)
SECRET_NAME = re.compile(
    r"PASSW(?:OR)?D|PASSPHRASE|(?:^|_)PASS(?:$|_)|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|"
    r"ACCESS_?KEY|CREDENTIAL|AUTH_?KEY|SIGNING_?KEY|ENCRYPTION_?KEY|SESSION_?KEY"
)
_NOT_SECRET_SUFFIX = re.compile(
    r"_(?:FILE|PATH|DIR|NAME|URL|URI|ENDPOINT|REF|HEADER|TYPE|LENGTH|TTL|EXPIRY|EXPIRES|"
    r"EXPIRATION|TIMEOUT|ENABLED|ID|ISSUER|AUDIENCE|SCOPES?|PREFIX|MODE|FORMAT|ALGORITHM|"
    r"VERSION|PROVIDER|KIND|SIZE|COUNT|LIMIT|MAX|MIN|HOST|PORT)$"
)
_HARMLESS_VALUE = re.compile(
    r"(?i)(?:true|false|yes|no|on|off|none|null|[-+]?\d+(?:\.\d+)?|/.*|\$\(.*\)|\$\{.*\}|"
    r"\{\{.*\}\}|<.*>)"
)
URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@")
"""A URL with a password: ``scheme://user:password@`` or, as Redis writes it,
``redis://:password@`` (an empty user name)."""
_SPLIT = re.compile(r"[-_./]+")
_REFUSED = " and runAsNonRoot: true, so the kubelet refuses to start it"


_dict = as_dict
_list = as_list


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _emit(
    m: Manifest,
    rule_id: str,
    message: str,
    path: str,
    *,
    severity: Severity | None = None,
    hint: str | None = None,
    evidence: tuple[Evidence, ...] = (),
) -> Finding:
    category, default, default_hint = _INFO[rule_id]
    return m.finding(
        category,
        rule_id,
        severity or default,
        message,
        path=path,
        hint=default_hint if hint is None else hint,
        evidence=evidence,
    )


def templated(value: str) -> bool:
    return "${" in value or "{{" in value or "$(" in value


def _dev_like(namespace: str, file: str) -> bool:
    words = set(_SPLIT.split(namespace.lower()))
    words.update(_SPLIT.split(file.lower().rsplit("/", 1)[0]))
    return not words.isdisjoint(DEV_WORDS)


class _Index:
    """What the corpus says about pods from outside them: defaults, autoscalers, Services."""

    def __init__(self, corpus: Corpus) -> None:
        self.defaults: dict[str, tuple[set[str], set[str]]] = {}  # ns -> (limits, requests)
        self.hpas: dict[tuple[str, str, str], Manifest] = {}  # (ns, kind, name) -> HPA
        self.selectors: dict[str, dict[tuple[str, str], list[dict[str, str]]]] = {}
        for m in corpus.manifests:
            kind = m.kind
            if kind == "LimitRange":
                limits, requests = self.defaults.setdefault(corpus.namespace_of(m), (set(), set()))
                for item in _list(_dict(m.body.get("spec")).get("limits")):
                    if isinstance(item, dict) and item.get("type", "Container") == "Container":
                        limits.update(_dict(item.get("default")))
                        requests.update(_dict(item.get("defaultRequest")))
                        requests.update(_dict(item.get("default")))
            elif kind == "HorizontalPodAutoscaler":
                target = _dict(_dict(m.body.get("spec")).get("scaleTargetRef"))
                key = (corpus.namespace_of(m), str(target.get("kind")), str(target.get("name")))
                self.hpas[key] = m
            elif kind == "Service":
                selector = _dict(_dict(m.body.get("spec")).get("selector"))
                if selector:
                    wanted = {str(k): str(v) for k, v in selector.items()}
                    by_label = self.selectors.setdefault(corpus.namespace_of(m), {})
                    by_label.setdefault(next(iter(wanted.items())), []).append(wanted)

    def routed(self, namespace: str, labels: dict[str, str]) -> bool:
        """Whether some Service in ``namespace`` selects pods with ``labels``."""
        by_label = self.selectors.get(namespace)
        if not by_label:
            return False
        for item in labels.items():
            for wanted in by_label.get(item, ()):
                if all(labels.get(k) == v for k, v in wanted.items()):
                    return True
        return False


class WorkloadCheck:
    """Resources, static image rules, pod security and reliability of every pod template."""

    rules = RULES

    def __init__(self, policies: policy.Policies | None = None) -> None:
        self.policies = policies or policy.Policies()
        self._images: dict[str, list[tuple[str, str]]] = {}  # image -> (rule_id, message)

    def run(self, corpus: Corpus) -> Iterator[Finding]:
        index = _Index(corpus)
        for m in corpus.manifests:
            if m.kind == "HorizontalPodAutoscaler":
                yield from self._autoscaler(m, corpus)
            if m.kind not in WORKLOAD_KINDS:
                continue
            template = pod_template(m)
            if template is None:
                continue
            namespace = corpus.namespace_of(m)
            yield from self._replicas(m, namespace, index)
            yield from self._pod(m, template)
            bounds = self.policies.bounds_for(m.file, namespace)
            defaults = index.defaults.get(namespace, (set(), set()))
            serving = m.kind in SERVING_KINDS
            containers = list(template.containers())
            only = sum(".containers[" in path for _, path in containers) == 1
            routed = serving and only and index.routed(namespace, template.labels)
            for container, path in containers:
                name = str(container.get("name") or path.rsplit(".", 1)[-1])
                main = ".containers[" in path
                sidecar = not main and container.get("restartPolicy") == "Always"
                yield from self._resources(
                    m, container, path, name, main or sidecar, bounds, defaults
                )
                yield from self._image(m, container, path, name)
                yield from self._security(m, template, container, path, name)
                yield from self._env(m, container, path, name)
                if serving and main:
                    yield from self._probes(m, container, path, name, routed)

    # -- resources ------------------------------------------------------------------------

    def _resources(
        self,
        m: Manifest,
        container: dict[str, Any],
        path: str,
        name: str,
        long_running: bool,
        bounds: policy.Bounds,
        defaults: tuple[set[str], set[str]],
    ) -> Iterator[Finding]:
        resources = _dict(container.get("resources"))
        requests = _dict(resources.get("requests"))
        limits = _dict(resources.get("limits"))
        where = f"{path}.resources"
        parsed: dict[tuple[str, str], Fraction] = {}
        for group, values in (("requests", requests), ("limits", limits)):
            for key, raw in values.items():
                if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                    continue  # a type error, which the schema check reports
                try:
                    value = policy.parse_quantity(raw)
                except ValueError:
                    value = Fraction(-1)
                if value < 0:
                    yield _emit(
                        m,
                        "resource-quantity-invalid",
                        f"container {name}: {group}.{key} {raw!r} is not a valid quantity",
                        f"{where}.{group}.{key}",
                    )
                else:
                    parsed[(group, str(key))] = value
        if long_running:
            default_limits, default_requests = defaults
            if not requests and not limits and not default_limits and not default_requests:
                yield _emit(
                    m,
                    "resources-missing",
                    f"container {name} sets no resource requests or limits",
                    where,
                )
            else:
                for key, rule, gap in (
                    ("memory", "memory-limit-missing", "memory limit"),
                    ("cpu", "cpu-limit-missing", "CPU limit"),
                ):
                    if key not in limits and key not in default_limits:
                        at = f"{where}.limits.{key}"
                        yield _emit(m, rule, f"container {name} has no {gap}", at)
                for key, rule, gap in (
                    ("cpu", "cpu-request-missing", "CPU request"),
                    ("memory", "memory-request-missing", "memory request"),
                ):
                    if key not in requests and key not in limits and key not in default_requests:
                        at = f"{where}.requests.{key}"
                        yield _emit(m, rule, f"container {name} has no {gap}", at)
        for (group, key), value in parsed.items():
            if group != "requests" or ("limits", key) not in parsed:
                continue
            limit = parsed[("limits", key)]
            if value > limit:
                yield _emit(
                    m,
                    "request-exceeds-limit",
                    f"container {name}: {key} request {requests[key]} is above its limit "
                    f"{limits[key]}; the API server rejects the pod",
                    f"{where}.requests.{key}",
                )
        if bounds:
            yield from self._bounded(m, parsed, requests, limits, where, name, bounds)

    def _bounded(
        self,
        m: Manifest,
        parsed: dict[tuple[str, str], Fraction],
        requests: dict[str, Any],
        limits: dict[str, Any],
        where: str,
        name: str,
        bounds: policy.Bounds,
    ) -> Iterator[Finding]:
        for key, request_max, limit_max in (
            ("cpu", bounds.cpu_request_max, bounds.cpu_limit_max),
            ("memory", bounds.memory_request_max, bounds.memory_limit_max),
        ):
            limit = parsed.get(("limits", key))
            if limit_max is not None and limit is not None and limit > limit_max.value:
                yield _emit(
                    m,
                    "limit-above-bound",
                    f"container {name}: {key} limit {limits[key]} is above the maximum "
                    f"{limit_max.text}",
                    f"{where}.limits.{key}",
                    evidence=(self.policies.evidence(limit_max.where, limit_max.text),),
                )
            request = parsed.get(("requests", key))
            field, raw = f"{where}.requests.{key}", requests.get(key)
            if request is None and key not in requests and limit is not None:
                # Kubernetes requests what the container limits
                request, field, raw = limit, f"{where}.limits.{key}", f"{limits[key]} (the limit)"
            if request_max is not None and request is not None and request > request_max.value:
                yield _emit(
                    m,
                    "request-above-bound",
                    f"container {name}: {key} request {raw} is above the maximum "
                    f"{request_max.text}",
                    field,
                    evidence=(self.policies.evidence(request_max.where, request_max.text),),
                )

    def _replicas(self, m: Manifest, namespace: str, index: _Index) -> Iterator[Finding]:
        if m.kind not in SCALED_KINDS:
            return
        if (namespace, m.kind, m.name) in index.hpas:
            return  # judged by its HorizontalPodAutoscaler
        spec = _dict(m.body.get("spec"))
        raw = spec.get("replicas", 1)
        replicas = _int(raw)
        if replicas is None:
            return
        where = "$.spec.replicas"
        yield from self._replica_bounds(m, namespace, replicas, where, "replicas")
        if m.kind in ("Deployment", "StatefulSet") and replicas == 1:
            dev = _dev_like(namespace, m.file)
            said = "replicas: 1" if "replicas" in spec else "no replicas (1)"
            yield _emit(
                m,
                "single-replica",
                f"{m.kind} {m.name} sets {said}; it is down during every rollout or node drain",
                where,
                severity="info" if dev else None,
            )

    def _replica_bounds(
        self, m: Manifest, namespace: str, replicas: int, where: str, what: str
    ) -> Iterator[Finding]:
        bounds = self.policies.bounds_for(m.file, namespace)
        low, high = bounds.replicas_min, bounds.replicas_max
        if low is not None and replicas < low.value:
            yield _emit(
                m,
                "replicas-below-min",
                f"{m.kind} {m.name}: {what} {replicas} is below the minimum {low.text}",
                where,
                evidence=(self.policies.evidence(low.where, low.text),),
            )
        if high is not None and replicas > high.value:
            yield _emit(
                m,
                "replicas-above-max",
                f"{m.kind} {m.name}: {what} {replicas} is above the maximum {high.text}",
                where,
                evidence=(self.policies.evidence(high.where, high.text),),
            )

    def _autoscaler(self, m: Manifest, corpus: Corpus) -> Iterator[Finding]:
        spec = _dict(m.body.get("spec"))
        namespace = corpus.namespace_of(m)
        low, high = _int(spec.get("minReplicas", 1)), _int(spec.get("maxReplicas"))
        low_at = "$.spec.minReplicas"
        if low is not None:
            yield from self._replica_bounds(m, namespace, low, low_at, "minReplicas")
        if high is not None:
            yield from self._replica_bounds(m, namespace, high, "$.spec.maxReplicas", "maxReplicas")
        target = _dict(spec.get("scaleTargetRef"))
        if low == 1 and target.get("kind") in ("Deployment", "StatefulSet"):
            yield _emit(
                m,
                "single-replica",
                f"{m.kind} {m.name} scales {target.get('kind')} {target.get('name')} "
                "down to a single replica",
                low_at,
                severity="info" if _dev_like(namespace, m.file) else None,
                hint="Set minReplicas: 2 (with a PodDisruptionBudget)",
            )

    # -- images ---------------------------------------------------------------------------

    def _image(
        self, m: Manifest, container: dict[str, Any], path: str, name: str
    ) -> Iterator[Finding]:
        image = container.get("image")
        if not isinstance(image, str) or not image or templated(image):
            return
        verdicts = self._images.get(image)
        if verdicts is None:
            verdicts = self._images[image] = self._judge_image(image)
        for rule, message in verdicts:
            evidence: tuple[Evidence, ...] = ()
            if rule == "registry-not-allowed":
                listed = ", ".join(self.policies.allowed_registries or ())
                evidence = (self.policies.evidence("allowed_registries", listed),)
            yield _emit(
                m,
                rule,
                f"container {name}: {message}",
                f"{path}.image",
                evidence=evidence,
            )

    def _judge_image(self, image: str) -> list[tuple[str, str]]:
        ref = policy.parse_image(image)
        verdicts: list[tuple[str, str]] = []
        if ref.digest is None:
            if ref.tag is None:
                verdicts.append(("image-tag-missing", f"image {image} has no tag"))
            elif ref.tag == "latest":
                verdicts.append(("image-tag-latest", f"image {image} is tagged latest"))
            elif ref.tag.lower() in MOVING_TAGS:
                message = f"image {image} is tagged {ref.tag}, which moves"
                verdicts.append(("image-tag-mutable", message))
        if self.policies.registry_allowed(image) is False:
            message = f"image {image} comes from {ref.registry}, which the policies do not allow"
            verdicts.append(("registry-not-allowed", message))
        return verdicts

    # -- security -------------------------------------------------------------------------

    def _pod(self, m: Manifest, template: PodTemplate) -> Iterator[Finding]:
        spec, at = template.spec, template.path
        for key, rule in (
            ("hostNetwork", "host-network"),
            ("hostPID", "host-pid"),
            ("hostIPC", "host-ipc"),
        ):
            if spec.get(key) is True:
                yield _emit(m, rule, f"{m.kind} {m.name} sets {key}: true", f"{at}.{key}")
        for volume, path in template.volumes():
            host = volume.get("hostPath")
            if host is not None:
                where = _dict(host).get("path", "?")
                message = f"volume {volume.get('name', '?')} mounts {where} from the node"
                yield _emit(m, "host-path-volume", message, f"{path}.hostPath")
        yield from self._run_as_root(m, template)

    def _run_as_root(self, m: Manifest, template: PodTemplate) -> Iterator[Finding]:
        spec, at = template.spec, template.path
        if _dict(spec.get("os")).get("name") == "windows":
            return
        pod = _dict(spec.get("securityContext"))
        pod_user, pod_non_root = _int(pod.get("runAsUser")), pod.get("runAsNonRoot")
        inherited: list[str] = []  # containers that take the pod's (missing) settings
        as_root: list[str] = []  # containers that take the pod's runAsUser: 0
        for container, path in template.containers():
            name = str(container.get("name") or path.rsplit(".", 1)[-1])
            own = _dict(container.get("securityContext"))
            user = _int(own["runAsUser"]) if "runAsUser" in own else pod_user
            non_root = own.get("runAsNonRoot", pod_non_root)
            if user == 0 and "runAsUser" in own:
                yield _emit(
                    m,
                    "run-as-root-user",
                    f"container {name} runs as root (runAsUser: 0)"
                    + (_REFUSED if non_root is True else ""),
                    f"{path}.securityContext.runAsUser",
                )
            elif user == 0:
                as_root.append(name)
            elif non_root is not True and user is None:
                if "runAsNonRoot" in own:
                    yield _emit(
                        m,
                        "run-as-non-root-unset",
                        f"container {name} sets runAsNonRoot: {own['runAsNonRoot']}",
                        f"{path}.securityContext.runAsNonRoot",
                    )
                else:
                    inherited.append(name)
        if as_root:
            yield _emit(
                m,
                "run-as-root-user",
                f"{m.kind} {m.name} runs {', '.join(as_root)} as root (runAsUser: 0)"
                + (_REFUSED if pod_non_root is True else ""),
                f"{at}.securityContext.runAsUser",
            )
        if inherited:
            where = f"{at}.securityContext.runAsNonRoot"
            said = (
                "sets runAsNonRoot: false"
                if "runAsNonRoot" in pod
                else "sets neither runAsNonRoot nor runAsUser"
            )
            yield _emit(
                m,
                "run-as-non-root-unset",
                f"{m.kind} {m.name} {said}: {', '.join(inherited)} may run as root",
                where,
            )

    def _security(
        self,
        m: Manifest,
        template: PodTemplate,
        container: dict[str, Any],
        path: str,
        name: str,
    ) -> Iterator[Finding]:
        for i, port in enumerate(_list(container.get("ports"))):
            host_port = _int(_dict(port).get("hostPort"))
            if host_port:
                message = f"container {name} binds port {host_port} on the node"
                yield _emit(m, "host-port", message, f"{path}.ports[{i}].hostPort")
        if _dict(template.spec.get("os")).get("name") == "windows":
            return
        context = _dict(container.get("securityContext"))
        at = f"{path}.securityContext"
        if context.get("privileged") is True:
            message = f"container {name} runs privileged"
            yield _emit(m, "privileged-container", message, f"{at}.privileged")
            return  # a privileged container has every capability and may escalate
        if context.get("allowPrivilegeEscalation") is not False:
            explicit = "allowPrivilegeEscalation" in context
            yield _emit(
                m,
                "privilege-escalation-allowed",
                f"container {name} "
                + (
                    "allows privilege escalation"
                    if explicit
                    else "does not forbid privilege escalation"
                ),
                f"{at}.allowPrivilegeEscalation",
            )
        capabilities = _dict(context.get("capabilities"))
        for i, raw in enumerate(_list(capabilities.get("add"))):
            cap = str(raw).upper().removeprefix("CAP_")
            if cap in DANGEROUS_CAPS:
                message = f"container {name} adds capability {raw}"
                yield _emit(m, "dangerous-capability-added", message, f"{at}.capabilities.add[{i}]")
            elif cap not in BASELINE_CAPS:
                message = f"container {name} adds capability {raw}, outside the baseline"
                yield _emit(m, "capability-added", message, f"{at}.capabilities.add[{i}]")
        dropped = {str(c).upper() for c in _list(capabilities.get("drop"))}
        if "ALL" not in dropped and "CAP_ALL" not in dropped:
            yield _emit(
                m,
                "capabilities-not-dropped",
                f"container {name} does not drop ALL capabilities",
                f"{at}.capabilities.drop",
            )

    def _env(
        self, m: Manifest, container: dict[str, Any], path: str, name: str
    ) -> Iterator[Finding]:
        for i, var in enumerate(_list(container.get("env"))):
            if not isinstance(var, dict):
                continue
            value = var.get("value")
            if not isinstance(value, str) or not value:
                continue
            key = str(var.get("name", ""))
            upper = key.upper()
            url = URL_PASSWORD.match(value)
            if url and not templated(url.group(1)):
                yield _emit(
                    m,
                    "credentials-in-env-url",
                    f"container {name}: {key} is a URL with a literal password",
                    f"{path}.env[{i}].value",
                )
            elif (
                SECRET_NAME.search(upper)
                and not _NOT_SECRET_SUFFIX.search(upper)
                and not _HARMLESS_VALUE.fullmatch(value)
            ):
                yield _emit(
                    m,
                    "secret-in-env",
                    f"container {name}: {key} is set to a literal value in the manifest",
                    f"{path}.env[{i}].value",
                )

    # -- reliability ----------------------------------------------------------------------

    def _probes(
        self, m: Manifest, container: dict[str, Any], path: str, name: str, routed: bool
    ) -> Iterator[Finding]:
        if "readinessProbe" not in container:
            serves = bool(_list(container.get("ports"))) or routed
            yield _emit(
                m,
                "readiness-probe-missing",
                f"container {name} has no readiness probe"
                + ("" if serves else " (no ports and no Service route to it)"),
                f"{path}.readinessProbe",
                severity=None if serves else "info",
            )
        if "livenessProbe" not in container:
            yield _emit(
                m,
                "liveness-probe-missing",
                f"container {name} has no liveness probe",
                f"{path}.livenessProbe",
            )
