"""The schema check: strict built-in schemas, repository CRDs, removed APIs."""

from __future__ import annotations

import textwrap

import pytest

from pilothouse.agents.validator import loading
from pilothouse.agents.validator.checks import schema
from pilothouse.agents.validator.model import CATEGORIES, Corpus, Finding

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.27
          imagePullPolicy: IfNotPresent
          ports:
            - containerPort: 80
          resources:
            limits:
              cpu: 500m
              memory: 128Mi
"""

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size:
                  type: integer
                  minimum: 1
                port:
                  x-kubernetes-int-or-string: true
                  anyOf:
                    - type: integer
                    - type: string
                color:
                  type: string
                  enum: [red, blue]
                settings:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                labels:
                  type: object
                  additionalProperties:
                    type: string
            status:
              type: object
    - name: v1alpha1
      served: false
      storage: false
      schema:
        openAPIV3Schema:
          type: object
"""


def _check(text: str, version: str | None = None) -> list[Finding]:
    manifests: list = []
    for i, document in enumerate(text.split("\n---\n")):
        found, problems = loading.parse_documents(document, f"manifests/{i}.yaml")
        assert problems == []
        manifests.extend(found)
    return list(schema.SchemaCheck(version).run(Corpus(manifests=manifests)))


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_valid_deployment_and_service_have_no_findings() -> None:
    service = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
    - port: 80
      targetPort: http
