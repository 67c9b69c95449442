"""``schema.*`` and ``api.deprecated``: would the API server accept these objects at all?

A typo the API server silently drops (``replica: 3``) is the costliest kind of mistake
because nothing fails: the Deployment runs with one pod. So built-in kinds are checked
against the *strict* schemas bundled by ``kubernetes-validate`` (every object closed by
``additionalProperties: false``), one directory per Kubernetes minor version, and the
target version is a constructor argument: an API removed in 1.25 is an error only
for a cluster that is 1.25 or newer.

Speed comes from doing the expensive work once per process. A version's
``_definitions.json`` (1.8 MB, every shared type) is parsed once into one
:class:`jsonschema_rs.Registry`; each kind's schema refers into it by absolute URI and
is compiled lazily, once per (version, apiVersion, kind), into a module-level cache
guarded by a lock. Validation itself runs in Rust on the manifest's own dict: no JSON
round trip, and ``is_valid`` short-circuits the common case before errors are walked.

CustomResourceDefinitions in the repository make their kinds known. Their
``openAPIV3Schema`` (OpenAPI 3.0, Kubernetes dialect) is translated to JSON Schema
2020-12 before compiling: ``nullable`` and the API server's pruning of nulls allow
``null`` everywhere, ``x-kubernetes-int-or-string`` becomes a type union, and objects
that declare ``properties`` are closed unless ``x-kubernetes-preserve-unknown-fields``
keeps them open. Unknown fields in custom resources are warnings: the API server prunes
them instead of rejecting the object.

Error cascades are folded before they become findings: a failed ``oneOf``/``anyOf``
(``IntOrString``, ``Quantity``) is reported as one type error, or through its most
specific branch, and one message is kept per JSON path.
"""

from __future__ import annotations

import base64
import datetime
import difflib
import functools
import hashlib
import importlib.util
import json
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema_rs

from pilothouse.agents.validator.model import Corpus, Finding, Manifest, RuleInfo, Severity

__all__ = [
    "DEPRECATIONS",
    "RULES",
    "Deprecation",
    "SchemaCheck",
    "available_versions",
    "builtin_validator",
    "normalize_version",
]

RULES = (
    RuleInfo(
        "schema-unknown-field",
        "schema.unknown-field",
        "error",
        "a field the kind's schema does not define (a typo, or the wrong level)",
    ),
    RuleInfo(
        "crd-unknown-field",
        "schema.unknown-field",
        "warning",
        "a field a repository CRD's schema does not define (the API server prunes it)",
    ),
    RuleInfo(
        "schema-invalid",
        "schema.invalid",
        "error",
        "a value of the wrong type or shape, a missing required field, no apiVersion/kind",
    ),
    RuleInfo(
        "crd-schema-unsupported",
        "schema.invalid",
        "info",
        "a CRD's openAPIV3Schema could not be compiled; its custom resources are unchecked",
    ),
    RuleInfo(
        "schema-unknown-kind",
        "schema.unknown-kind",
        "warning",
        "an apiVersion/kind with no bundled schema and no CRD in the repository "
        "(an error in a built-in API group, or in a version the repository's CRD does not serve)",
    ),
    RuleInfo(
        "api-removed",
        "api.deprecated",
        "error",
        "an API version the target Kubernetes version no longer serves",
    ),
    RuleInfo(
        "api-deprecated",
        "api.deprecated",
        "warning",
        "an API version that is deprecated (still served) in the target Kubernetes version",
    ),
)

Version = tuple[int, int]


@dataclass(frozen=True)
class Deprecation:
    """One API version that Kubernetes deprecated and (usually) removed."""

    api_version: str
    kinds: frozenset[str]  # empty: every kind of the API version
    deprecated_in: Version
    removed_in: Version | None  # None: deprecated, no removal scheduled
    replacement: str


