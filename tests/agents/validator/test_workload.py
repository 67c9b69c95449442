"""Resources, static image rules, pod security and reliability: each rule from both sides.

Every test starts from :func:`deployment`, a workload that breaks no rule, and changes
the one field under test, so a positive case shows the rule fires and the untouched
baseline shows it stays quiet.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from pilothouse.agents.validator.checks.workload import RULES, WorkloadCheck
from pilothouse.agents.validator.loading import parse_documents
from pilothouse.agents.validator.model import CATEGORIES, Corpus, Finding, Manifest
from pilothouse.agents.validator.policies import Policies, load_policies

C0 = "$.spec.template.spec.containers[0]"
POD = "$.spec.template.spec"


def container(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "web",
        "image": "registry.example.com/shop/web:1.4.2",
        "ports": [{"containerPort": 8080}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
        "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}},
    }
    body.update(changes)
    return body


def deployment(
    *containers: dict[str, Any], kind: str = "Deployment", namespace: str = "shop", **spec: Any
) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True},
        "containers": list(containers) or [container()],
    }
    pod.update(spec.pop("pod", {}))
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod},
            **spec,
        },
    }


def manifests(*bodies: dict[str, Any], file: str = "manifests/web.yaml") -> list[Manifest]:
    text = yaml.safe_dump_all(bodies, sort_keys=False)
    parsed, problems = parse_documents(text, file)
    assert not problems
    return parsed


def check(
    *bodies: dict[str, Any], policies: Policies | None = None, file: str = "manifests/web.yaml"
) -> list[Finding]:
    return list(WorkloadCheck(policies).run(Corpus(manifests(*bodies, file=file))))


def found(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def fields(findings: list[Finding], rule_id: str) -> list[str]:
    return [f.field or "" for f in found(findings, rule_id)]


# -- the rule table -----------------------------------------------------------------------


def test_every_rule_has_a_known_category_and_a_distinct_id() -> None:
    ids = [rule.rule_id for rule in RULES]
    assert len(ids) == len(set(ids)) >= 25
    assert {rule.category for rule in RULES} <= set(CATEGORIES)


def test_a_well_configured_deployment_has_no_findings() -> None:
    assert check(deployment()) == []


def test_every_finding_names_a_rule_of_the_table_and_has_a_hint() -> None:
    bad = deployment(
        {"name": "x", "image": "nginx", "securityContext": {"privileged": True}},
        replicas=1,
        pod={"hostNetwork": True, "securityContext": {}},
    )
    table = {rule.rule_id: rule for rule in RULES}
    findings = check(bad)
    assert findings
    for finding in findings:
        assert finding.category == table[finding.rule_id].category
        assert finding.hint


# -- resources ------------------------------------------------------------------------------


def test_a_container_without_any_resources_is_one_finding_not_four() -> None:
    findings = check(deployment(container(resources={})))
    assert [f.rule_id for f in findings] == ["resources-missing"]
    assert findings[0].severity == "warning"
    assert findings[0].field == f"{C0}.resources"


def test_a_missing_memory_limit_is_a_warning_at_the_field_to_add() -> None:
    bare = container(resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1"}})
    findings = check(deployment(bare))
    (memory,) = found(findings, "memory-limit-missing")
    assert memory.severity == "warning"
    assert memory.field == f"{C0}.resources.limits.memory"
    assert found(check(deployment()), "memory-limit-missing") == []


def test_a_missing_cpu_limit_is_only_info() -> None:
    bare = container(
        resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}
    )
    (cpu,) = found(check(deployment(bare)), "cpu-limit-missing")
    assert cpu.severity == "info"
    assert found(check(deployment()), "cpu-limit-missing") == []


def test_missing_requests_are_warnings() -> None:
    bare = container(resources={"requests": {"cpu": "1"}})
    findings = check(deployment(bare))
    assert fields(findings, "memory-request-missing") == [f"{C0}.resources.requests.memory"]
    assert found(findings, "cpu-request-missing") == []
    only_memory = container(resources={"requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}})
    assert fields(check(deployment(only_memory)), "cpu-request-missing") == [
        f"{C0}.resources.requests.cpu"
    ]


def test_a_limit_stands_in_for_a_missing_request() -> None:
    limits_only = container(resources={"limits": {"cpu": "1", "memory": "1Gi"}})
    findings = check(deployment(limits_only))
    assert found(findings, "cpu-request-missing") == []
    assert found(findings, "memory-request-missing") == []


def test_a_limitrange_default_in_the_namespace_counts_as_set() -> None:
    limit_range: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "defaults", "namespace": "shop"},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "1", "memory": "1Gi"}}]},
    }
    bare = deployment(container(resources={}))
    assert check(bare, limit_range) == []
    elsewhere = copy.deepcopy(limit_range)
    elsewhere["metadata"]["namespace"] = "other"
    assert found(check(bare, elsewhere), "resources-missing")


def test_short_lived_init_containers_need_no_resources_but_sidecars_do() -> None:
    init = {
        "name": "migrate",
        "image": "registry.example.com/m:1",
        "securityContext": container()["securityContext"],
    }
    sidecar = {**init, "name": "proxy", "restartPolicy": "Always"}
    assert check(deployment(pod={"initContainers": [init]})) == []
    findings = check(deployment(pod={"initContainers": [sidecar]}))
    assert fields(findings, "resources-missing") == [
        "$.spec.template.spec.initContainers[0].resources"
    ]


def test_a_request_above_its_limit_is_an_error_at_the_request() -> None:
    bad = container(
        resources={
            "requests": {"cpu": "2", "memory": "1Gi"},
            "limits": {"cpu": "1500m", "memory": "1024Mi"},
        }
    )
    findings = check(deployment(bad))
    (finding,) = found(findings, "request-exceeds-limit")
    assert finding.severity == "error"
    assert finding.field == f"{C0}.resources.requests.cpu"
    assert "2" in finding.message and "1500m" in finding.message


def test_a_request_equal_to_its_limit_in_other_units_is_fine() -> None:
    same = container(
        resources={
            "requests": {"cpu": "0.5", "memory": "1Gi"},
            "limits": {"cpu": "500m", "memory": "1024Mi"},
        }
    )
    assert check(deployment(same)) == []


def test_a_quantity_that_does_not_parse_is_an_error() -> None:
    bad = container(
        resources={
            "requests": {"cpu": "100m", "memory": "128 megs"},
            "limits": {"cpu": "-1", "memory": "1Gi"},
        }
    )
    findings = check(deployment(bad))
    assert sorted(fields(findings, "resource-quantity-invalid")) == [
        f"{C0}.resources.limits.cpu",
        f"{C0}.resources.requests.memory",
    ]
    assert all(f.category == "schema.invalid" for f in found(findings, "resource-quantity-invalid"))


def test_a_quantity_of_the_wrong_type_is_left_to_the_schema_check() -> None:
    bad = container(
        resources={"requests": {"cpu": ["1"], "memory": "1Gi"}, "limits": {"memory": "1Gi"}}
    )
    assert found(check(deployment(bad)), "resource-quantity-invalid") == []


BOUNDS = load_policies(
    {
        "bounds": {
            "cpu_limit_max": "2",
            "memory_request_max": "1Gi",
            "replicas_min": 2,
            "replicas_max": 10,
        }
    }
)


def test_a_limit_above_the_policy_bound_is_an_error_citing_the_policy() -> None:
    big = container(
        resources={
            "requests": {"cpu": "1", "memory": "512Mi"},
            "limits": {"cpu": "4", "memory": "1Gi"},
        }
    )
    (finding,) = found(check(deployment(big), policies=BOUNDS), "limit-above-bound")
    assert finding.severity == "error"
    assert finding.field == f"{C0}.resources.limits.cpu"
    assert finding.evidence[0].kind == "policy"
    assert finding.evidence[0].detail == "bounds.cpu_limit_max: 2"
    assert found(check(deployment(), policies=BOUNDS), "limit-above-bound") == []


def test_a_request_above_the_bound_counts_the_limit_it_defaults_to() -> None:
    limits_only = container(resources={"limits": {"cpu": "1", "memory": "2Gi"}})
    (finding,) = found(check(deployment(limits_only), policies=BOUNDS), "request-above-bound")
    assert finding.field == f"{C0}.resources.limits.memory"
    explicit = container(
        resources={"requests": {"cpu": "1", "memory": "1.5Gi"}, "limits": {"memory": "2Gi"}}
    )
    assert fields(check(deployment(explicit), policies=BOUNDS), "request-above-bound") == [
        f"{C0}.resources.requests.memory"
    ]


def test_replicas_outside_the_policy_range_are_warnings() -> None:
    low = found(check(deployment(replicas=1), policies=BOUNDS), "replicas-below-min")
    high = found(check(deployment(replicas=11), policies=BOUNDS), "replicas-above-max")
    assert [(f.severity, f.field) for f in low + high] == [
        ("warning", "$.spec.replicas"),
        ("warning", "$.spec.replicas"),
    ]
    assert check(deployment(replicas=10), policies=BOUNDS) == []


def test_an_autoscaled_workload_is_judged_by_its_autoscaler_range() -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 2,
            "maxReplicas": 50,
        },
    }
    unset = deployment()
    del unset["spec"]["replicas"]
    findings = check(unset, hpa, policies=BOUNDS)
    assert [(f.rule_id, f.resource and f.resource.kind, f.field) for f in findings] == [
        ("replicas-above-max", "HorizontalPodAutoscaler", "$.spec.maxReplicas")
    ]


# -- images --------------------------------------------------------------------------------


def test_an_image_without_a_tag_is_unpinned() -> None:
    (finding,) = found(check(deployment(container(image="nginx"))), "image-tag-missing")
    assert (finding.category, finding.severity) == ("image.unpinned", "warning")
    assert finding.field == f"{C0}.image"


def test_an_image_tagged_latest_is_unpinned() -> None:
    findings = check(deployment(container(image="registry.example.com:5000/web:latest")))
    assert fields(findings, "image-tag-latest") == [f"{C0}.image"]
    assert found(findings, "image-tag-missing") == []


def test_a_digest_pins_an_image_even_when_tagged_latest() -> None:
    digest = "sha256:" + "a" * 64
    assert check(deployment(container(image=f"registry.example.com/web:latest@{digest}"))) == []
    assert check(deployment(container(image=f"registry.example.com/web@{digest}"))) == []


def test_a_channel_tag_is_only_info() -> None:
    (finding,) = found(check(deployment(container(image="node:lts"))), "image-tag-mutable")
    assert finding.severity == "info"
    assert found(check(deployment(container(image="node:20.11.1"))), "image-tag-mutable") == []


def test_a_templated_image_is_left_alone() -> None:
    assert check(deployment(container(image="${IMAGE}"))) == []


REGISTRIES = load_policies({"allowed_registries": ["registry.example.com/*", "ghcr.io/acme/*"]})


def test_an_image_from_a_registry_outside_the_list_is_an_error() -> None:
    findings = check(deployment(container(image="ghcr.io/other/web:1.0")), policies=REGISTRIES)
    (finding,) = found(findings, "registry-not-allowed")
    assert finding.severity == "error"
    assert finding.evidence[0].ref == "configs/policies.yaml"
    assert check(deployment(container(image="ghcr.io/acme/web:1.0")), policies=REGISTRIES) == []


def test_registries_are_not_checked_without_a_list() -> None:
    assert (
        found(check(deployment(container(image="ghcr.io/other/web:1.0"))), "registry-not-allowed")
        == []
    )


# -- security --------------------------------------------------------------------------------


def test_a_privileged_container_is_an_error_and_only_that() -> None:
    findings = check(deployment(container(securityContext={"privileged": True})))
    assert [(f.rule_id, f.severity, f.field) for f in findings] == [
        ("privileged-container", "error", f"{C0}.securityContext.privileged")
    ]


def test_privilege_escalation_must_be_switched_off_explicitly() -> None:
    unset = container(securityContext={"capabilities": {"drop": ["ALL"]}})
    (finding,) = found(check(deployment(unset)), "privilege-escalation-allowed")
    assert (finding.severity, finding.field) == (
        "warning",
        f"{C0}.securityContext.allowPrivilegeEscalation",
    )
    allowed = container(
        securityContext={"allowPrivilegeEscalation": True, "capabilities": {"drop": ["ALL"]}}
    )
    assert fields(check(deployment(allowed)), "privilege-escalation-allowed") == [
        f"{C0}.securityContext.allowPrivilegeEscalation"
    ]


def test_a_pod_that_may_run_as_root_is_one_warning_for_the_pod() -> None:
    findings = check(deployment(container(), container(name="b"), pod={"securityContext": {}}))
    (finding,) = found(findings, "run-as-non-root-unset")
    assert finding.severity == "warning"
    assert finding.field == f"{POD}.securityContext.runAsNonRoot"
    assert "web, b" in finding.message


def test_a_non_zero_run_as_user_is_as_good_as_run_as_non_root() -> None:
    pod = {"securityContext": {"runAsUser": 1000}}
    assert check(deployment(pod=pod)) == []


def test_a_container_that_sets_run_as_non_root_false_is_a_warning_at_that_field() -> None:
    sc = {**container()["securityContext"], "runAsNonRoot": False}
    findings = check(deployment(container(securityContext=sc)))
    assert fields(findings, "run-as-non-root-unset") == [f"{C0}.securityContext.runAsNonRoot"]


def test_run_as_user_zero_is_an_error() -> None:
    sc = {**container()["securityContext"], "runAsUser": 0}
    (finding,) = found(check(deployment(container(securityContext=sc))), "run-as-root-user")
    assert (finding.severity, finding.field) == ("error", f"{C0}.securityContext.runAsUser")
    assert "refuses to start" in finding.message  # the pod also says runAsNonRoot: true


def test_run_as_root_rules_skip_windows_pods() -> None:
    assert check(deployment(pod={"securityContext": {}, "os": {"name": "windows"}})) == []


@pytest.mark.parametrize(
    ("key", "rule_id"),
    [("hostNetwork", "host-network"), ("hostPID", "host-pid"), ("hostIPC", "host-ipc")],
)
def test_sharing_a_host_namespace_is_an_error(key: str, rule_id: str) -> None:
    findings = check(deployment(pod={key: True}))
    assert [(f.rule_id, f.severity, f.field) for f in findings] == [
        (rule_id, "error", f"{POD}.{key}")
    ]
    assert check(deployment(pod={key: False})) == []


def test_a_host_port_is_a_warning() -> None:
    findings = check(deployment(container(ports=[{"containerPort": 8080, "hostPort": 80}])))
    assert [(f.rule_id, f.severity, f.field) for f in findings] == [
        ("host-port", "warning", f"{C0}.ports[0].hostPort")
    ]


def test_a_host_path_volume_is_an_error() -> None:
    volumes = [
        {"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}},
        {"name": "tmp", "emptyDir": {}},
    ]
    findings = check(deployment(pod={"volumes": volumes}))
    assert [(f.rule_id, f.severity, f.field) for f in findings] == [
        ("host-path-volume", "error", f"{POD}.volumes[0].hostPath")
    ]
    assert "/var/run/docker.sock" in findings[0].message


def test_adding_a_dangerous_capability_is_an_error() -> None:
    sc = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "CAP_SYS_ADMIN"]},
    }
    findings = check(deployment(container(securityContext=sc)))
    assert [(f.rule_id, f.severity, f.field) for f in findings] == [
        ("dangerous-capability-added", "error", f"{C0}.securityContext.capabilities.add[1]")
    ]


def test_adding_a_capability_outside_the_baseline_is_a_warning() -> None:
    sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK"]}}
    assert fields(check(deployment(container(securityContext=sc))), "capability-added") == [
        f"{C0}.securityContext.capabilities.add[0]"
    ]


def test_not_dropping_all_capabilities_is_a_warning() -> None:
    sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["NET_RAW"]}}
    (finding,) = found(check(deployment(container(securityContext=sc))), "capabilities-not-dropped")
    assert (finding.severity, finding.field) == (
        "warning",
        f"{C0}.securityContext.capabilities.drop",
    )


def test_a_literal_password_in_env_is_an_error_that_does_not_repeat_it() -> None:
    env = [
        {"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "STRIPE_API_KEY", "value": "sk_live_x"},
        {"name": "RABBITMQ_DEFAULT_PASS", "value": "guest-2019"},
        {"name": "PASS", "value": "x1"},
        {"name": "GPG_PASSPHRASE", "value": "open sesame"},
        {"name": "PASSTHROUGH_MODE", "value": "strict"},
        {"name": "BYPASS_CACHE", "value": "sometimes"},
    ]
    findings = check(deployment(container(env=env)))
    assert fields(findings, "secret-in-env") == [f"{C0}.env[{i}].value" for i in range(5)]
    assert all(f.severity == "error" and "hunter2" not in f.message for f in findings)


def test_secret_looking_names_with_harmless_values_are_fine() -> None:
    env = [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "TOKEN_TTL", "value": "3600"},
        {"name": "SECRET_NAME", "value": "db-credentials"},
        {"name": "PASSWORD_FILE", "value": "/run/secrets/db"},
        {"name": "TOKENIZERS_PARALLELISM", "value": "false"},
        {"name": "API_KEY", "value": "$(API_KEY_FROM_SECRET)"},
        {"name": "ADMIN_PASSWORD", "value": ""},
    ]
    assert check(deployment(container(env=env))) == []


def test_a_url_with_a_password_is_an_error_whatever_the_variable_is_called() -> None:
    env = [
        {"name": "DATABASE_URL", "value": "postgres://shop:s3cret@db:5432/shop"},
        {"name": "CACHE_URL", "value": "redis://cache:6379/0"},
        {"name": "BROKER_URL", "value": "amqp://user:$(BROKER_PASSWORD)@mq/"},
        {"name": "SESSIONS", "value": "redis://:Zk8pQ2vWx@cache:6379/0"},
        {"name": "HOME_PAGE", "value": "http://example.com:8080/a@b"},
    ]
    findings = check(deployment(container(env=env)))
    assert fields(findings, "credentials-in-env-url") == [
        f"{C0}.env[0].value",
        f"{C0}.env[3].value",  # Redis: an empty user name, a password
    ]


# -- reliability -------------------------------------------------------------------------------


def test_a_serving_container_without_readiness_probe_is_a_warning() -> None:
    bare = container()
    del bare["readinessProbe"]
    (finding,) = found(check(deployment(bare)), "readiness-probe-missing")
    assert (finding.severity, finding.field) == ("warning", f"{C0}.readinessProbe")


def test_a_worker_nothing_routes_to_gets_only_info_about_readiness() -> None:
    worker = container()
    del worker["readinessProbe"], worker["ports"]
    (finding,) = found(check(deployment(worker)), "readiness-probe-missing")
    assert finding.severity == "info"


def test_a_service_selecting_a_portless_pod_makes_readiness_a_warning() -> None:
    worker = container()
    del worker["readinessProbe"], worker["ports"]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
    }
    (finding,) = found(check(deployment(worker), service), "readiness-probe-missing")
    assert finding.severity == "warning"


def test_a_missing_liveness_probe_is_info() -> None:
    bare = container()
    del bare["livenessProbe"]
    (finding,) = found(check(deployment(bare)), "liveness-probe-missing")
    assert finding.severity == "info"


def test_jobs_and_bare_pods_need_no_probes() -> None:
    bare = container()
    del bare["readinessProbe"], bare["livenessProbe"]
    job = deployment(bare, kind="Job")
    job["apiVersion"] = "batch/v1"
    del job["spec"]["replicas"], job["spec"]["selector"]
    assert check(job) == []


def test_a_single_replica_deployment_is_a_warning() -> None:
    (finding,) = found(check(deployment(replicas=1)), "single-replica")
    assert (finding.severity, finding.field) == ("warning", "$.spec.replicas")
    unset = deployment()
    del unset["spec"]["replicas"]
    assert fields(check(unset), "single-replica") == ["$.spec.replicas"]


def test_a_single_replica_in_a_dev_namespace_or_overlay_is_info() -> None:
    (in_namespace,) = found(check(deployment(replicas=1, namespace="shop-dev")), "single-replica")
    (in_overlay,) = found(
        check(deployment(replicas=1), file="manifests/overlays/test/web.yaml"), "single-replica"
    )
    assert in_namespace.severity == in_overlay.severity == "info"


def test_zero_replicas_and_daemonsets_are_not_single_replicas() -> None:
    assert check(deployment(replicas=0)) == []
    daemonset = deployment(kind="DaemonSet")
    del daemonset["spec"]["replicas"]
    assert check(daemonset) == []


# -- other pod shapes and locations -------------------------------------------------------------


def test_cronjobs_and_pods_are_checked_at_their_own_paths() -> None:
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "report", "namespace": "shop"},
        "spec": {
            "schedule": "0 * * * *",
            "jobTemplate": {
                "spec": {"template": {"spec": {"containers": [container(image="report")]}}}
            },
        },
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [container(image="p")]},
    }
    findings = check(cronjob, pod)
    assert sorted(fields(findings, "image-tag-missing")) == [
        "$.spec.containers[0].image",
        "$.spec.jobTemplate.spec.template.spec.containers[0].image",
    ]


def test_a_finding_points_at_the_line_of_its_field() -> None:
    text = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: web
          image: registry.example.com/web:1
          ports: [{containerPort: 80}]
          readinessProbe: {tcpSocket: {port: 80}}
          livenessProbe: {tcpSocket: {port: 80}}
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
          resources:
            requests: {cpu: 100m, memory: 2Gi}
            limits:
              memory: 1Gi
"""
    parsed, _ = parse_documents(text, "manifests/web.yaml")
    findings = list(WorkloadCheck().run(Corpus(parsed)))
    (finding,) = found(findings, "request-exceeds-limit")
    assert finding.line == 19
    (cpu,) = found(findings, "cpu-limit-missing")
    assert (cpu.field, cpu.line) == ("$.spec.template.spec.containers[0].resources.limits.cpu", 20)
    assert [f.line for f in found(findings, "single-replica")] == []  # replicas: 2


