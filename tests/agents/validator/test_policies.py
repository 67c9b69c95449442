"""Policies: quantities, image references, rule settings, overrides, bounds and errors."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pilothouse.agents.validator.model import Corpus, Finding, ResourceRef
from pilothouse.agents.validator.policies import (
    InvalidPolicies,
    Policies,
    load_policies,
    load_valid_sections,
    parse_image,
    parse_quantity,
)
from pilothouse.core.errors import PilothouseError

# -- quantities --------------------------------------------------------------------------

MULTIPLIERS = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "k": Fraction(1000),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(1024),
    "Mi": Fraction(1024**2),
    "Gi": Fraction(1024**3),
    "Ti": Fraction(1024**4),
    "Pi": Fraction(1024**5),
    "Ei": Fraction(1024**6),
}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Fraction(1, 2)),
        ("0.5", Fraction(1, 2)),
        (".5", Fraction(1, 2)),
        ("1.", Fraction(1)),
        ("2", Fraction(2)),
        ("+2", Fraction(2)),
        ("-250m", Fraction(-1, 4)),
        ("1.5Gi", Fraction(3 * 2**29)),
        ("512Mi", Fraction(2**29)),
        ("1k", Fraction(1000)),
        ("1e3", Fraction(1000)),
        ("1E3", Fraction(1000)),
        ("25e-2", Fraction(1, 4)),
        ("1E", Fraction(10**18)),
        ("1Ei", Fraction(2**60)),
        ("0", Fraction(0)),
        ("250000000n", Fraction(1, 4)),
        ("1500u", Fraction(3, 2000)),
        (2, Fraction(2)),
        (0.1, Fraction(1, 10)),
    ],
)
def test_kubernetes_quantities_parse_exactly(text: str | float, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    "text",
    ["", "1 Gi", "1gb", "1KiB", "Mi", "e3", "1e", "1.2.3", "1ki", "0x10", "inf", True, None, [1]],
)
def test_anything_else_is_not_a_quantity(text: Any) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity(text)


def test_binary_and_decimal_forms_of_the_same_amount_are_equal() -> None:
    assert parse_quantity("1Gi") == parse_quantity("1024Mi") == parse_quantity("1073741824")
    assert parse_quantity("100m") == parse_quantity(0.1) == parse_quantity("1e-1")


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(sorted(MULTIPLIERS)))
def test_an_integer_with_any_suffix_is_that_integer_times_the_suffix(n: int, suffix: str) -> None:
    assert parse_quantity(f"{n}{suffix}") == n * MULTIPLIERS[suffix]


@given(
    st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False),
    st.sampled_from(sorted(MULTIPLIERS)),
)
def test_a_decimal_with_any_suffix_round_trips(number: Decimal, suffix: str) -> None:
    text = format(number, "f")
    assert parse_quantity(f"{text}{suffix}") == Fraction(number) * MULTIPLIERS[suffix]


@given(st.integers(min_value=-(10**6), max_value=10**6), st.integers(min_value=-18, max_value=18))
def test_an_exponent_scales_by_powers_of_ten(n: int, exponent: int) -> None:
    assert parse_quantity(f"{n}e{exponent}") == n * Fraction(10) ** exponent


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["Ki", "Mi", "Gi", "Ti", "Pi"]))
def test_a_binary_suffix_is_1024_of_the_one_below(n: int, suffix: str) -> None:
    below = {"Mi": "Ki", "Gi": "Mi", "Ti": "Gi", "Pi": "Ti", "Ki": ""}[suffix]
    assert parse_quantity(f"{n}{suffix}") == parse_quantity(f"{n * 1024}{below}")


# -- images --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "name", "tag", "digest"),
    [
        ("nginx", "docker.io/library/nginx", None, None),
        ("nginx:1.25", "docker.io/library/nginx", "1.25", None),
        ("bitnami/redis:7", "docker.io/bitnami/redis", "7", None),
        ("docker.io/nginx", "docker.io/library/nginx", None, None),
        ("index.docker.io/library/nginx:1", "docker.io/library/nginx", "1", None),
        ("ghcr.io/acme/api:2.0@sha256:ab", "ghcr.io/acme/api", "2.0", "sha256:ab"),
        ("localhost:5000/app", "localhost:5000/app", None, None),
        ("registry.example.com:443/team/app:v1", "registry.example.com:443/team/app", "v1", None),
        ("Registry.Example.com/App@sha256:cd", "registry.example.com/App", None, "sha256:cd"),
    ],
)
def test_an_image_is_normalised_as_a_runtime_resolves_it(
    image: str, name: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_image(image)
    assert (ref.name, ref.tag, ref.digest) == (name, tag, digest)


# -- loading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [None, {}])
def test_an_empty_or_missing_file_means_defaults(data: Any) -> None:
    policies = load_policies(data)
    assert policies.registry_allowed("anything:1") is None
    assert not policies.bounds_for("manifests/a.yaml", "default")
    assert policies.externals_set() == set()
    finding = make("memory-limit-missing", "resources.limits-missing")
    assert policies.apply([finding]) == [finding]


def test_a_yaml_file_with_every_section_loads() -> None:
    text = """
