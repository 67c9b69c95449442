"""A team's policies: which rules matter, how much, and the bounds resources must stay in.

``configs/policies.yaml`` is read once per validation and shapes the checks in two
ways. Before they run, it *parameterises* them: resource bounds, the registries images
may come from, the objects that exist outside the repository. After they run, it
*filters* what they found: a rule can be switched off or given another severity, by
its ``rule_id`` (``memory-limit-missing``) or by its whole ``category``
(``image.unpinned``)::

    rules:
      image.unpinned: {severity: error}          # a category
      cpu-limit-missing: {enabled: false}        # one rule (shorthand: `false`)
    bounds: {cpu_limit_max: "2", memory_limit_max: 4Gi, replicas_max: 20}
    allowed_registries: ["registry.example.com/*", "ghcr.io/acme/*"]
    overrides:
      - namespaces: [kube-system]
        paths: ["manifests/ingress/*"]
        rules: {security.host-namespace: {enabled: false}}
        bounds: {cpu_limit_max: "8"}
    externals:
      - {kind: Secret, name: registry-credentials, namespace: shop}

Settings are layered: the top level first, then every override whose selectors match
the finding (its file against ``paths``, its resource's namespace against
``namespaces``; a selector left out matches everything, both given must both match),
in file order, so later overrides win. Inside one layer a ``rule_id`` setting beats
a ``category`` setting, and ``enabled`` and ``severity`` are resolved separately, so an
override may switch off a rule whose severity the top level changed. Globs (``paths``,
``namespaces``, ``allowed_registries``) are shell-style and ``*`` also crosses ``/``:
``manifests/legacy/*`` covers every file below that directory. Bounds are per
container, like a ``LimitRange``'s ``max``.

The file is a wire format, so it is a strict pydantic model (unknown keys are errors,
reported with their path: ``overrides[1].bounds.cpu_limit_max``); what the checks use
is the frozen :class:`Policies` built from it. A missing or empty file means defaults:
every rule on at its own severity, no bounds, any registry.

Kubernetes quantities (``500m``, ``1.5``, ``512Mi``, ``1e3``, and the ``n``/``u``
suffixes the API server also accepts) are parsed exactly, to
:class:`~fractions.Fraction`, so ``1Gi`` equals ``1024Mi`` and ``0.1`` equals ``100m``
with no floating-point surprises.

    PilothouseError                 (pilothouse.core.errors)
    └── InvalidPolicies             invalid_policies   policies.yaml does not validate
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from pilothouse.agents.validator.model import CATEGORIES, SEVERITIES, Evidence, Finding, Severity
from pilothouse.core.errors import PilothouseError

__all__ = [
    "DEFAULT_FILE",
    "Bound",
    "Bounds",
    "ImageRef",
    "InvalidPolicies",
    "Override",
    "Policies",
    "RuleSetting",
    "load_policies",
    "parse_image",
    "parse_quantity",
]

DEFAULT_FILE = "configs/policies.yaml"

# -- quantities ----------------------------------------------------------------------

_QUANTITY = re.compile(
    r"([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d{1,3})|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?"
)
_SUFFIXES: dict[str, Fraction] = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}


@lru_cache(maxsize=8192)
def _parse_text(text: str) -> Fraction:
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    sign, number, exponent, suffix = match.groups()
    value = Fraction(number)
    if exponent is not None:
        value *= Fraction(10) ** int(exponent)
    else:
        value *= _SUFFIXES[suffix or ""]
    return -value if sign == "-" else value


def parse_quantity(value: Any) -> Fraction:
    """The exact value of a Kubernetes quantity (``"250m"`` → 1/4, ``"1Ki"`` → 1024).

    YAML numbers (``cpu: 2``, ``cpu: 0.5``) are accepted as Kubernetes accepts them.
    Raises :class:`ValueError` for anything else (``"2 cores"``, ``"1gb"``, ``true``).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    return _parse_text(value if isinstance(value, str) else str(value))


# -- images --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRef:
    """An image reference, normalised the way a container runtime resolves it."""

    registry: str  # docker.io for Docker Hub
    repository: str  # library/nginx for a bare "nginx"
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """``registry/repository``, the form ``allowed_registries`` globs match."""
        return f"{self.registry}/{self.repository}"