def test_a_missing_field_is_located_at_its_nearest_ancestor() -> None:
    text = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1
"""
    parsed, _ = parse_documents(text, "manifests/web.yaml")
    findings = list(WorkloadCheck().run(Corpus(parsed)))
    lines = {f.rule_id: (f.field, f.line) for f in findings}
    assert lines["single-replica"] == ("$.spec.replicas", 4)
    assert lines["resources-missing"] == ("$.spec.template.spec.containers[0].resources", 8)
    assert lines["run-as-non-root-unset"] == (
        "$.spec.template.spec.securityContext.runAsNonRoot",
        6,
    )


def test_an_autoscaler_that_scales_down_to_one_replica_carries_the_finding() -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 5,
        },
    }
    findings = check(deployment(replicas=1), hpa)
    assert [(f.rule_id, f.resource and f.resource.kind, f.field) for f in findings] == [
        ("single-replica", "HorizontalPodAutoscaler", "$.spec.minReplicas")
    ]


def test_policies_turn_unpinned_images_into_errors_and_silence_cpu_limits() -> None:
    policies = load_policies(
        {"rules": {"image.unpinned": {"severity": "error"}, "cpu-limit-missing": False}}
    )
    bare = container(
        image="nginx",
        resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
    )
    findings = policies.apply(check(deployment(bare), policies=policies))
    assert [(f.rule_id, f.severity) for f in findings] == [("image-tag-missing", "error")]
