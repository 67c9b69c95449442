"""The ``ref.*`` rules, each from both sides: a broken reference and a sound one."""

from __future__ import annotations

import textwrap

from pilothouse.agents.validator.checks.references import RULES, ReferenceCheck
from pilothouse.agents.validator.loading import parse_documents
from pilothouse.agents.validator.model import CATEGORIES, Corpus, Finding

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
        tier: front
    spec:
      serviceAccountName: web
      imagePullSecrets:
        - name: registry
      containers:
        - name: web
          image: web:1.0
          ports:
            - name: http
              containerPort: 8080
          readinessProbe:
            httpGet:
              path: /healthz
              port: http
          envFrom:
            - configMapRef:
                name: web-config
          env:
            - name: PASSWORD
              valueFrom:
                secretKeyRef:
                  name: web-secret
                  key: password
            - name: MODE
              valueFrom:
                configMapKeyRef:
                  name: web-config
                  key: mode
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: data
        - name: settings
          configMap:
            name: web-config
            items:
              - key: mode
                path: mode.txt
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
    - name: http
      port: 80
      targetPort: http
"""

SUPPORT = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  mode: fast
---
apiVersion: v1
kind: Secret
metadata:
  name: web-secret
stringData:
  password: hunter2
---
apiVersion: v1
kind: Secret
metadata:
  name: registry
type: kubernetes.io/dockerconfigjson
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
"""

EDGE = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  tls:
    - hosts: [web.example.com]
      secretName: web-tls
  rules:
    - host: web.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  number: 80
---
apiVersion: v1
kind: Secret
metadata:
  name: web-tls
type: kubernetes.io/tls
data:
  tls.crt: ""
  tls.key: ""
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 2
  maxReplicas: 5
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app: web
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
spec:
  podSelector:
    matchLabels:
      tier: front
  policyTypes: [Ingress]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: reader
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: web-reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
subjects:
  - kind: ServiceAccount
    name: web