# api version, kinds ("*": all), deprecated in, removed in ("-": not scheduled), replacement
_TABLE = """
extensions/v1beta1                   Deployment,DaemonSet,ReplicaSet 1.9  1.16 apps/v1
extensions/v1beta1                   NetworkPolicy                   1.9  1.16 networking.k8s.io/v1
extensions/v1beta1                   PodSecurityPolicy               1.11 1.16 {psa}
extensions/v1beta1                   Ingress                         1.14 1.22 networking.k8s.io/v1
apps/v1beta1                         *                               1.9  1.16 apps/v1
apps/v1beta2                         *                               1.9  1.16 apps/v1
networking.k8s.io/v1beta1            Ingress,IngressClass            1.19 1.22 networking.k8s.io/v1
policy/v1beta1                       PodDisruptionBudget             1.21 1.25 policy/v1
policy/v1beta1                       PodSecurityPolicy               1.21 1.25 {psa}
batch/v1beta1                        CronJob                         1.21 1.25 batch/v1
autoscaling/v2beta1                  HorizontalPodAutoscaler         1.22 1.25 autoscaling/v2
autoscaling/v2beta2                  HorizontalPodAutoscaler         1.23 1.26 autoscaling/v2
rbac.authorization.k8s.io/v1alpha1   *                               1.17 1.22 {rbac}
rbac.authorization.k8s.io/v1beta1    *                               1.17 1.22 {rbac}
storage.k8s.io/v1beta1               CSIDriver,CSINode               1.19 1.22 storage.k8s.io/v1
storage.k8s.io/v1beta1               StorageClass,VolumeAttachment   1.19 1.22 storage.k8s.io/v1
storage.k8s.io/v1beta1               CSIStorageCapacity              1.24 1.27 storage.k8s.io/v1
flowcontrol.apiserver.k8s.io/v1beta1 {flow}                          1.23 1.26 {flowv1}
flowcontrol.apiserver.k8s.io/v1beta2 {flow}                          1.26 1.29 {flowv1}
flowcontrol.apiserver.k8s.io/v1beta3 {flow}                          1.29 1.32 {flowv1}
admissionregistration.k8s.io/v1beta1 {webhooks}                      1.16 1.22 {admission}
apiextensions.k8s.io/v1beta1         CustomResourceDefinition        1.16 1.22 {crd}
apiregistration.k8s.io/v1beta1       APIService                      1.19 1.22 {apiservice}
certificates.k8s.io/v1beta1          CertificateSigningRequest       1.19 1.22 {csr}
coordination.k8s.io/v1beta1          Lease                           1.19 1.22 {lease}
discovery.k8s.io/v1beta1             EndpointSlice                   1.21 1.25 discovery.k8s.io/v1
events.k8s.io/v1beta1                Event                           1.22 1.25 events.k8s.io/v1
node.k8s.io/v1beta1                  RuntimeClass                    1.22 1.25 node.k8s.io/v1
scheduling.k8s.io/v1alpha1           PriorityClass                   1.14 1.17 scheduling.k8s.io/v1
scheduling.k8s.io/v1beta1            PriorityClass                   1.14 1.22 scheduling.k8s.io/v1
v1                                   Endpoints                       1.33 -    {slices}
""".format(
    psa="Pod Security Admission (pod-security.kubernetes.io/* namespace labels)",
    rbac="rbac.authorization.k8s.io/v1",
    flow="FlowSchema,PriorityLevelConfiguration",
    flowv1="flowcontrol.apiserver.k8s.io/v1",
    webhooks="MutatingWebhookConfiguration,ValidatingWebhookConfiguration",
    admission="admissionregistration.k8s.io/v1",
    crd="apiextensions.k8s.io/v1",
    apiservice="apiregistration.k8s.io/v1",
    csr="certificates.k8s.io/v1",
    lease="coordination.k8s.io/v1",
    slices="discovery.k8s.io/v1 EndpointSlice",
)