@lru_cache(maxsize=4096)
def parse_image(image: str) -> ImageRef:
    """``nginx`` → docker.io/library/nginx, no tag; ``ghcr.io/a/b:1@sha256:…`` → all four."""
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag = None
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first.lower(), remainder
    else:
        registry, repository = "docker.io", rest
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = "docker.io"
    if registry == "docker.io" and "/" not in repository:
        repository = f"library/{repository}"
    return ImageRef(registry, repository, tag or None, digest or None)


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    """A glob where ``*`` also crosses ``/``; a trailing ``/`` means "anything below"."""
    if pattern.endswith("/"):
        pattern += "*"
    return re.compile(fnmatch.translate(pattern))


def _any_glob(patterns: Iterable[str], value: str) -> bool:
    return any(_glob(p).match(value) for p in patterns)


# -- the file, as written (pydantic) -----------------------------------------------------


def _quantity_text(value: Any) -> str:
    parse_quantity(value)  # ValueError -> a located pydantic error
    return value if isinstance(value, str) else str(value)


def _rule_shorthand(value: Any) -> Any:
    if isinstance(value, bool):
        return {"enabled": value}
    if isinstance(value, str) and value in SEVERITIES:
        return {"severity": value}
    return value


_RULE_KEY = r"^[a-z0-9][a-z0-9.-]*$"
RuleKey = Annotated[str, Field(pattern=_RULE_KEY)]
QuantityText = Annotated[str, BeforeValidator(_quantity_text)]
Replicas = Annotated[int, Field(strict=True, ge=0)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RuleModel(_Wire):
    enabled: bool | None = None
    severity: Severity | None = None


RuleModel = Annotated[_RuleModel, BeforeValidator(_rule_shorthand)]


class _BoundsModel(_Wire):
    cpu_request_max: QuantityText | None = None
    cpu_limit_max: QuantityText | None = None
    memory_request_max: QuantityText | None = None
    memory_limit_max: QuantityText | None = None
    replicas_min: Replicas | None = None
    replicas_max: Replicas | None = None

    @model_validator(mode="after")
    def _ordered(self) -> _BoundsModel:
        low, high = self.replicas_min, self.replicas_max
        if low is not None and high is not None and low > high:
            raise ValueError(f"replicas_min ({low}) is above replicas_max ({high})")
        return self


class _OverrideModel(_Wire):
    paths: list[Annotated[str, Field(min_length=1)]] = []
    namespaces: list[Annotated[str, Field(min_length=1)]] = []
    rules: dict[RuleKey, RuleModel] = {}
    bounds: _BoundsModel = _BoundsModel()


class _ExternalModel(_Wire):
    kind: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    namespace: str | None = None


class _PoliciesModel(_Wire):
    rules: dict[RuleKey, RuleModel] = {}
    bounds: _BoundsModel = _BoundsModel()
    allowed_registries: list[Annotated[str, Field(min_length=1)]] | None = None
    overrides: list[_OverrideModel] = []
    externals: list[_ExternalModel] = []


# -- what the checks use (frozen dataclasses) ------------------------------------------


class InvalidPolicies(PilothouseError):
    """The policies file does not validate; ``details["problems"]`` has each field path."""

    code = "invalid_policies"


@dataclass(frozen=True)
class RuleSetting:
    enabled: bool | None = None
    severity: Severity | None = None


@dataclass(frozen=True)
class Bound:
    """One limit: its exact value, as written, and where (``overrides[0].bounds.cpu_limit_max``)."""

    value: Fraction
    text: str
    where: str


@dataclass(frozen=True)
class Bounds:
    """Per-container resource maxima (CPU in cores, memory in bytes) and replica limits."""

    cpu_request_max: Bound | None = None
    cpu_limit_max: Bound | None = None
    memory_request_max: Bound | None = None
    memory_limit_max: Bound | None = None
    replicas_min: Bound | None = None
    replicas_max: Bound | None = None

    def merged(self, other: Bounds) -> Bounds:
        """These bounds with every bound ``other`` sets replaced."""
        changes = {
            f.name: getattr(other, f.name)
            for f in dataclasses.fields(other)
            if getattr(other, f.name) is not None
        }
        return dataclasses.replace(self, **changes) if changes else self

    def __bool__(self) -> bool:
        return any(
            bound is not None
            for bound in (
                self.cpu_request_max,
                self.cpu_limit_max,
                self.memory_request_max,
                self.memory_limit_max,
                self.replicas_min,
                self.replicas_max,
            )
        )


@dataclass(frozen=True)
class Override:
    paths: tuple[str, ...]
    namespaces: tuple[str, ...]
    rules: Mapping[str, RuleSetting]
    bounds: Bounds
    where: str  # overrides[2]

    def matches(self, file: str, namespace: str) -> bool:
        if self.paths and not _any_glob(self.paths, file):
            return False
        return not self.namespaces or _any_glob(self.namespaces, namespace)


@dataclass(frozen=True)
class Policies:
    """Rule settings, bounds, registries and externals; ``Policies()`` is the default."""

    rules: Mapping[str, RuleSetting] = dataclasses.field(default_factory=dict)
    bounds: Bounds = Bounds()
    allowed_registries: tuple[str, ...] | None = None
    overrides: tuple[Override, ...] = ()
    externals: tuple[tuple[str, str | None, str], ...] = ()
    file: str = DEFAULT_FILE
    _bounds_cache: dict[tuple[str, str], Bounds] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _rule_cache: dict[tuple[str, str, str, str], tuple[RuleSetting, str]] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    # -- parameters, before the checks run ----------------------------------------------

    def bounds_for(self, file: str, namespace: str) -> Bounds:
        """The bounds for an object of ``file`` in ``namespace``, overrides applied."""
        found = self._bounds_cache.get((file, namespace))
        if found is None:
            found = self.bounds
            for override in self._layers(file, namespace):
                found = found.merged(override.bounds)
            self._bounds_cache[(file, namespace)] = found
        return found

    def registry_allowed(self, image: str) -> bool | None:
        """Whether ``image`` comes from an allowed registry; None when no list is configured.

        A pattern with a ``/`` is a glob over ``registry/repository`` (``ghcr.io/acme/*``;
        ``*`` crosses ``/``); one without is a registry host (``registry.example.com``).
        An empty list is the same as none, not a ban on every image.
        """
        if not self.allowed_registries:
            return None
        ref = parse_image(image)
        for pattern in self.allowed_registries:
            if "/" in pattern:
                if _glob(pattern).match(ref.name):
                    return True
            elif fnmatch.fnmatchcase(ref.registry, pattern.lower()):
                return True
        return False

    def externals_set(self) -> set[tuple[str, str | None, str]]:
        """``(kind, namespace or None, name)`` of objects that exist outside the repository."""
        return set(self.externals)

    def evidence(self, where: str, detail: str = "") -> Evidence:
        """A citation of one field of this policies file."""
        return Evidence("policy", self.file, f"{where}{': ' if detail else ''}{detail}")

    # -- filtering, after the checks ran -------------------------------------------------

    def setting(self, rule_id: str, category: str, file: str, namespace: str) -> RuleSetting:
        """The effective ``enabled`` and ``severity`` (None: the rule's own) of one rule."""
        return self._resolve(rule_id, category, file, namespace)[0]

    def apply(
        self, findings: Iterable[Finding], *, default_namespace: str = "default"
    ) -> list[Finding]:
        """``findings`` without disabled rules, with the severities the policies set.

        A finding without a namespace is in ``default_namespace`` for override matching.
        """
        kept: list[Finding] = []
        for finding in findings:
            resource = finding.resource
            namespace = (resource.namespace if resource else None) or default_namespace
            setting, origin = self._resolve(
                finding.rule_id, finding.category, finding.file, namespace
            )
            if setting.enabled is False:
                continue
            if setting.severity is not None and setting.severity != finding.severity:
                note = self.evidence(origin, f"severity {setting.severity}")
                kept.append(
                    dataclasses.replace(
                        finding, severity=setting.severity, evidence=(*finding.evidence, note)
                    )
                )
            else:
                kept.append(finding)
        return kept

    def _resolve(
        self, rule_id: str, category: str, file: str, namespace: str
    ) -> tuple[RuleSetting, str]:
        """The setting and where its severity comes from (``overrides[0].rules.image.unpinned``)."""
        key = (rule_id, category, file, namespace)
        found = self._rule_cache.get(key)
        if found is not None:
            return found
        enabled: bool | None = None
        severity: Severity | None = None
        origin = ""
        layers = [("rules", self.rules)]
        layers += [(f"{o.where}.rules", o.rules) for o in self._layers(file, namespace)]
        for where, rules in layers:
            by_rule, by_category = rules.get(rule_id), rules.get(category)
            for candidate in (by_rule, by_category):
                if candidate is not None and candidate.enabled is not None:
                    enabled = candidate.enabled
                    break
            for name, candidate in ((rule_id, by_rule), (category, by_category)):
                if candidate is not None and candidate.severity is not None:
                    severity, origin = candidate.severity, f"{where}.{name}"
                    break
        found = (RuleSetting(enabled, severity), origin)
        self._rule_cache[key] = found
        return found

    def unknown_rules(self, known_rule_ids: Iterable[str]) -> list[str]:
        """Rule keys naming neither a known rule id nor a category (likely typos)."""
        known = set(known_rule_ids) | set(CATEGORIES)
        keys = set(self.rules).union(*(o.rules for o in self.overrides))
        return sorted(keys - known)

    def _layers(self, file: str, namespace: str) -> list[Override]:
        return [o for o in self.overrides if o.matches(file, namespace)]


def _bounds(model: _BoundsModel, where: str) -> Bounds:
    values: dict[str, Bound] = {}
    for name in type(model).model_fields:
        raw = getattr(model, name)
        if raw is not None:
            values[name] = Bound(parse_quantity(raw), str(raw), f"{where}.{name}")
    return Bounds(**values)


def _rules(models: Mapping[str, _RuleModel]) -> dict[str, RuleSetting]:
    return {key: RuleSetting(m.enabled, m.severity) for key, m in models.items()}


_FIELDS_BY_PARENT: dict[str, type[BaseModel]] = {
    "": _PoliciesModel,
    "bounds": _BoundsModel,
    "overrides": _OverrideModel,
    "externals": _ExternalModel,
    "rules": _RuleModel,
}


def _message(error: Any) -> str:
    """Pydantic's message, said for a person editing YAML."""
    if error["type"] == "extra_forbidden":
        loc = [p for p in error["loc"][:-1] if isinstance(p, str)]
        # a rule key sits below "rules": (..., "rules", "<key>", "<field>")
        parent = "rules" if len(loc) >= 2 and loc[-2] == "rules" else (loc[-1] if loc else "")
        model = _FIELDS_BY_PARENT.get(parent)
        if model is not None:
            return f"unknown field; expected one of: {', '.join(model.model_fields)}"
        return "unknown field"
    return str(error["msg"]).removeprefix("Value error, ")


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            out += " (the key)"
        elif not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f"[{part!r}]"
        else:
            out += f".{part}" if out else part
    return out


def load_policies(data: Any, file: str = DEFAULT_FILE) -> Policies:
    """The policies of a parsed ``policies.yaml`` (None or ``{}``: defaults).

    Raises :class:`InvalidPolicies` listing every problem with its field path.
    """
    if data is None:
        return Policies(file=file)
    if not isinstance(data, dict):
        message = "must be a mapping of rules, bounds, allowed_registries, overrides, externals"
        raise InvalidPolicies(
            f"{file}: {message}",
            details={"file": file, "problems": [{"path": "", "loc": [], "message": message}]},
        )
    try:
        model = _PoliciesModel.model_validate(data)
    except ValidationError as e:
        problems = [
            {
                "path": _location(error["loc"]),
                "loc": list(error["loc"]),
                "message": _message(error),
            }
            for error in e.errors(include_url=False)
        ]
        text = "; ".join(f"{p['path'] or '(top level)'}: {p['message']}" for p in problems)
        raise InvalidPolicies(
            f"{file}: {text}", details={"file": file, "problems": problems}
        ) from e
    return Policies(
        rules=_rules(model.rules),
        bounds=_bounds(model.bounds, "bounds"),
        allowed_registries=tuple(model.allowed_registries)
        if model.allowed_registries is not None
        else None,
        overrides=tuple(
            Override(
                paths=tuple(o.paths),
                namespaces=tuple(o.namespaces),
                rules=_rules(o.rules),
                bounds=_bounds(o.bounds, f"overrides[{i}].bounds"),
                where=f"overrides[{i}]",
            )
            for i, o in enumerate(model.overrides)
        ),
        externals=tuple((e.kind, e.namespace or None, e.name) for e in model.externals),
        file=file,
    )


def load_valid_sections(
    data: Any, file: str = DEFAULT_FILE
) -> tuple[Policies, InvalidPolicies | None]:
    """The policies, keeping every top-level section that validates when others do not.

    A typo in ``bounds`` must not also throw away the ``externals`` (the references
    they satisfy would all turn into errors) or the rules a team switched off: the
    invalid sections are dropped, each reported, and the rest applies.
    """
    try:
        return load_policies(data, file), None
    except InvalidPolicies as e:
        invalid = {str(p["loc"][0]) if p["loc"] else "" for p in e.details["problems"]}
        if not isinstance(data, dict) or "" in invalid:
            return Policies(file=file), e
        valid = {key: value for key, value in data.items() if key not in invalid}
        try:
            return load_policies(valid, file), e
        except InvalidPolicies:  # sections that only fail together (none today)
            return Policies(file=file), e