"""
    assert _check(DEPLOYMENT + "\n---\n" + service) == []


def test_a_replica_typo_is_an_unknown_field_at_its_line_with_a_suggestion() -> None:
    text = DEPLOYMENT.replace("  replicas: 3", "  replica: 3")
    [finding] = _check(text)
    assert finding.category == "schema.unknown-field"
    assert finding.rule_id == "schema-unknown-field"
    assert finding.severity == "error"
    assert finding.field == "$.spec.replica"
    assert finding.line == _line(text, "replica: 3")
    assert "'replica'" in finding.message
    assert "Deployment.spec" in finding.message
    assert "did you mean 'replicas'?" in finding.message


def test_replicas_as_a_string_is_invalid() -> None:
    text = DEPLOYMENT.replace("replicas: 3", 'replicas: "3"')
    [finding] = _check(text)
    assert (finding.category, finding.rule_id, finding.severity) == (
        "schema.invalid",
        "schema-invalid",
        "error",
    )
    assert finding.field == "$.spec.replicas"
    assert finding.line == _line(text, "replicas:")
    assert "must be an integer" in finding.message
    assert "quotes" in finding.hint


def test_a_container_field_typo_is_located_at_its_own_line() -> None:
    text = DEPLOYMENT.replace("imagePullPolicy:", "imagePullPolicyy:")
    [finding] = _check(text)
    assert finding.field == "$.spec.template.spec.containers[0].imagePullPolicyy"
    assert finding.line == _line(text, "imagePullPolicyy")
    assert "did you mean 'imagePullPolicy'?" in finding.message


def test_a_quantity_of_the_wrong_type_is_one_error_not_a_cascade() -> None:
    text = DEPLOYMENT.replace("cpu: 500m", "cpu: [1]")
    [finding] = _check(text)
    assert finding.field == "$.spec.template.spec.containers[0].resources.limits.cpu"
    assert "must be a string or a number" in finding.message


def test_a_missing_required_field_and_missing_kind_are_invalid() -> None:
    no_selector = DEPLOYMENT.replace("  selector:\n    matchLabels:\n      app: web\n", "")
    [finding] = _check(no_selector)
    assert finding.category == "schema.invalid"
    assert finding.message == "Deployment.spec is missing the required field 'selector'"
    assert finding.line == _line(no_selector, "spec:")
    [untyped] = _check("metadata:\n  name: x\n")
    assert untyped.category == "schema.invalid"
    assert "apiVersion and kind" in untyped.message


def test_yaml_timestamps_are_validated_as_strings() -> None:
    text = DEPLOYMENT.replace(
        "  name: web\nspec:", "  name: web\n  annotations:\n    built: 2024-05-01\nspec:"
    )
    assert _check(text) == []


def test_null_where_a_string_or_an_integer_is_allowed_is_fine() -> None:
    text = DEPLOYMENT.replace(
        "  replicas: 3", "  replicas: 3\n  strategy:\n    rollingUpdate:\n      maxSurge:"
    )
    assert _check(text) == []


def test_an_unquoted_number_where_a_string_is_expected_hints_at_quoting() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  port: 8080\n"
    [finding] = _check(text)
    assert finding.message == "ConfigMap.data.port must be a string, not the number 8080"
    assert finding.line == 6
    assert "Quote" in finding.hint


def test_the_items_of_a_list_are_checked_at_their_own_lines() -> None:
    items = "".join(
        f"  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: c{i}\n"
        f"    {'dta' if i == 10 else 'data'}: {{}}\n"
        for i in range(11)
    )
    text = "apiVersion: v1\nkind: List\nitems:\n" + items
    [finding] = _check(text)
    assert finding.field == "$.dta"
    assert finding.line == _line(text, "dta:")
    assert finding.resource is not None
    assert finding.resource.name == "c10"


def test_the_items_of_a_list_are_objects_of_their_own() -> None:
    text = (
        "# exported\napiVersion: v1\nkind: List\nitems:\n"
        "  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: a\n"
        "  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: b\n"
        "  - just text\n"
    )
    manifests, problems = loading.parse_documents(text, "m.yaml")
    assert problems == []
    assert [(m.kind, m.name, m.line) for m in manifests] == [
        ("ConfigMap", "a", 5),
        ("Secret", "b", 9),
    ]
    assert manifests[1].line_of("$.metadata.name") == 12


def test_a_list_without_an_items_list_is_invalid() -> None:
    [finding] = _check("apiVersion: v1\nkind: List\nitems: {}\n")
    assert (finding.rule_id, finding.severity, finding.field) == (
        "schema-invalid",
        "error",
        "$.items",
    )


def test_an_unknown_kind_is_a_warning() -> None:
    [finding] = _check("apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n")
    assert (finding.category, finding.rule_id, finding.severity) == (
        "schema.unknown-kind",
        "schema-unknown-kind",
        "warning",
    )
    assert "example.com/v1 Gadget" in finding.message


def test_kinds_of_crds_declared_outside_the_repository_are_known() -> None:
    manifest, _ = loading.parse_documents(
        "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: c\n", "c.yaml"
    )
    corpus = Corpus(
        manifests=manifest,
        externals={("CustomResourceDefinition", None, "certificates.cert-manager.io")},
    )
    assert list(schema.SchemaCheck().run(corpus)) == []


def test_a_misspelt_built_in_kind_gets_a_suggestion() -> None:
    [finding] = _check("apiVersion: apps/v1\nkind: Deploymnet\nmetadata:\n  name: x\n")
    assert "did you mean 'Deployment'?" in finding.message


@pytest.mark.parametrize("api_version", ["apps/v1", "v1", "batch/v1", "networking.k8s.io/v1"])
def test_an_unknown_kind_in_a_built_in_group_is_an_error(api_version: str) -> None:
    # No CRD can add kinds to a built-in group: kubectl apply fails for certain.
    text = f"apiVersion: {api_version}\nkind: Gizmo\nmetadata:\n  name: x\n"
    [finding] = _check(text)
    assert (finding.rule_id, finding.severity, finding.line) == ("schema-unknown-kind", "error", 2)


def test_a_custom_resource_is_validated_against_its_repository_crd() -> None:
    valid = """\
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  size: 2
  port: http
  color: red
  settings:
    anything: [goes, here]
  labels:
    a: b