def _minor(text: str) -> Version | None:
    if text == "-":
        return None
    major, minor = text.split(".")
    return int(major), int(minor)


def _parse(table: str) -> Iterator[Deprecation]:
    for row in table.strip().splitlines():
        api, kinds, deprecated, removed, replacement = row.split(maxsplit=4)
        names = frozenset(kinds.split(",")) - {"", "*"}
        since = _minor(deprecated) or (0, 0)
        yield Deprecation(api, names, since, _minor(removed), replacement)


DEPRECATIONS: tuple[Deprecation, ...] = tuple(_parse(_TABLE))
"""Well-known deprecations (kubernetes.io/docs/reference/using-api/deprecation-guide)."""

_DEPRECATED: dict[tuple[str, str], Deprecation] = {
    (d.api_version, kind): d for d in DEPRECATIONS for kind in d.kinds or ("*",)
}

# --- bundled schemas -------------------------------------------------------------------

_DIRECTORY = re.compile(r"v(\d+)\.(\d+)\.0-local-strict")
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.\d+)?")
_OBJECT_META = "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_LOCK = threading.RLock()
_CRD_CACHE_SIZE = 256


@dataclass
class _Bundle:
    """One Kubernetes version's schemas: the shared registry and what kinds exist."""

    version: str
    directory: Path
    definitions_uri: str
    registry: jsonschema_rs.Registry
    kinds: dict[tuple[str, str, str], str]  # (group, version, kind) -> file name
    documents: dict[str, Any]  # base URI -> schema document, to find allowed properties


_BUNDLES: dict[str, _Bundle] = {}
_VALIDATORS: dict[tuple[str, str, str], jsonschema_rs.Validator] = {}
_CRD_VALIDATORS: dict[tuple[str, str], tuple[jsonschema_rs.Validator, dict[str, Any]] | str] = {}


def _schema_root() -> Path:
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("kubernetes-validate is not installed: no bundled Kubernetes schemas")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


@functools.cache
def available_versions() -> tuple[str, ...]:
    """The Kubernetes minor versions with bundled strict schemas, oldest first."""
    found = []
    for entry in os.listdir(_schema_root()):
        if match := _DIRECTORY.fullmatch(entry):
            found.append((int(match[1]), int(match[2])))
    return tuple(f"{major}.{minor}" for major, minor in sorted(found))


def normalize_version(version: str | None) -> str:
    """``"1.30"``, ``"v1.30.0"`` → ``"1.30"``; None → the newest bundled.

    Raises ValueError for a version without bundled schemas.
    """
    available = available_versions()
    if version is None:
        if not available:
            raise ValueError("kubernetes-validate bundles no schemas")
        return available[-1]
    match = _VERSION.fullmatch(version.strip())
    wanted = f"{match[1]}.{match[2]}" if match else version
    if wanted not in available:
        raise ValueError(
            f"no bundled schemas for Kubernetes {version!r}; available: {', '.join(available)}"
        )
    return wanted