"""


def corpus_of(
    *files: tuple[str, str], externals: set[tuple[str, str | None, str]] | None = None
) -> Corpus:
    manifests = []
    for name, text in files:
        parsed, problems = parse_documents(textwrap.dedent(text), name)
        assert not problems
        manifests.extend(parsed)
    return Corpus(manifests, externals=externals or set())


def run(*files: tuple[str, str], **kwargs: set[tuple[str, str | None, str]]) -> list[Finding]:
    return list(ReferenceCheck().run(corpus_of(*files, **kwargs)))


def only(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def sound(**replace: tuple[str, str]) -> list[tuple[str, str]]:
    """The consistent application, with one text replacement in one of its files."""
    files = {
        "manifests/app.yaml": APP,
        "manifests/support.yaml": SUPPORT,
        "manifests/edge.yaml": EDGE,
    }
    for file, (old, new) in replace.items():
        path = f"manifests/{file}.yaml"
        assert old in files[path]
        files[path] = files[path].replace(old, new, 1)
    return list(files.items())


# --- the rule table -------------------------------------------------------------


def test_every_rule_has_a_known_category_and_a_unique_id() -> None:
    assert all(rule.category in CATEGORIES for rule in RULES)
    assert len({rule.rule_id for rule in RULES}) == len(RULES)
    assert {r.category for r in RULES} == {c for c in CATEGORIES if c.startswith("ref.")}


def test_a_consistent_application_has_no_reference_findings() -> None:
    assert run(*sound()) == []


# --- Services ---------------------------------------------------------------------


def test_service_whose_selector_matches_no_pod_is_an_error_at_the_selector() -> None:
    files = sound(app=("  selector:\n    app: web\n  ports", "  selector:\n    app: api\n  ports"))
    [finding] = only(run(*files), "ref-service-selector")
    assert finding.severity == "error"
    assert finding.category == "ref.service-selector"
    assert finding.file == "manifests/app.yaml"
    assert finding.line == line_of(APP, "  selector:", 2)
    assert "app=api" in finding.message


def test_service_selector_is_only_a_warning_where_an_operator_may_create_pods() -> None:
    operator = """\
    apiVersion: postgres-operator.example.com/v1
    kind: PostgresCluster
    metadata:
      name: db
    """
    db_service = """\
    apiVersion: v1
    kind: Service
    metadata:
      name: db
    spec:
      selector:
        cluster: db
      ports: [{port: 5432}]
    """
    [finding] = run(("manifests/db.yaml", operator), ("manifests/db-svc.yaml", db_service))
    assert finding.rule_id == "ref-service-selector"
    assert finding.severity == "warning"


def test_services_without_selector_or_of_type_external_name_are_not_checked() -> None:
    text = """\
    apiVersion: v1
    kind: Service
    metadata:
      name: manual
    spec:
      ports: [{port: 80}]
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: upstream
    spec:
      type: ExternalName
      externalName: example.com
      selector:
        app: nothing
    """
    assert run(("manifests/svc.yaml", text)) == []


def test_service_selects_pods_only_in_its_own_namespace() -> None:
    files = sound(
        app=("kind: Service\nmetadata:\n", "kind: Service\nmetadata:\n  namespace: other\n")
    )
    [finding] = only(run(*files), "ref-service-selector")
    assert "'other'" in finding.message


# --- selector mismatch --------------------------------------------------------


def test_deployment_selector_not_matching_its_template_is_an_error_at_the_label() -> None:
    files = sound(app=("    matchLabels:\n      app: web", "    matchLabels:\n      app: webb"))
    [finding] = only(run(*files), "ref-selector-mismatch")
    assert finding.severity == "error"
    assert finding.field == "$.spec.selector.matchLabels.app"
    assert finding.line == line_of(APP, "      app: web")
    assert finding.evidence[0].ref == f"manifests/app.yaml:{line_of(APP, '      labels:')}"


def test_selector_with_match_expressions_matching_the_template_is_fine() -> None:
    files = sound(
        app=(
            "    matchLabels:\n      app: web\n",
            "    matchExpressions:\n      - {key: tier, operator: In, values: [front, back]}\n",
        )
    )
    assert only(run(*files), "ref-selector-mismatch") == []


def test_selector_with_match_expressions_not_matching_is_only_a_warning() -> None:
    files = sound(
        app=(
            "    matchLabels:\n      app: web\n",
            "    matchExpressions:\n      - {key: tier, operator: NotIn, values: [front]}\n",
        )
    )
    [finding] = only(run(*files), "ref-selector-mismatch")
    assert finding.severity == "warning"


# --- ports --------------------------------------------------------------------


def test_named_target_port_unknown_to_the_pods_is_an_error_citing_the_workload() -> None:
    files = sound(app=("      targetPort: http", "      targetPort: web-http"))
    [finding] = only(run(*files), "ref-target-port-name")
    assert finding.severity == "error"
    assert finding.category == "ref.target-port"
    assert finding.line == line_of(APP, "targetPort: http")
    assert finding.evidence[0].ref.startswith("manifests/app.yaml:")


def test_numeric_target_port_not_declared_is_a_warning_and_a_declared_one_is_fine() -> None:
    wrong = sound(app=("      targetPort: http", "      targetPort: 9090"))
    [finding] = only(run(*wrong), "ref-target-port-number")
    assert finding.severity == "warning"
    right = sound(app=("      targetPort: http", "      targetPort: 8080"))
    assert only(run(*right), "ref-target-port-number") == []


def test_probe_on_an_undeclared_port_name_is_an_error_at_the_probe_port() -> None:
    files = sound(app=("              port: http", "              port: admin"))
    [finding] = only(run(*files), "ref-probe-port")
    assert finding.severity == "error"
    assert finding.field == ("$.spec.template.spec.containers[0].readinessProbe.httpGet.port")
    assert finding.line == line_of(APP, "              port: http")


def test_probe_on_a_port_number_is_not_checked() -> None:
    files = sound(app=("              port: http", "              port: 9999"))
    assert only(run(*files), "ref-probe-port") == []


# --- Ingress ------------------------------------------------------------------


def test_ingress_backend_to_a_missing_service_is_an_error_at_the_name() -> None:
    files = sound(edge=("                name: web\n", "                name: website\n"))
    [finding] = only(run(*files), "ref-ingress-service")
    assert finding.category == "ref.ingress-backend"
    assert finding.file == "manifests/edge.yaml"
    assert finding.line == line_of(EDGE, "                name: web")


def test_ingress_backend_port_not_on_the_service_is_an_error_citing_the_service() -> None:
    files = sound(edge=("number: 80", "number: 8080"))
    [finding] = only(run(*files), "ref-ingress-port")
    assert finding.line == line_of(EDGE, "number: 80")
    assert finding.evidence[0].ref.startswith("manifests/app.yaml:")


def test_ingress_backend_port_by_name_and_default_backend_are_resolved() -> None:
    files = sound(
        edge=(
            "spec:\n  tls:",
            "spec:\n  defaultBackend:\n    service:\n      name: web\n"
            "      port:\n        name: grpc\n  tls:",
        )
    )
    [finding] = only(run(*files), "ref-ingress-port")
    assert finding.field == "$.spec.defaultBackend.service.port.name"
    assert "grpc" in finding.message


def test_ingress_backend_to_an_external_service_is_fine() -> None:
    files = sound(edge=("                name: web\n", "                name: legacy\n"))
    assert (
        only(run(*files, externals={("Service", "default", "legacy")}), "ref-ingress-service") == []
    )


def test_ingress_tls_secret_missing_is_an_error() -> None:
    files = sound(edge=("secretName: web-tls", "secretName: other-tls"))
    [finding] = only(run(*files), "ref-ingress-tls-secret")
    assert finding.severity == "error"
    assert finding.line == line_of(EDGE, "secretName: web-tls")


def test_ingress_tls_secret_made_by_cert_manager_or_declared_external_is_fine() -> None:
    annotated = sound(
        edge=(
            "metadata:\n  name: web\nspec:\n  tls:",
            "metadata:\n  name: web\n  annotations:\n    cert-manager.io/cluster-issuer: le\n"
            "spec:\n  tls:",
        ),
    )
    annotated = [
        (n, t.replace("secretName: web-tls", "secretName: auto-tls")) for n, t in annotated
    ]
    assert only(run(*annotated), "ref-ingress-tls-secret") == []
    external = sound(edge=("secretName: web-tls", "secretName: wildcard-tls"))
    assert (
        only(run(*external, externals={("Secret", None, "wildcard-tls")}), "ref-ingress-tls-secret")
        == []
    )


# --- HPA ------------------------------------------------------------------------


def test_hpa_targeting_a_missing_workload_is_an_error() -> None:
    files = sound(
        edge=("    kind: Deployment\n    name: web", "    kind: StatefulSet\n    name: web")
    )
    [finding] = only(run(*files), "ref-hpa-target")
    assert finding.field == "$.spec.scaleTargetRef.name"
    assert "StatefulSet 'web'" in finding.message


# --- ConfigMaps and Secrets ---------------------------------------------------


def test_missing_configmap_in_env_from_is_an_error_at_the_name() -> None:
    files = sound(support=("  name: web-config\n", "  name: other-config\n"))
    findings = only(run(*files), "ref-configmap")
    assert {f.field for f in findings} == {
        "$.spec.template.spec.containers[0].envFrom[0].configMapRef.name",
        "$.spec.template.spec.containers[0].env[1].valueFrom.configMapKeyRef.name",
        "$.spec.template.spec.volumes[1].configMap.name",
    }
    env_from = next(f for f in findings if "envFrom" in (f.field or ""))
    assert env_from.line == line_of(APP, "                name: web-config")


def test_optional_configmap_and_secret_references_are_skipped() -> None:
    files = sound(
        app=(
            "                name: web-config\n",
            "                name: gone\n                optional: true\n",
        )
    )
    assert only(run(*files), "ref-configmap") == []
    secret = sound(
        app=(
            "                  key: password\n",
            "                  key: password\n                  optional: true\n",
        )
    )
    secret = [(n, t.replace("name: web-secret", "name: nope")) for n, t in secret[:1]]
    assert only(run(*secret, ("manifests/support.yaml", SUPPORT)), "ref-secret") == []


def test_missing_key_in_a_configmap_of_the_repository_is_an_error_citing_it() -> None:
    files = sound(support=("  mode: fast", "  speed: fast"))
    findings = only(run(*files), "ref-configmap-key")
    assert {f.field for f in findings} == {
        "$.spec.template.spec.containers[0].env[1].valueFrom.configMapKeyRef.key",
        "$.spec.template.spec.volumes[1].configMap.items[0].key",
    }
    assert all(f.evidence[0].ref == "manifests/support.yaml:1" for f in findings)
    assert all(f.category == "ref.configmap" for f in findings)


def test_missing_secret_is_an_error_and_an_external_secret_is_fine() -> None:
    files = sound(support=("  name: web-secret\n", "  name: db-secret\n"))
    [finding] = only(run(*files), "ref-secret")
    assert finding.severity == "error"
    assert finding.line == line_of(APP, "name: web-secret")
    assert only(run(*files, externals={("Secret", "default", "web-secret")}), "ref-secret") == []


def test_secret_from_a_sealed_secret_counts_as_present() -> None:
    plain = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-secret\n"
    sealed = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: web-secret\n"
    assert only(run(*sound(support=(plain, sealed))), "ref-secret") == []


def test_missing_key_in_a_secret_is_an_error() -> None:
    files = sound(support=("  password: hunter2", "  pass: hunter2"))
    [finding] = only(run(*files), "ref-secret-key")
    assert finding.category == "ref.secret"


def test_missing_image_pull_secret_is_only_a_warning() -> None:
    files = sound(app=("        - name: registry", "        - name: ghcr"))
    [finding] = only(run(*files), "ref-image-pull-secret")
    assert finding.severity == "warning"
    assert finding.category == "ref.secret"


# --- claims and accounts ------------------------------------------------------


def test_missing_persistent_volume_claim_is_an_error_at_the_claim_name() -> None:
    files = sound(app=("claimName: data", "claimName: cache"))
    [finding] = only(run(*files), "ref-pvc")
    assert finding.line == line_of(APP, "claimName: data")


def test_claims_from_statefulset_volume_claim_templates_count_as_present() -> None:
    text = """\
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: db
    spec:
      selector:
        matchLabels: {app: db}
      serviceName: db
      template:
        metadata:
          labels: {app: db}
        spec:
          containers: [{name: db, image: pg:16}]
      volumeClaimTemplates:
        - metadata:
            name: data
    ---
    apiVersion: batch/v1
    kind: Job
    metadata:
      name: backup
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: backup, image: pg:16}]
          volumes:
            - name: data
              persistentVolumeClaim:
                claimName: data-db-0
    """
    assert run(("manifests/db.yaml", text)) == []


def test_missing_service_account_is_an_error_but_default_is_always_there() -> None:
    files = sound(
        support=(
            "kind: ServiceAccount\nmetadata:\n  name: web",
            "kind: ServiceAccount\nmetadata:\n  name: api",
        )
    )
    [finding] = only(run(*files), "ref-serviceaccount")
    assert finding.line == line_of(APP, "serviceAccountName: web")
    default = sound(app=("serviceAccountName: web", "serviceAccountName: default"))
    assert only(run(*default), "ref-serviceaccount") == []


# --- RBAC ---------------------------------------------------------------------


def test_role_binding_to_a_missing_role_is_an_error() -> None:
    files = sound(edge=("  kind: Role\n  name: reader", "  kind: Role\n  name: writer"))
    [finding] = only(run(*files), "ref-role")
    assert finding.category == "ref.role-binding"
    assert finding.line == line_of(EDGE, "  name: reader", 2)


def test_builtin_cluster_roles_are_assumed_present() -> None:
    text = """\
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata:
      name: viewers
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
    subjects: [{kind: Group, name: devs}]
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata:
      name: auth-delegator
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:auth-delegator"}
    subjects: []
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata:
      name: custom
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: custom-reader}
    subjects: []
    """
    [finding] = run(("manifests/rbac.yaml", text))
    assert finding.rule_id == "ref-role"
    assert "custom-reader" in finding.message


def test_binding_subject_service_account_missing_is_a_warning() -> None:
    files = sound(
        edge=(
            "  - kind: ServiceAccount\n    name: web",
            "  - kind: ServiceAccount\n    name: ghost",
        )
    )
    [finding] = only(run(*files), "ref-binding-subject")
    assert finding.severity == "warning"
    assert finding.field == "$.subjects[0].name"


# --- selectors of policies ----------------------------------------------------


def test_pdb_selecting_no_pod_is_an_error() -> None:
    files = sound(
        edge=(
            "  minAvailable: 1\n  selector:\n    matchLabels:\n      app: web",
            "  minAvailable: 1\n  selector:\n    matchLabels:\n      app: wbe",
        )
    )
    [finding] = only(run(*files), "ref-pdb-selector")
    assert finding.severity == "error"
    assert finding.field == "$.spec.selector"


def test_pdb_with_match_expressions_selecting_nothing_is_only_a_warning() -> None:
    files = sound(
        edge=(
            "    matchLabels:\n      app: web\n---",
            "    matchExpressions:\n      - {key: app, operator: In, values: [api]}\n---",
        )
    )
    [finding] = only(run(*files), "ref-pdb-selector")
    assert finding.severity == "warning"


def test_network_policy_selecting_no_pod_is_a_warning_and_an_empty_selector_is_fine() -> None:
    files = sound(edge=("      tier: front", "      tier: back"))
    [finding] = only(run(*files), "ref-networkpolicy-selector")
    assert finding.severity == "warning"
    everything = sound(
        edge=("  podSelector:\n    matchLabels:\n      tier: front", "  podSelector: {}")
    )
    assert only(run(*everything), "ref-networkpolicy-selector") == []


# --- duplicates ---------------------------------------------------------------


def test_duplicate_object_is_an_error_citing_the_first_definition() -> None:
    again = """\
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: web-config
    data:
      mode: slow
    """
    files = [*sound(), ("manifests/again.yaml", again)]
    [finding] = only(run(*files), "ref-duplicate-resource")
    assert finding.severity == "error"
    assert finding.file == "manifests/again.yaml"
    assert finding.line == 4
    assert finding.evidence[0].ref == "manifests/support.yaml:4"


def test_same_name_in_another_namespace_or_api_group_is_not_a_duplicate() -> None:
    other = """\
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: web-config
      namespace: staging
    data:
      mode: slow
    ---
    apiVersion: example.com/v1
    kind: ConfigMap
    metadata:
      name: web-config
    """
    assert only(run(*sound(), ("manifests/other.yaml", other)), "ref-duplicate-resource") == []


# --- where pods live ----------------------------------------------------------


def test_cron_job_references_are_located_inside_the_job_template() -> None:
    text = """\
    apiVersion: batch/v1
    kind: CronJob
    metadata:
      name: report
      namespace: batch
    spec:
      schedule: "0 * * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
                - name: report
                  image: report:1
                  envFrom:
                    - secretRef:
                        name: report-creds
    """
    [finding] = run(("manifests/cron.yaml", text))
    assert finding.rule_id == "ref-secret"
    assert finding.field == (
        "$.spec.jobTemplate.spec.template.spec.containers[0].envFrom[0].secretRef.name"
    )
    assert finding.line == line_of(textwrap.dedent(text), "name: report-creds")
    assert "'batch'" in finding.message


def test_duplicates_in_different_folders_or_identical_copies_are_only_warnings() -> None:
    copy = """\
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: web-config
    data:
      mode: slow
    """
    overlay = only(run(*sound(), ("manifests/prod/cm.yaml", copy)), "ref-duplicate-resource")
    assert [f.severity for f in overlay] == ["warning"]
    twin = SUPPORT.split("---", maxsplit=1)[0]
    identical = only(run(*sound(), ("manifests/twin.yaml", twin)), "ref-duplicate-resource")
    assert [f.severity for f in identical] == ["warning"]


def test_a_bare_pod_is_checked_at_its_own_spec() -> None:
    text = """\
    apiVersion: v1
    kind: Pod
    metadata:
      name: debug
    spec:
      containers:
        - name: shell
          image: busybox:1.36
          livenessProbe:
            tcpSocket:
              port: ssh
    """
    [finding] = run(("manifests/pod.yaml", text))
    assert finding.rule_id == "ref-probe-port"
    assert finding.field == "$.spec.containers[0].livenessProbe.tcpSocket.port"