rules:
  image.unpinned: {severity: error}
  cpu-limit-missing: false
  liveness-probe-missing: warning
bounds: {cpu_limit_max: 2, memory_limit_max: 4Gi, replicas_min: 2, replicas_max: 20}
allowed_registries: ["registry.example.com/*"]
overrides:
  - namespaces: [kube-system]
    rules: {security.host-namespace: {enabled: false}}
externals:
  - {kind: Secret, name: registry-credentials, namespace: shop}
  - {kind: ClusterRole, name: platform-reader}
"""
    policies = load_policies(yaml.safe_load(text))
    assert policies.bounds.cpu_limit_max is not None
    assert policies.bounds.cpu_limit_max.value == 2
    assert policies.bounds.memory_limit_max is not None
    assert policies.bounds.memory_limit_max.value == 4 * 2**30
    assert (
        policies.setting("cpu-limit-missing", "resources.limits-missing", "f", "ns").enabled
        is False
    )
    assert policies.setting("liveness-probe-missing", "x", "f", "ns").severity == "warning"


def problems(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidPolicies) as caught:
        load_policies(data, file="configs/policies.yaml")
    error = caught.value
    assert isinstance(error, PilothouseError)
    assert error.code == "invalid_policies"
    assert error.details["file"] == "configs/policies.yaml"
    return [(p["path"], p["message"]) for p in error.details["problems"]]


def test_an_invalid_file_is_a_coded_error_naming_each_field() -> None:
    found = problems(
        {
            "rules": {"security.privileged": {"severity": "fatal"}},
            "bounds": {"cpu_limit_max": "2 cores"},
            "overrides": [{"path": ["manifests/*"]}],
        }
    )
    paths = [path for path, _ in found]
    assert paths == [
        "rules['security.privileged'].severity",
        "bounds.cpu_limit_max",
        "overrides[0].path",
    ]
    assert "not a Kubernetes quantity: '2 cores'" in found[1][1]
    assert "expected one of: paths, namespaces, rules, bounds" in found[2][1]


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"rule": {}}, "rule", "unknown field"),
        ({"rules": {"Bad Key!": False}}, "rules['Bad Key!'] (the key)", "pattern"),
        ({"rules": {"x": {"enabled": "maybe"}}}, "rules.x.enabled", "boolean"),
        ({"bounds": {"replicas_min": True}}, "bounds.replicas_min", "integer"),
        ({"bounds": {"replicas_min": -1}}, "bounds.replicas_min", "greater than or equal to 0"),
        ({"bounds": {"replicas_min": 5, "replicas_max": 2}}, "bounds", "above replicas_max"),
        ({"allowed_registries": "ghcr.io/*"}, "allowed_registries", "list"),
        ({"externals": [{"kind": "Secret"}]}, "externals[0].name", "required"),
        (
            {"overrides": [{"bounds": {"memory_limit_max": "lots"}}]},
            "overrides[0].bounds.memory_limit_max",
            "quantity",
        ),
        (["rules"], "", "must be a mapping"),
    ],
)
def test_each_kind_of_mistake_is_reported_at_its_field(data: Any, path: str, message: str) -> None:
    ((where, said),) = problems(data)
    assert where == path
    assert message in said


# -- applying rule settings ------------------------------------------------------------------


def make(
    rule_id: str,
    category: str,
    severity: Any = "warning",
    file: str = "manifests/app.yaml",
    namespace: str | None = "shop",
) -> Finding:
    return Finding(
        category=category,
        rule_id=rule_id,
        severity=severity,
        message="m",
        file=file,
        line=1,
        resource=ResourceRef("apps/v1", "Deployment", namespace, "app"),
    )


MEMORY = make("memory-limit-missing", "resources.limits-missing")
CPU = make("cpu-limit-missing", "resources.limits-missing", "info")
LATEST = make("image-tag-latest", "image.unpinned")


def test_a_disabled_rule_is_dropped() -> None:
    policies = load_policies({"rules": {"cpu-limit-missing": {"enabled": False}}})
    assert policies.apply([MEMORY, CPU]) == [MEMORY]


def test_a_disabled_category_drops_all_its_rules() -> None:
    policies = load_policies({"rules": {"resources.limits-missing": False}})
    assert policies.apply([MEMORY, CPU, LATEST]) == [LATEST]


def test_a_severity_change_is_applied_and_cited() -> None:
    policies = load_policies({"rules": {"image.unpinned": {"severity": "error"}}})
    (changed,) = policies.apply([LATEST])
    assert changed.severity == "error"
    assert changed.evidence[-1].kind == "policy"
    assert changed.evidence[-1].detail == "rules.image.unpinned: severity error"


def test_a_rule_setting_beats_its_category_setting() -> None:
    policies = load_policies(
        {"rules": {"resources.limits-missing": "error", "cpu-limit-missing": "info"}}
    )
    assert [f.severity for f in policies.apply([MEMORY, CPU])] == ["error", "info"]


def test_a_path_override_applies_only_to_matching_files() -> None:
    policies = load_policies(
        {"overrides": [{"paths": ["manifests/legacy/*"], "rules": {"image.unpinned": False}}]}
    )
    legacy = make("image-tag-latest", "image.unpinned", file="manifests/legacy/deep/app.yaml")
    assert policies.apply([legacy, LATEST]) == [LATEST]


def test_a_namespace_override_matches_globs_and_the_default_namespace() -> None:
    policies = load_policies(
        {"overrides": [{"namespaces": ["team-*", "default"], "rules": {"image.unpinned": "info"}}]}
    )
    team = make("image-tag-latest", "image.unpinned", namespace="team-a")
    unset = make("image-tag-latest", "image.unpinned", namespace=None)
    assert [f.severity for f in policies.apply([team, unset, LATEST])] == [
        "info",
        "info",
        "warning",
    ]
    assert [f.severity for f in policies.apply([unset], default_namespace="shop")] == ["warning"]


def test_an_override_with_paths_and_namespaces_needs_both_to_match() -> None:
    policies = load_policies(
        {
            "overrides": [
                {
                    "paths": ["manifests/*"],
                    "namespaces": ["ops"],
                    "rules": {"image.unpinned": False},
                }
            ]
        }
    )
    ops = make("image-tag-latest", "image.unpinned", namespace="ops")
    assert policies.apply([ops, LATEST]) == [LATEST]


def test_later_overrides_win_and_fields_resolve_separately() -> None:
    policies = load_policies(
        {
            "rules": {"image.unpinned": {"severity": "error"}},
            "overrides": [
                {"namespaces": ["shop"], "rules": {"image-tag-latest": {"enabled": False}}},
                {"paths": ["manifests/*"], "rules": {"image.unpinned": {"enabled": True}}},
            ],
        }
    )
    (kept,) = policies.apply([LATEST])
    assert kept.severity == "error"  # from the top level, untouched by the overrides
    assert kept.evidence[-1].detail == "rules.image.unpinned: severity error"


def test_unknown_rule_keys_are_listed_for_a_warning() -> None:
    policies = load_policies(
        {
            "rules": {"image.unpinned": "error", "memory-limit-mising": False},
            "overrides": [{"rules": {"typo": False}}],
        }
    )
    assert policies.unknown_rules(["memory-limit-missing"]) == ["memory-limit-mising", "typo"]


# -- bounds, registries, externals -----------------------------------------------------------------


def test_bounds_are_merged_from_matching_overrides_field_by_field() -> None:
    policies = load_policies(
        {
            "bounds": {"cpu_limit_max": "2", "memory_limit_max": "4Gi"},
            "overrides": [
                {"namespaces": ["batch"], "bounds": {"cpu_limit_max": "16"}},
                {"paths": ["manifests/gpu/*"], "bounds": {"cpu_limit_max": "32"}},
            ],
        }
    )
    batch = policies.bounds_for("manifests/jobs.yaml", "batch")
    assert batch.cpu_limit_max is not None and batch.cpu_limit_max.value == 16
    assert batch.cpu_limit_max.where == "overrides[0].bounds.cpu_limit_max"
    assert batch.memory_limit_max is not None and batch.memory_limit_max.text == "4Gi"
    both = policies.bounds_for("manifests/gpu/train.yaml", "batch")
    assert both.cpu_limit_max is not None and both.cpu_limit_max.value == 32
    plain = policies.bounds_for("manifests/web.yaml", "shop")
    assert plain.cpu_limit_max is not None and plain.cpu_limit_max.value == 2


def test_allowed_registries_match_globs_hosts_and_docker_hub_names() -> None:
    policies = load_policies(
        {"allowed_registries": ["ghcr.io/acme/*", "registry.example.com", "docker.io/library/*"]}
    )
    assert policies.registry_allowed("ghcr.io/acme/team/api:1") is True
    assert policies.registry_allowed("ghcr.io/evil/api:1") is False
    assert policies.registry_allowed("registry.example.com/anything/here:2") is True
    assert policies.registry_allowed("nginx:1.25") is True  # docker.io/library/nginx
    assert policies.registry_allowed("bitnami/redis:7") is False  # docker.io/bitnami/redis


def test_an_empty_registry_list_is_no_list() -> None:
    assert load_policies({"allowed_registries": []}).registry_allowed("nginx") is None


def test_externals_become_the_tuples_the_corpus_looks_up() -> None:
    policies = load_policies(
        {
            "externals": [
                {"kind": "Secret", "name": "pull", "namespace": "shop"},
                {"kind": "ClusterRole", "name": "reader"},
            ]
        }
    )
    assert policies.externals_set() == {("Secret", "shop", "pull"), ("ClusterRole", None, "reader")}
    corpus = Corpus(manifests=[], externals=policies.externals_set())
    assert corpus.exists("Secret", "shop", "pull")
    assert corpus.exists("ClusterRole", None, "reader")
    assert not corpus.exists("Secret", "other", "pull")


def test_the_valid_sections_of_an_invalid_file_still_apply() -> None:
    data = {
        "rules": {"cpu-limit-missing": False},
        "bound": {"memory_limit_max": "4Gi"},
        "bounds": {"replicas_min": 3, "replicas_max": 2},
        "externals": [{"kind": "Secret", "name": "creds", "namespace": "search"}],
    }
    kept, invalid = load_valid_sections(data)
    assert invalid is not None and invalid.code == "invalid_policies"
    assert [p["loc"][0] for p in invalid.details["problems"]] == ["bounds", "bound"]
    assert kept.externals == (("Secret", "search", "creds"),)
    assert kept.setting("cpu-limit-missing", "resources.limits-missing", "f", "ns").enabled is False
    assert not kept.bounds  # the invalid section is dropped whole
    assert load_valid_sections(["not", "a", "mapping"])[0] == Policies()
    assert load_valid_sections({"rules": {}}) == (Policies(), None)


def test_default_policies_are_the_same_as_an_empty_file() -> None:
    assert Policies() == load_policies({})