def _split(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _bundle(version: str) -> _Bundle:
    bundle = _BUNDLES.get(version)
    if bundle is None:
        with _LOCK:
            bundle = _BUNDLES.get(version)
            if bundle is None:
                bundle = _BUNDLES[version] = _load_bundle(version)
    return bundle


def _load_bundle(version: str) -> _Bundle:
    directory = _schema_root() / f"v{version}.0-local-strict"
    definitions = json.loads((directory / "_definitions.json").read_text("utf-8"))
    files = set(os.listdir(directory))
    kinds: dict[tuple[str, str, str], str] = {}
    # The definitions name each kind's exact group, so networking.istio.io/v1 Gateway is
    # not mistaken for a networking.k8s.io kind (file names keep only "networking").
    for body in definitions["$defs"].values():
        for gvk in body.get("x-kubernetes-group-version-kind", ()):
            group, ver, kind = gvk["group"], gvk["version"], gvk["kind"]
            prefix = f"{group.split('.')[0]}-" if group else ""
            name = f"{kind.lower()}-{prefix}{ver}.json"
            if name in files:
                kinds[(group, ver, kind)] = name
    uri = str(definitions["$id"])
    registry = jsonschema_rs.Registry([(uri, definitions)])
    return _Bundle(version, directory, uri, registry, kinds, {uri: definitions})


def _builtin(version: str, group: str, api: str, kind: str) -> jsonschema_rs.Validator | None:
    key = (version, f"{group}/{api}" if group else api, kind)
    validator = _VALIDATORS.get(key)
    if validator is not None:
        return validator
    bundle = _bundle(version)
    name = bundle.kinds.get((group, api, kind))
    if name is None:
        return None
    with _LOCK:
        validator = _VALIDATORS.get(key)
        if validator is None:
            schema = json.loads((bundle.directory / name).read_text("utf-8"))
            bundle.documents[str(schema["$id"])] = schema
            validator = jsonschema_rs.validator_for(schema, registry=bundle.registry)
            _VALIDATORS[key] = validator
    return validator


def builtin_validator(
    kubernetes_version: str | None, api_version: str, kind: str
) -> jsonschema_rs.Validator | None:
    """The compiled (and cached) strict validator of a built-in kind, None if there is none.

    Raises ValueError for a Kubernetes version without bundled schemas.
    """
    group, api = _split(api_version)
    return _builtin(normalize_version(kubernetes_version), group, api, kind)


# --- CRDs ------------------------------------------------------------------------------

_KEPT = frozenset(
    [
        "required",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "multipleOf",
    ]
)


def _structural(node: Any, *, closed: bool = True) -> dict[str, Any]:
    """A CRD's OpenAPI 3.0 schema node as JSON Schema 2020-12 (see the module docstring)."""
    if not isinstance(node, dict):
        return {}
    out: dict[str, Any] = {key: node[key] for key in _KEPT if key in node}
    for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        # OpenAPI 3.0 (draft 4): exclusiveMinimum is a flag on minimum
        if isinstance(out.get(flag), bool) and out.pop(flag) and bound in out:
            out[flag] = out.pop(bound)
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string", "null"]
    elif isinstance(node.get("type"), str):
        out["type"] = [node["type"], "null"]
    if isinstance(node.get("enum"), list):
        out["enum"] = [*node["enum"], None]
    properties = node.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {str(k): _structural(v, closed=closed) for k, v in properties.items()}
    additional = node.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = _structural(additional, closed=closed)
    elif isinstance(additional, bool):
        out["additionalProperties"] = additional
    elif closed and "properties" in out and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if node.get("x-kubernetes-embedded-resource") and "properties" in out:
        for key in ("apiVersion", "kind", "metadata"):
            out["properties"].setdefault(key, {})
    if isinstance(node.get("items"), dict):
        out["items"] = _structural(node["items"], closed=closed)
    # Value validations only: their "properties" restate the outer ones, never close objects.
    for combinator in ("allOf", "anyOf", "oneOf"):
        if isinstance(node.get(combinator), list):
            out[combinator] = [_structural(s, closed=False) for s in node[combinator]]
    if isinstance(node.get("not"), dict):
        out["not"] = _structural(node["not"], closed=False)
    return out


def _crd_schema(openapi: dict[str, Any], definitions_uri: str, uri: str) -> dict[str, Any]:
    schema = _structural(openapi)
    if "properties" in schema:
        schema["properties"].update(
            apiVersion={"type": "string"},
            kind={"type": "string"},
            metadata={"$ref": definitions_uri + _OBJECT_META},
        )
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": uri, **schema}


def _crd_validator(
    bundle: _Bundle, group: str, version: str, kind: str, openapi: dict[str, Any]
) -> tuple[jsonschema_rs.Validator, dict[str, Any]] | str:
    """Compiled once per (Kubernetes version, schema content); a str is why it failed."""
    digest = hashlib.sha256(
        json.dumps(openapi, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()[:16]
    key = (bundle.version, f"{group}/{version}/{kind}/{digest}")
    found = _CRD_VALIDATORS.get(key)
    if found is not None:
        return found
    with _LOCK:
        found = _CRD_VALIDATORS.get(key)
        if found is None:
            uri = f"https://pilothouse.invalid/crd/{group}/{version}/{kind}/{digest}"
            schema = _crd_schema(openapi, bundle.definitions_uri, uri)
            try:
                validator = jsonschema_rs.validator_for(schema, registry=bundle.registry)
                found = (validator, {uri: schema})
            except ValueError as e:  # an invalid pattern, a malformed keyword
                found = str(e).splitlines()[0]
            if len(_CRD_VALIDATORS) >= _CRD_CACHE_SIZE:
                del _CRD_VALIDATORS[next(iter(_CRD_VALIDATORS))]
            _CRD_VALIDATORS[key] = found
    return found


@dataclass(frozen=True)
class _CrdVersion:
    crd: Manifest
    index: int  # in spec.versions
    served: bool
    deprecated: bool
    warning: str
    schema: dict[str, Any] | None


def _crds(corpus: Corpus) -> dict[tuple[str, str], dict[str, _CrdVersion]]:
    """(group, kind) → version name → what the repository's CRDs say about it."""
    found: dict[tuple[str, str], dict[str, _CrdVersion]] = {}
    for m in corpus.objects("CustomResourceDefinition"):
        if not m.api_version.startswith("apiextensions.k8s.io/"):
            continue
        spec = m.body.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("names"), dict):
            continue
        group, kind = str(spec.get("group") or ""), str(spec["names"].get("kind") or "")
        versions = found.setdefault((group, kind), {})
        shared = spec.get("validation") if isinstance(spec.get("validation"), dict) else {}
        entries: list[Any] = spec["versions"] if isinstance(spec.get("versions"), list) else []
        if not entries and spec.get("version"):  # apiextensions.k8s.io/v1beta1
            entries = [{"name": spec["version"], "served": True}]
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not entry.get("name"):
                continue
            holder = entry.get("schema") if isinstance(entry.get("schema"), dict) else shared
            schema = holder.get("openAPIV3Schema") if isinstance(holder, dict) else None
            versions[str(entry["name"])] = _CrdVersion(
                m,
                i,
                bool(entry.get("served", True)),
                bool(entry.get("deprecated")),
                str(entry.get("deprecationWarning") or ""),
                schema if isinstance(schema, dict) and m.api_version.endswith("/v1") else None,
            )
    return found


# --- errors → findings -----------------------------------------------------------------

_KINDS = jsonschema_rs.ValidationErrorKind
_ARTICLE = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "a boolean",
    "object": "a mapping",
    "array": "a list",
}
_NUMBERISH = re.compile(r"-?\d+(\.\d+)?|true|false|True|False")


@dataclass(frozen=True)
class _Target:
    """What one manifest is validated against, and how its findings are labelled."""

    validator: jsonschema_rs.Validator
    documents: tuple[Mapping[str, Any], ...]
    unknown_rule: str
    unknown_severity: Severity


def _jsonable(value: Any) -> Any:
    """YAML-only values as the API server would receive them (kubectl sends JSON)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _errors(validator: jsonschema_rs.Validator, body: Any) -> list[jsonschema_rs.ValidationError]:
    try:
        return [] if validator.is_valid(body) else list(validator.iter_errors(body))
    except ValueError:  # a YAML timestamp, binary or non-string key jsonschema-rs cannot take
        clean = _jsonable(body)
        return [] if validator.is_valid(clean) else list(validator.iter_errors(clean))


def _json_path(parts: Iterable[str | int]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _depth(branch: list[jsonschema_rs.ValidationError]) -> int:
    return max((len(e.instance_path) for e in branch), default=0)


def _flatten(error: jsonschema_rs.ValidationError) -> Iterator[jsonschema_rs.ValidationError]:
    """The errors worth reporting: one per failed ``oneOf``/``anyOf``, not a tree."""
    kind = error.kind
    if isinstance(kind, _KINDS.OneOfMultipleValid):
        if error.instance is not None:  # null matches both halves of IntOrString: fine
            yield error
    elif isinstance(kind, _KINDS.OneOfNotValid | _KINDS.AnyOf):
        branches = [b for b in kind.context if b]
        if not branches or all(
            isinstance(e.kind, _KINDS.Type) and e.instance_path == error.instance_path
            for b in branches
            for e in b
        ):
            yield error  # reported as one type error: "a string or an integer"
        else:
            best = max(branches, key=lambda b: (_depth(b), -len(b)))
            for inner in best:
                yield from _flatten(inner)
    else:
        yield error


def _expected(error: jsonschema_rs.ValidationError) -> list[str]:
    kind = error.kind
    if isinstance(kind, _KINDS.Type):
        types = list(kind.types)
    elif isinstance(kind, _KINDS.OneOfNotValid | _KINDS.AnyOf):
        types = [
            t
            for b in kind.context
            for e in b
            if isinstance(e.kind, _KINDS.Type)
            for t in e.kind.types
        ]
    else:
        return []
    return [t for t in dict.fromkeys(types) if t != "null"]


def _got(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {json.dumps(shown)}"
    return "a list" if isinstance(value, list) else "a mapping"


def _allowed(target: _Target, error: jsonschema_rs.ValidationError) -> list[str]:
    """The properties the failing schema object defines, found from the keyword's URI."""
    uri, _, pointer = (error.absolute_keyword_location or "").partition("#")
    node: Any = next((d[uri] for d in target.documents if uri in d), None)
    for token in unquote(pointer).split("/")[1:-1]:
        part = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return []
    properties = node.get("properties") if isinstance(node, dict) else None
    return list(properties) if isinstance(properties, dict) else []


def _findings(m: Manifest, target: _Target, body: Any) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for raw in _errors(target.validator, body):
        for error in _flatten(raw):
            path = _json_path(error.instance_path)
            where = m.kind + path[1:]
            kind = error.kind
            if isinstance(kind, _KINDS.AdditionalProperties | _KINDS.UnevaluatedProperties):
                allowed = _allowed(target, error)
                for name in kind.unexpected:
                    field_path = f"{path}.{name}"
                    if (field_path, "unknown") in seen:
                        continue
                    seen.add((field_path, "unknown"))
                    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
                    guess = f" — did you mean {close[0]!r}?" if close else ""
                    yield m.finding(
                        "schema.unknown-field",
                        target.unknown_rule,
                        target.unknown_severity,
                        f"unknown field {name!r} in {where}{guess}",
                        path=field_path,
                        hint=f"Rename it to {close[0]!r}"
                        if close
                        else "Check the spelling and the indentation (it may belong one level up)",
                    )
                continue
            hint = ""
            if expected := _expected(error):
                wanted = " or ".join(_ARTICLE.get(t, t) for t in expected)
                message = f"{where} must be {wanted}, not {_got(error.instance)}"
                scalar = {"integer", "number", "boolean"} & set(expected)
                if (
                    scalar
                    and isinstance(error.instance, str)
                    and _NUMBERISH.fullmatch(error.instance)
                ):
                    hint = "Remove the quotes: YAML quotes make a string"
                elif "string" in expected and isinstance(error.instance, int | float | bool):
                    hint = "Quote the value: YAML reads it as a number or boolean"
            elif isinstance(kind, _KINDS.Required):
                message = f"{where} is missing the required field {kind.property!r}"
            elif isinstance(kind, _KINDS.Enum):
                options = ", ".join(json.dumps(o) for o in kind.options if o is not None)
                message = f"{where} must be one of {options}, not {_got(error.instance)}"
            else:
                message = f"{where}: {error.message}"
            if (path, message) not in seen:
                seen.add((path, message))
                yield m.finding(
                    "schema.invalid", "schema-invalid", "error", message, path=path, hint=hint
                )


@dataclass
class _Run:
    """What one run of the check knows about the corpus as a whole."""

    bundle: _Bundle
    crds: dict[tuple[str, str], dict[str, _CrdVersion]]
    external_groups: set[str]  # groups of CRDs declared as existing outside the repository
    compiled: dict[int, tuple[jsonschema_rs.Validator, dict[str, Any]] | str] = field(
        default_factory=dict
    )  # by id() of the CRD version's schema: hashed once per run, not once per resource
    unusable: set[int] = field(default_factory=set)  # CRD versions already reported


# --- the check -------------------------------------------------------------------------


class SchemaCheck:
    """Strict schemas for built-in kinds, repository CRDs for custom ones, API removals."""

    rules: tuple[RuleInfo, ...] = RULES

    def __init__(self, kubernetes_version: str | None = None) -> None:
        """Raises ValueError for a Kubernetes version without bundled schemas."""
        self.kubernetes_version = normalize_version(kubernetes_version)
        major, minor = self.kubernetes_version.split(".")
        self._target: Version = (int(major), int(minor))

    def run(self, corpus: Corpus) -> Iterator[Finding]:
        state = _Run(
            _bundle(self.kubernetes_version),
            _crds(corpus),
            {
                name.split(".", 1)[1]
                for kind, _, name in corpus.externals
                if kind == "CustomResourceDefinition" and "." in name
            },
        )
        for m in corpus.manifests:
            yield from self._object(m, state)

    def _object(self, m: Manifest, state: _Run) -> Iterator[Finding]:
        api_version, kind = m.api_version, m.kind
        if not api_version or not kind:
            missing = " and ".join(
                n for n, v in (("apiVersion", api_version), ("kind", kind)) if not v
            )
            yield m.finding(
                "schema.invalid",
                "schema-invalid",
                "error",
                f"the document has no {missing}, so it is not a Kubernetes object",
                path="$",
            )
            return
        if api_version == "v1" and kind == "List":  # a List's items are loaded as objects
            yield m.finding(
                "schema.invalid",
                "schema-invalid",
                "error",
                "a v1 List needs an items: list; kubectl applies nothing from this one",
                path="$.items",
            )
            return
        deprecation = _DEPRECATED.get((api_version, kind)) or _DEPRECATED.get((api_version, "*"))
        if deprecation is not None and self._target >= deprecation.deprecated_in:
            if deprecation.removed_in is not None and self._target >= deprecation.removed_in:
                yield self._removed(m, deprecation)
                return
            yield self._deprecated(m, deprecation)
        group, version = _split(api_version)
        validator = _builtin(self.kubernetes_version, group, version, kind)
        if validator is not None:
            target = _Target(validator, (state.bundle.documents,), "schema-unknown-field", "error")
            yield from _findings(m, target, m.body)
            return
        defined = state.crds.get((group, kind))
        served = defined.get(version) if defined else None
        if served is not None and served.served:
            yield from self._custom(m, state, served)
        elif group not in state.external_groups:
            yield self._unknown(m, state.bundle, defined)

    def _removed(self, m: Manifest, d: Deprecation) -> Finding:
        removed = ".".join(map(str, d.removed_in or ()))
        return m.finding(
            "api.deprecated",
            "api-removed",
            "error",
            f"{d.api_version} {m.kind} was removed in Kubernetes {removed} "
            f"(target {self.kubernetes_version}); use {d.replacement}",
            path="$.apiVersion",
            hint=f"Move to {d.replacement}; some fields changed, see the deprecation guide",
        )

    def _deprecated(self, m: Manifest, d: Deprecation) -> Finding:
        since = ".".join(map(str, d.deprecated_in))
        removal = f", removed in {'.'.join(map(str, d.removed_in))}" if d.removed_in else ""
        return m.finding(
            "api.deprecated",
            "api-deprecated",
            "warning",
            f"{d.api_version} {m.kind} is deprecated since Kubernetes {since}{removal}; "
            f"use {d.replacement}",
            path="$.apiVersion",
        )

    def _custom(self, m: Manifest, state: _Run, v: _CrdVersion) -> Iterator[Finding]:
        if v.deprecated:
            why = v.warning or f"{m.api_version} {m.kind} is deprecated by its CRD"
            yield m.finding(
                "api.deprecated",
                "api-deprecated",
                "warning",
                why,
                path="$.apiVersion",
            )
        if v.schema is None:
            return
        group, version = _split(m.api_version)
        compiled = state.compiled.get(id(v.schema))
        if compiled is None:
            compiled = _crd_validator(state.bundle, group, version, m.kind, v.schema)
            state.compiled[id(v.schema)] = compiled
        if isinstance(compiled, str):
            if id(v.schema) not in state.unusable:
                state.unusable.add(id(v.schema))
                yield v.crd.finding(
                    "schema.invalid",
                    "crd-schema-unsupported",
                    "info",
                    f"the {version} schema of {m.kind} could not be compiled ({compiled}); "
                    "its custom resources are not validated",
                    path=f"$.spec.versions[{v.index}].schema.openAPIV3Schema",
                )
            return
        validator, documents = compiled
        target = _Target(
            validator, (documents, state.bundle.documents), "crd-unknown-field", "warning"
        )
        yield from _findings(m, target, m.body)

    def _unknown(
        self, m: Manifest, bundle: _Bundle, defined: dict[str, _CrdVersion] | None
    ) -> Finding:
        where = f"Kubernetes {self.kubernetes_version}"
        group, _ = _split(m.api_version)
        # An error when nothing could make the object exist: the repository's own CRD
        # does not serve this version, or the group is built in (no CRD may add kinds
        # to apps, batch, ... — a CRD's group needs a dot and k8s.io needs approval).
        # Otherwise a CRD installed in the cluster may well define it: a warning.
        impossible = bool(defined) or any(g == group for g, _, _ in bundle.kinds)
        path = "$.apiVersion"
        if defined:
            served = sorted(name for name, v in defined.items() if v.served)
            message = (
                f"{m.api_version} {m.kind}: its CustomResourceDefinition does not serve "
                f"{_split(m.api_version)[1]} (served: {', '.join(served) or 'none'})"
            )
            hint = "Use a served version, or add this one to the CRD"
        else:
            message = f"unknown kind {m.api_version} {m.kind}: no schema in {where}"
            hint = "Add its CustomResourceDefinition to the repository, or check the spelling"
            elsewhere = sorted(f"{g}/{v}" if g else v for g, v, k in bundle.kinds if k == m.kind)
            kinds = sorted({k for g, _, k in bundle.kinds if g == group})
            close = difflib.get_close_matches(m.kind, kinds, n=1, cutoff=0.75)
            if elsewhere:
                message += f" — {m.kind} is served as {', '.join(elsewhere)}"
                stable = [a for a in elsewhere if re.search(r"(^|/)v\d+$", a)]
                hint = f"Set apiVersion to {(stable or elsewhere)[-1]}"
            elif close:
                message += f" — did you mean {close[0]!r}?"
                hint = f"Set kind to {close[0]}"
                path = "$.kind"
            else:
                message += " and no CustomResourceDefinition in the repository defines it"
                path = "$.kind"
        return m.finding(
            "schema.unknown-kind",
            "schema-unknown-kind",
            "error" if impossible else "warning",
            message,
            path=path,
            hint=hint,
        )
