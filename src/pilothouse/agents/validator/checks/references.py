"""``ref.*``: names that point at other objects must point at something.

Kubernetes accepts a Deployment whose ConfigMap does not exist and a Service whose
selector matches nothing; the failure shows up later, as a pod stuck in
``CreateContainerConfigError`` or a Service without endpoints. This check resolves
every such name against the revision's manifests plus the externals a policy
declares, and reports on the object that *holds* the reference, at the field.

Precision beats recall. Whatever the repository cannot see is given the benefit of
the doubt: ``optional: true`` references are skipped; Secrets may come from
SealedSecrets, ExternalSecrets, cert-manager Certificates or CSI secret classes;
a namespace holding custom resources (an operator may create pods there) or
externally declared workloads turns "selects no pod" into a warning; selectors with
``matchExpressions`` never yield more than a warning; a numeric ``targetPort`` is
only questioned when the pods declare their ports at all.

Everything is looked up in one index built per run (objects by kind, namespace and
name; pods by namespace and label), so the check is linear in the corpus size.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pilothouse.agents.validator import workloads
from pilothouse.agents.validator.model import (
    Corpus,
    Evidence,
    Finding,
    Manifest,
    RuleInfo,
    Severity,
)

__all__ = ["RULES", "ReferenceCheck"]

RULES: tuple[RuleInfo, ...] = (
    RuleInfo("ref-service-selector", "ref.service-selector", "error", "Service selects no pod"),
    RuleInfo(
        "ref-selector-mismatch",
        "ref.selector-mismatch",
        "error",
        "controller selector does not match its own pod template labels",
    ),
    RuleInfo(
        "ref-target-port-name",
        "ref.target-port",
        "error",
        "Service targetPort name is not a containerPort name of the selected pods",
    ),
    RuleInfo(
        "ref-target-port-number",
        "ref.target-port",
        "warning",
        "Service targetPort number is not declared by the selected pods",
    ),
    RuleInfo("ref-probe-port", "ref.probe-port", "error", "probe names a port the container lacks"),
    RuleInfo(
        "ref-ingress-service", "ref.ingress-backend", "error", "Ingress backend Service missing"
    ),
    RuleInfo(
        "ref-ingress-port",
        "ref.ingress-backend",
        "error",
        "Ingress backend port is not a port of the Service",
    ),
    RuleInfo(
        "ref-ingress-tls-secret",
        "ref.ingress-tls-secret",
        "error",
        "Ingress TLS secret missing",
    ),
    RuleInfo("ref-hpa-target", "ref.hpa-target", "error", "HPA scale target missing"),
    RuleInfo("ref-configmap", "ref.configmap", "error", "referenced ConfigMap missing"),
    RuleInfo("ref-configmap-key", "ref.configmap", "error", "key missing from the ConfigMap"),
    RuleInfo("ref-secret", "ref.secret", "error", "referenced Secret missing"),
    RuleInfo("ref-secret-key", "ref.secret", "error", "key missing from the Secret"),
    RuleInfo("ref-image-pull-secret", "ref.secret", "warning", "imagePullSecrets entry missing"),
    RuleInfo("ref-pvc", "ref.pvc", "error", "PersistentVolumeClaim missing"),
    RuleInfo("ref-serviceaccount", "ref.serviceaccount", "error", "ServiceAccount missing"),
    RuleInfo(
        "ref-role", "ref.role-binding", "error", "binding refers to a missing Role/ClusterRole"
    ),
    RuleInfo(
        "ref-binding-subject",
        "ref.role-binding",
        "warning",
        "binding subject ServiceAccount missing",
    ),
    RuleInfo("ref-pdb-selector", "ref.pdb-selector", "error", "PodDisruptionBudget selects no pod"),
    RuleInfo(
        "ref-networkpolicy-selector",
        "ref.networkpolicy-selector",
        "warning",
        "NetworkPolicy podSelector selects no pod",
    ),
    RuleInfo(
        "ref-duplicate-resource",
        "ref.duplicate-resource",
        "error",
        "the same object is defined twice",
    ),
)

CLUSTER_SCOPED: frozenset[str] = frozenset(
    [
        "APIService",
        "CertificateSigningRequest",
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterSecretStore",
        "CSIDriver",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeSnapshotClass",
    ]
)
"""Kinds without a namespace; they are indexed (and deduplicated) cluster-wide."""

BUILTIN_CLUSTER_ROLES: frozenset[str] = frozenset({"cluster-admin", "admin", "edit", "view"})
"""ClusterRoles every cluster has (besides the ``system:`` ones)."""

INERT_CUSTOM_KINDS: frozenset[str] = frozenset(
    [
        "Certificate",
        "ClusterIssuer",
        "ClusterSecretStore",
        "DestinationRule",
        "ExternalSecret",
        "Issuer",
        "PodMonitor",
        "PrometheusRule",
        "SealedSecret",
        "SecretProviderClass",
        "SecretStore",
        "ServiceMonitor",
        "VirtualService",
    ]
)
"""Custom kinds known not to create pods (they do not make a namespace opaque)."""

TLS_AUTOMATION_ANNOTATIONS: tuple[str, ...] = (
    "cert-manager.io/issuer",
    "cert-manager.io/cluster-issuer",
    "certmanager.k8s.io/issuer",
    "certmanager.k8s.io/cluster-issuer",
    "kubernetes.io/tls-acme",
)
"""An Ingress carrying one of these has its TLS Secret created for it."""

PROBES: tuple[str, ...] = ("livenessProbe", "readinessProbe", "startupProbe")
_HINT_EXTERNAL = "or declare it in configs/policies.yaml as existing outside the repository"

Key = tuple[str, str | None, str]  # kind, namespace (None: cluster-scoped), name


_dict = workloads.as_dict
_list = workloads.as_list


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def _builtin_group(group: str) -> bool:
    return group in ("", "apps", "batch", "autoscaling", "policy") or group.endswith(".k8s.io")


def _named(port: Any) -> bool:
    return isinstance(port, str) and not port.isdigit()


def _number(port: Any) -> int | None:
    if isinstance(port, bool):
        return None
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    return None


def _cite(manifest: Manifest, path: str | None = None, detail: str = "") -> Evidence:
    line = manifest.line_of(path) if path else manifest.line
    return Evidence("file", f"{manifest.file}:{line}", detail or str(manifest.ref))


def _container_ports(pods: Iterable[workloads.Pod]) -> tuple[set[str], set[int]]:
    names: set[str] = set()
    numbers: set[int] = set()
    for pod in pods:
        for container, _ in pod.template.containers():
            for raw in _list(container.get("ports")):
                port = _dict(raw)
                if port.get("name"):
                    names.add(str(port["name"]))
                number = _number(port.get("containerPort"))
                if number is not None:
                    numbers.add(number)
    return names, numbers


@dataclass
class _Index:
    """One pass over the corpus: everything the rules look up."""

    corpus: Corpus
    objects: dict[Key, Manifest] = field(default_factory=dict)
    provided_secrets: dict[tuple[str, str], Manifest] = field(default_factory=dict)
    claim_prefixes: dict[str, list[str]] = field(default_factory=dict)  # ns -> "tmpl-sts-"
    own_claims: set[tuple[str, str, str]] = field(default_factory=set)  # ns, sts, template
    opaque: set[str | None] = field(default_factory=set)  # None: every namespace
    pods: workloads.PodIndex = field(default_factory=workloads.PodIndex)

    @classmethod
    def build(cls, corpus: Corpus) -> _Index:
        ix = cls(corpus)
        for m in corpus.manifests:
            kind, name = m.kind, m.name
            if not kind:
                continue
            ns = ix.ns(m)
            template = workloads.pod_template(m)
            if template is not None and ns is not None:  # also pods with only generateName
                ix.pods.add(workloads.Pod(m, template, ns))
            if not name:
                continue
            ix.objects.setdefault((kind, ns, name), m)
            ix._providers(m, ns)
            group = _group(m.api_version)
            if not _builtin_group(group) and kind not in INERT_CUSTOM_KINDS:
                ix.opaque.add(ns or corpus.default_namespace)
        for kind, ns, _ in corpus.externals:
            if kind in workloads.WORKLOAD_KINDS:
                ix.opaque.add(ns)
        return ix

    def _providers(self, m: Manifest, ns: str | None) -> None:
        """Secrets and claims that other objects bring into being."""
        if ns is None:
            return
        spec = _dict(m.body.get("spec"))
        names: list[str] = []
        if m.kind == "SealedSecret":
            names.append(str(_dict(_dict(spec.get("template")).get("metadata")).get("name") or ""))
            names.append(m.name)
        elif m.kind == "ExternalSecret":
            names.append(str(_dict(spec.get("target")).get("name") or m.name))
        elif m.kind == "Certificate":
            names.append(str(spec.get("secretName") or ""))
        elif m.kind == "SecretProviderClass":
            names.extend(
                str(_dict(o).get("secretName") or "") for o in _list(spec.get("secretObjects"))
            )
        elif m.kind == "StatefulSet":
            for claim in _list(spec.get("volumeClaimTemplates")):
                claim_name = _dict(_dict(claim).get("metadata")).get("name")
                if claim_name:
                    self.claim_prefixes.setdefault(ns, []).append(f"{claim_name}-{m.name}-")
                    self.own_claims.add((ns, m.name, str(claim_name)))
        for name in names:
            if name:
                self.provided_secrets.setdefault((ns, name), m)

    def ns(self, m: Manifest) -> str | None:
        return None if m.kind in CLUSTER_SCOPED else self.corpus.namespace_of(m)

    def get(self, kind: str, ns: str | None, name: str) -> Manifest | None:
        return self.objects.get((kind, None if kind in CLUSTER_SCOPED else ns, name))

    def external(self, kind: str, ns: str | None, name: str) -> bool:
        ext = self.corpus.externals
        return (kind, ns, name) in ext or (kind, None, name) in ext

    def present(self, kind: str, ns: str | None, name: str) -> bool:
        return self.get(kind, ns, name) is not None or self.external(kind, ns, name)

    def secret_present(self, ns: str, name: str) -> bool:
        return self.present("Secret", ns, name) or (ns, name) in self.provided_secrets

    def claim_present(self, ns: str, name: str, owner: Manifest) -> bool:
        if self.present("PersistentVolumeClaim", ns, name):
            return True
        if owner.kind == "StatefulSet" and (ns, owner.name, name) in self.own_claims:
            return True
        return any(  # the claim of one StatefulSet replica: <template>-<sts>-<ordinal>
            name.startswith(prefix) and name[len(prefix) :].isdigit()
            for prefix in self.claim_prefixes.get(ns, [])
        )

    def is_opaque(self, ns: str) -> bool:
        return ns in self.opaque or None in self.opaque


@dataclass(frozen=True)
class _Ref:
    """A ConfigMap or Secret reference found in a pod spec."""

    kind: str  # "ConfigMap" or "Secret"
    name: str
    path: str  # JSON path of the name field
    keys: tuple[tuple[str, str], ...] = ()  # (key, JSON path of the key field)


def _pod_refs(template: workloads.PodTemplate) -> Iterator[_Ref]:
    """Every non-optional ConfigMap/Secret reference of a pod (volumes, envFrom, env)."""
    for volume, vpath in template.volumes():
        for field_name, kind, name_key in (
            ("configMap", "ConfigMap", "name"),
            ("secret", "Secret", "secretName"),
        ):
            source = _dict(volume.get(field_name))
            if source and source.get(name_key) and source.get("optional") is not True:
                yield _ref(kind, source, name_key, f"{vpath}.{field_name}")
        sources = _list(_dict(volume.get("projected")).get("sources"))
        for i, item in enumerate(sources):
            for field_name, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                source = _dict(_dict(item).get(field_name))
                if source and source.get("name") and source.get("optional") is not True:
                    path = f"{vpath}.projected.sources[{i}].{field_name}"
                    yield _ref(kind, source, "name", path)
    for container, cpath in template.containers():
        for i, item in enumerate(_list(container.get("envFrom"))):
            for field_name, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                source = _dict(_dict(item).get(field_name))
                if source.get("name") and source.get("optional") is not True:
                    path = f"{cpath}.envFrom[{i}].{field_name}.name"
                    yield _Ref(kind, str(source["name"]), path)
        for i, item in enumerate(_list(container.get("env"))):
            value_from = _dict(_dict(item).get("valueFrom"))
            for field_name, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                source = _dict(value_from.get(field_name))
                if source.get("name") and source.get("optional") is not True:
                    path = f"{cpath}.env[{i}].valueFrom.{field_name}"
                    keys = ((str(source["key"]), f"{path}.key"),) if source.get("key") else ()
                    yield _Ref(kind, str(source["name"]), f"{path}.name", keys)


def _ref(kind: str, source: dict[str, Any], name_key: str, path: str) -> _Ref:
    keys = tuple(
        (str(_dict(item)["key"]), f"{path}.items[{j}].key")
        for j, item in enumerate(_list(source.get("items")))
        if _dict(item).get("key")
    )
    return _Ref(kind, str(source[name_key]), f"{path}.{name_key}", keys)


def _data_keys(manifest: Manifest) -> set[str] | None:
    """Keys a ConfigMap/Secret in the repository holds; None when they cannot be known."""
    body = manifest.body
    if manifest.kind == "Secret" and str(body.get("type", "")).endswith("service-account-token"):
        return None
    fields = ("data", "binaryData") if manifest.kind == "ConfigMap" else ("data", "stringData")
    keys: set[str] = set()
    for name in fields:
        keys.update(str(k) for k in _dict(body.get(name)))
    return keys or None  # an empty object is likely filled in out of band


class ReferenceCheck:
    """The ``ref.*`` rules; stateless, so one instance may serve many runs."""

    rules: tuple[RuleInfo, ...] = RULES

    def run(self, corpus: Corpus) -> Iterator[Finding]:
        ix = _Index.build(corpus)
        yield from _duplicates(corpus, ix)
        for pod in ix.pods.pods:
            yield from _pod_findings(ix, pod)
        for m in corpus.manifests:
            kind = m.kind
            if kind == "Service":
                yield from _service(ix, m)
            elif kind in workloads.CONTROLLER_KINDS:
                yield from _selector_mismatch(m)
            elif kind == "Ingress":
                yield from _ingress(ix, m)
            elif kind == "HorizontalPodAutoscaler":
                yield from _hpa(ix, m)
            elif kind in ("RoleBinding", "ClusterRoleBinding"):
                yield from _binding(ix, m)
            elif kind == "PodDisruptionBudget":
                yield from _pdb(ix, m)
            elif kind == "NetworkPolicy":
                yield from _network_policy(ix, m)


def _duplicates(corpus: Corpus, ix: _Index) -> Iterator[Finding]:
    seen: dict[tuple[str, str, str | None, str], Manifest] = {}
    for m in corpus.manifests:
        if not m.kind or not m.name:
            continue
        key = (_group(m.api_version), m.kind, ix.ns(m), m.name)
        first = seen.setdefault(key, m)
        if first is m:
            continue
        # Identical copies apply idempotently, and copies in different folders are often
        # per-environment overlays or kustomize patches: only a conflict next door is sure.
        same_dir = posixpath.dirname(first.file) == posixpath.dirname(m.file)
        identical = first.body == m.body
        severity: Severity = "error" if same_dir and not identical else "warning"
        hint = "Remove one of them or rename it; the later one overwrites the earlier on apply"
        if not same_dir:
            hint += " (if these are per-environment overlays, give them distinct namespaces)"
        yield m.finding(
            "ref.duplicate-resource",
            "ref-duplicate-resource",
            severity,
            f"{m.ref} is already defined at {first.file}:{first.line}",
            path="$.metadata.name",
            hint=hint,
            evidence=[_cite(first, "$.metadata.name", "first definition")],
        )


def _pod_findings(ix: _Index, pod: workloads.Pod) -> Iterator[Finding]:
    m, template, ns = pod.manifest, pod.template, pod.namespace
    spec, base = template.spec, template.path
    key = "serviceAccountName" if spec.get("serviceAccountName") else "serviceAccount"
    account = spec.get(key)  # the deprecated alias counts only when the name is unset
    if account and account != "default" and not ix.present("ServiceAccount", ns, str(account)):
        yield m.finding(
            "ref.serviceaccount",
            "ref-serviceaccount",
            "error",
            f"ServiceAccount '{account}' not found in namespace '{ns}'; pods will not be created",
            path=f"{base}.{key}",
            hint=f"Add the ServiceAccount, fix the name, {_HINT_EXTERNAL}",
        )
    for i, item in enumerate(_list(spec.get("imagePullSecrets"))):
        name = _dict(item).get("name")
        if name and not ix.secret_present(ns, str(name)):
            yield m.finding(
                "ref.secret",
                "ref-image-pull-secret",
                "warning",
                f"image pull Secret '{name}' not found in namespace '{ns}'; private images "
                "will fail to pull",
                path=f"{base}.imagePullSecrets[{i}].name",
                hint=f"Add the Secret {_HINT_EXTERNAL}",
            )
    for volume, vpath in template.volumes():
        claim = _dict(volume.get("persistentVolumeClaim")).get("claimName")
        if claim and not ix.claim_present(ns, str(claim), m):
            yield m.finding(
                "ref.pvc",
                "ref-pvc",
                "error",
                f"PersistentVolumeClaim '{claim}' not found in namespace '{ns}'; pods will "
                "stay Pending",
                path=f"{vpath}.persistentVolumeClaim.claimName",
                hint=f"Add the PersistentVolumeClaim, fix the name, {_HINT_EXTERNAL}",
            )
    for ref in _pod_refs(template):
        yield from _config_ref(ix, m, ns, ref)
    for container, cpath in template.containers():
        yield from _probe_ports(m, container, cpath)


def _config_ref(ix: _Index, m: Manifest, ns: str, ref: _Ref) -> Iterator[Finding]:
    category = "ref.configmap" if ref.kind == "ConfigMap" else "ref.secret"
    rule = category.replace(".", "-")
    target = ix.get(ref.kind, ns, ref.name)
    if target is None:
        exists = (
            ix.secret_present(ns, ref.name)
            if ref.kind == "Secret"
            else ix.external(ref.kind, ns, ref.name)
        )
        if not exists:
            yield m.finding(
                category,
                rule,
                "error",
                f"{ref.kind} '{ref.name}' not found in namespace '{ns}'; containers will not start",
                path=ref.path,
                hint=f"Add the {ref.kind}, fix the name, mark the reference `optional: true`, "
                f"{_HINT_EXTERNAL}",
            )
        return
    known = _data_keys(target)
    if known is None:
        return
    for key, path in ref.keys:
        if key not in known:
            yield m.finding(
                category,
                f"{rule}-key",
                "error",
                f"key '{key}' not in {ref.kind} '{ref.name}' (it has: {', '.join(sorted(known))})",
                path=path,
                hint=f"Add the key to the {ref.kind} or fix the key name",
                evidence=[_cite(target, None, f"{ref.kind} {ref.name}")],
            )


def _probe_ports(m: Manifest, container: dict[str, Any], cpath: str) -> Iterator[Finding]:
    names: set[str] | None = None
    for probe in PROBES:
        body = _dict(container.get(probe))
        for handler in ("httpGet", "tcpSocket"):
            port = _dict(body.get(handler)).get("port")
            if not _named(port):
                continue
            if names is None:
                names = {
                    str(p["name"]) for p in _list(container.get("ports")) if _dict(p).get("name")
                }
            if port not in names:
                yield m.finding(
                    "ref.probe-port",
                    "ref-probe-port",
                    "error",
                    f"{probe} uses port '{port}', which container "
                    f"'{container.get('name', '?')}' does not declare; the probe will fail",
                    path=f"{cpath}.{probe}.{handler}.port",
                    hint="Declare the port by name under `ports:` or use the port number",
                )


def _service(ix: _Index, m: Manifest) -> Iterator[Finding]:
    spec = _dict(m.body.get("spec"))
    if spec.get("type") == "ExternalName":
        return
    selector = workloads.label_selector(spec.get("selector"), plain=True)
    if selector is None or selector.empty:
        return
    ns = ix.corpus.namespace_of(m)
    pods = ix.pods.select(ns, selector)
    if not pods:
        opaque = ix.is_opaque(ns)
        wanted = ", ".join(f"{k}={v}" for k, v in selector.match_labels.items())
        yield m.finding(
            "ref.service-selector",
            "ref-service-selector",
            "warning" if opaque else "error",
            f"Service selector {wanted} matches no pod template in namespace '{ns}'; it will "
            "have no endpoints",
            path="$.spec.selector",
            hint="Make the selector equal to the workload's spec.template.metadata.labels"
            + (
                " (pods created by an operator or external chart cannot be seen here)"
                if opaque
                else ""
            ),
        )
        return
    names, numbers = _container_ports(pods)

    def evidence() -> list[Evidence]:  # only with a finding: a citation may compose a file
        return [_cite(p.manifest, p.template.path) for p in pods[:3]]

    for i, raw in enumerate(_list(spec.get("ports"))):
        port = _dict(raw)
        explicit = "targetPort" in port
        target = port.get("targetPort") if explicit else port.get("port")
        path = f"$.spec.ports[{i}].{'targetPort' if explicit else 'port'}"
        if _named(target) and target not in names:
            yield m.finding(
                "ref.target-port",
                "ref-target-port-name",
                "error",
                f"targetPort '{target}' is not a containerPort name of the selected pods "
                f"(named: {', '.join(sorted(names)) or 'none'}); traffic will not reach them",
                path=path,
                hint="Name the containerPort or use the port number",
                evidence=evidence(),
            )
        number = _number(target)
        if number is not None and numbers and number not in numbers:
            yield m.finding(
                "ref.target-port",
                "ref-target-port-number",
                "warning",
                f"targetPort {number} is not among the selected pods' containerPorts "
                f"({', '.join(str(n) for n in sorted(numbers))})",
                path=path,
                hint="Check the port the container listens on; declare it under `ports:`",
                evidence=evidence(),
            )


def _selector_mismatch(m: Manifest) -> Iterator[Finding]:
    template = workloads.pod_template(m)
    selector = workloads.label_selector(_dict(m.body.get("spec")).get("selector"))
    if template is None or selector is None or selector.empty:
        return
    if selector.matches(template.labels):
        return
    missing = [k for k, v in selector.match_labels.items() if template.labels.get(k) != v]
    path = f"$.spec.selector.matchLabels.{missing[0]}" if missing else "$.spec.selector"
    yield m.finding(
        "ref.selector-mismatch",
        "ref-selector-mismatch",
        "error" if selector.exact else "warning",
        "spec.selector does not match the pod template labels"
        + (f" ({', '.join(missing)})" if missing else "")
        + "; the API server rejects it",
        path=path,
        hint="Make spec.selector.matchLabels a subset of spec.template.metadata.labels",
        evidence=[_cite(m, f"{template.path[: -len('.spec')]}.metadata.labels", "template labels")],
    )


def _backends(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    for key in ("defaultBackend", "backend"):
        if isinstance(spec.get(key), dict):
            yield spec[key], f"$.spec.{key}"
    for i, rule in enumerate(_list(spec.get("rules"))):
        for j, item in enumerate(_list(_dict(_dict(rule).get("http")).get("paths"))):
            backend = _dict(item).get("backend")
            if isinstance(backend, dict):
                yield backend, f"$.spec.rules[{i}].http.paths[{j}].backend"


def _ingress(ix: _Index, m: Manifest) -> Iterator[Finding]:
    spec = _dict(m.body.get("spec"))
    ns = ix.corpus.namespace_of(m)
    for backend, bpath in _backends(spec):
        service = _dict(backend.get("service"))
        if service:  # networking.k8s.io/v1
            name, name_path = service.get("name"), f"{bpath}.service.name"
            port_spec = _dict(service.get("port"))
            port = port_spec.get("number", port_spec.get("name"))
            port_path = f"{bpath}.service.port.{'number' if 'number' in port_spec else 'name'}"
        else:  # extensions/v1beta1
            name, name_path = backend.get("serviceName"), f"{bpath}.serviceName"
            port, port_path = backend.get("servicePort"), f"{bpath}.servicePort"
        if not name:
            continue
        target = ix.get("Service", ns, str(name))
        if target is None:
            if not ix.external("Service", ns, str(name)):
                yield m.finding(
                    "ref.ingress-backend",
                    "ref-ingress-service",
                    "error",
                    f"backend Service '{name}' not found in namespace '{ns}'; requests will "
                    "get 503",
                    path=name_path,
                    hint=f"Fix the Service name, add the Service, {_HINT_EXTERNAL}",
                )
            continue
        ports = [_dict(p) for p in _list(_dict(target.body.get("spec")).get("ports"))]
        number = _number(port)
        offered: set[int | str | None]
        if number is not None:
            offered = {_number(p.get("port")) for p in ports}
        elif _named(port):
            offered = {name for p in ports if isinstance(name := p.get("name"), str)}
        else:
            continue
        if (number if number is not None else port) not in offered:
            listing = ", ".join(
                f"{p.get('name')}:{p.get('port')}" if p.get("name") else str(p.get("port"))
                for p in ports
            )
            yield m.finding(
                "ref.ingress-backend",
                "ref-ingress-port",
                "error",
                f"Service '{name}' has no port {port!s} (ports: {listing or 'none'})",
                path=port_path,
                hint="Use one of the Service's port numbers or names",
                evidence=[_cite(target, "$.spec.ports", f"Service {name}")],
            )
    annotations = _dict(m.metadata.get("annotations"))
    if any(a in annotations for a in TLS_AUTOMATION_ANNOTATIONS):
        return
    for i, tls in enumerate(_list(spec.get("tls"))):
        secret = _dict(tls).get("secretName")
        if secret and not ix.secret_present(ns, str(secret)):
            yield m.finding(
                "ref.ingress-tls-secret",
                "ref-ingress-tls-secret",
                "error",
                f"TLS Secret '{secret}' not found in namespace '{ns}'; the controller will "
                "serve its default certificate",
                path=f"$.spec.tls[{i}].secretName",
                hint="Add the Secret or a cert-manager Certificate / issuer annotation, "
                f"{_HINT_EXTERNAL}",
            )


def _hpa(ix: _Index, m: Manifest) -> Iterator[Finding]:
    target = _dict(_dict(m.body.get("spec")).get("scaleTargetRef"))
    kind, name = target.get("kind"), target.get("name")
    if not kind or not name:
        return
    ns = ix.corpus.namespace_of(m)
    if not ix.present(str(kind), ns, str(name)):
        yield m.finding(
            "ref.hpa-target",
            "ref-hpa-target",
            "error",
            f"scale target {kind} '{name}' not found in namespace '{ns}'; the HPA does nothing",
            path="$.spec.scaleTargetRef.name",
            hint=f"Fix the kind/name to the workload to scale, {_HINT_EXTERNAL}",
        )


def _binding(ix: _Index, m: Manifest) -> Iterator[Finding]:
    role = _dict(m.body.get("roleRef"))
    kind, name = role.get("kind"), role.get("name")
    if not isinstance(name, str):
        return  # a malformed roleRef is the schema check's finding
    ns = ix.ns(m)
    if kind == "ClusterRole" and name:
        builtin = str(name).startswith("system:") or name in BUILTIN_CLUSTER_ROLES
        missing = not builtin and not ix.present("ClusterRole", None, str(name))
    elif kind == "Role" and name and ns is not None:
        missing = not ix.present("Role", ns, str(name))
    else:
        missing = False
    if missing:
        where = f" in namespace '{ns}'" if kind == "Role" else ""
        yield m.finding(
            "ref.role-binding",
            "ref-role",
            "error",
            f"{kind} '{name}' not found{where}; the binding grants nothing",
            path="$.roleRef.name",
            hint=f"Add the {kind}, fix roleRef, {_HINT_EXTERNAL}",
        )
    for i, raw in enumerate(_list(m.body.get("subjects"))):
        subject = _dict(raw)
        if subject.get("kind") != "ServiceAccount" or not subject.get("name"):
            continue
        sns = subject.get("namespace") or ns
        account = str(subject["name"])
        if not sns or account == "default" or str(sns).startswith("kube-"):
            continue
        if not ix.present("ServiceAccount", str(sns), account):
            yield m.finding(
                "ref.role-binding",
                "ref-binding-subject",
                "warning",
                f"subject ServiceAccount '{account}' not found in namespace '{sns}'",
                path=f"$.subjects[{i}].name",
                hint=f"Add the ServiceAccount, fix the subject, {_HINT_EXTERNAL}",
            )


def _selects_nothing(ix: _Index, m: Manifest, raw: Any) -> Severity | None:
    """None when the selector selects a pod (or cannot be judged); else how sure we are."""
    selector = workloads.label_selector(raw)
    if selector is None or selector.empty:
        return None
    ns = ix.corpus.namespace_of(m)
    if ix.pods.select(ns, selector):
        return None
    return "error" if selector.exact and not ix.is_opaque(ns) else "warning"


def _pdb(ix: _Index, m: Manifest) -> Iterator[Finding]:
    severity = _selects_nothing(ix, m, _dict(m.body.get("spec")).get("selector"))
    if severity is None:
        return
    yield m.finding(
        "ref.pdb-selector",
        "ref-pdb-selector",
        severity,
        f"PodDisruptionBudget selects no pod in namespace '{ix.corpus.namespace_of(m)}'; it "
        "protects nothing",
        path="$.spec.selector",
        hint="Make the selector match the workload's pod template labels",
    )


def _network_policy(ix: _Index, m: Manifest) -> Iterator[Finding]:
    raw = _dict(m.body.get("spec")).get("podSelector")
    if _selects_nothing(ix, m, raw) is None:
        return
    yield m.finding(
        "ref.networkpolicy-selector",
        "ref-networkpolicy-selector",
        "warning",
        f"NetworkPolicy podSelector selects no pod in namespace "
        f"'{ix.corpus.namespace_of(m)}'; the policy has no effect",
        path="$.spec.podSelector",
        hint="Make podSelector match the pod template labels of the workloads to isolate",
    )