"""
    assert _check(CRD + "\n---\n" + valid) == []


def test_an_unknown_field_in_a_custom_resource_is_a_warning() -> None:
    cr = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  sise: 2\n"
    [finding] = _check(CRD + "\n---\n" + cr)
    assert finding.category == "schema.unknown-field"
    assert (finding.rule_id, finding.severity) == ("crd-unknown-field", "warning")
    assert finding.field == "$.spec.sise"
    assert finding.line == 6
    assert "did you mean 'size'?" in finding.message


def test_a_wrong_type_in_a_custom_resource_is_an_error() -> None:
    cr = textwrap.dedent("""\
        apiVersion: example.com/v1
        kind: Widget
        metadata:
          name: w
        spec:
          size: big
          color: green
        """)
    findings = _check(CRD + "\n---\n" + cr)
    assert {(f.field, f.rule_id, f.severity) for f in findings} == {
        ("$.spec.size", "schema-invalid", "error"),
        ("$.spec.color", "schema-invalid", "error"),
    }


def test_a_custom_resource_version_the_crd_does_not_serve_is_unknown() -> None:
    cr = "apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata:\n  name: w\n"
    [finding] = _check(CRD + "\n---\n" + cr)
    assert finding.rule_id == "schema-unknown-kind"
    assert "served: v1" in finding.message
    # the repository's own CRD says it cannot be served: an error, at the apiVersion
    assert (finding.severity, finding.field, finding.line) == ("error", "$.apiVersion", 1)


def test_a_crd_is_itself_validated_as_a_built_in_kind() -> None:
    text = CRD.replace("  scope: Namespaced", "  scop: Namespaced")
    findings = {(f.rule_id, f.field) for f in _check(text)}
    assert findings == {("schema-unknown-field", "$.spec.scop"), ("schema-invalid", "$.spec")}


def test_an_extensions_v1beta1_deployment_was_removed() -> None:
    text = DEPLOYMENT.replace("apps/v1", "extensions/v1beta1")
    [finding] = _check(text)
    assert (finding.category, finding.rule_id, finding.severity) == (
        "api.deprecated",
        "api-removed",
        "error",
    )
    assert "removed in Kubernetes 1.16" in finding.message
    assert "use apps/v1" in finding.message
    assert finding.line == 1


def test_the_target_version_decides_between_deprecated_and_removed() -> None:
    hpa = """\
apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 1
  maxReplicas: 3
"""
    [warning] = _check(hpa, "1.25")
    assert (warning.rule_id, warning.severity) == ("api-deprecated", "warning")
    [error] = _check(hpa, "v1.26.0")
    assert (error.rule_id, error.severity) == ("api-removed", "error")
    pdb = "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: p\n"
    [removed] = _check(pdb)
    assert removed.rule_id == "api-removed"
    assert "removed in Kubernetes 1.25" in removed.message


def test_an_unknown_kubernetes_version_lists_the_available_ones() -> None:
    with pytest.raises(ValueError, match=r"available: 1\.25, .*1\.37"):
        schema.SchemaCheck("1.12")
    assert schema.SchemaCheck("v1.30.0").kubernetes_version == "1.30"
    assert schema.SchemaCheck().kubernetes_version == schema.available_versions()[-1]


def test_compiled_validators_are_cached_and_reused() -> None:
    first = schema.builtin_validator("1.30", "apps/v1", "Deployment")
    assert first is not None
    assert schema.builtin_validator("v1.30.0", "apps/v1", "Deployment") is first
    assert schema.builtin_validator("1.31", "apps/v1", "Deployment") is not first
    assert schema.builtin_validator("1.30", "example.com/v1", "Gadget") is None


def test_every_emitted_rule_is_documented_in_a_known_category() -> None:
    for rule in schema.RULES:
        assert rule.category in CATEGORIES
    assert {r.rule_id for r in schema.RULES} >= {
        "schema-unknown-field",
        "schema-invalid",
        "schema-unknown-kind",
        "api-removed",
        "api-deprecated",
    }


def test_a_crd_schema_that_does_not_compile_is_reported_once_as_info() -> None:
    crd = CRD.replace("minimum: 1", "minimum: 1\n                  pattern: '(?<x'")
    cr = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {}\n"
    findings = _check("\n---\n".join([crd, cr.format("a"), cr.format("b")]))
    assert [(f.rule_id, f.severity, f.file) for f in findings] == [
        ("crd-schema-unsupported", "info", "manifests/0.yaml")
    ]
