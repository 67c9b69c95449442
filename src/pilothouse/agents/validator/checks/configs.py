"""``config.*``: what ``configs/`` says against what the manifests deploy.

Teams keep configuration in their own shapes, so nothing here expects a schema.
Configuration is related to workloads by *name*: any mapping key, or any ``name:``/
``app:`` value, equal to a workload's name or its ``app`` label marks the subtree
below it as that app's configuration. Inside it, version-like values under keys that
say what they are (``version``, ``tag``, ``image_tag``, ``model_version``, …) are
compared with what the workload deploys: the image tag for image-ish keys, and the
value of the env var of the same name (``model_version`` ↔ ``MODEL_VERSION``) for
the rest. A disagreement is an **error** when both sides name the same key (the
manifest would deploy a different model than configured), a **warning** when only
the image tag can be compared.

``config.artifact-missing``: values anywhere in any object (a workload's env, an
``InferenceService``'s model URI) that point at a workspace artifact
(``pilothouse://<workspace>/<path>`` or ``workspace:/<path>``) must exist; the
caller supplies the lookup (the standalone CLI has none and skips the rule).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pilothouse.agents.validator.model import Corpus, Evidence, Finding, Manifest, RuleInfo
from pilothouse.agents.validator.policies import DEFAULT_FILE as POLICIES_FILE
from pilothouse.agents.validator.workloads import app_names, pod_template

VERSION = re.compile(r"^v?\d+(\.\d+){0,3}([-+.][0-9A-Za-z.-]+)?$")
VERSION_KEY = re.compile(r"(^|_)(version|tag|revision|release)$", re.IGNORECASE)
IMAGE_KEYS = frozenset({"version", "tag", "image_tag", "imagetag", "image_version"})
ARTIFACT = re.compile(r"^(?:pilothouse://[^/\s]+|workspace:)(/[^\s]*)$")
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")

RULES = (
    RuleInfo("config-env-mismatch", "config.mismatch", "error", "configs/ and an env var disagree"),
    RuleInfo(
        "config-image-mismatch", "config.mismatch", "warning", "configs/ version vs image tag"
    ),
    RuleInfo(
        "config-artifact-missing",
        "config.artifact-missing",
        "error",
        "a manifest references a workspace artifact that does not exist",
    ),
)


def _containers(m: Manifest) -> Iterator[tuple[dict[str, Any], str]]:
    template = pod_template(m)
    return template.containers() if template else iter(())


def _app_sections(
    value: Any, names: set[str], trail: str = ""
) -> Iterator[tuple[dict[str, Any], str]]:
    """Every mapping in a config that belongs to one of ``names``, with its dotted path."""
    if isinstance(value, dict):
        own = value.get("name") or value.get("app")
        if isinstance(own, str) and own in names:
            yield value, trail
        for key, child in value.items():
            where = f"{trail}.{key}" if trail else str(key)
            if str(key) in names and isinstance(child, dict):
                yield child, where
            else:
                yield from _app_sections(child, names, where)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _app_sections(child, names, f"{trail}[{i}]")


def _versions(section: dict[str, Any], trail: str) -> Iterator[tuple[str, str, str]]:
    """(key, value, path) for version-like values under version-ish keys."""
    for key, value in section.items():
        where = f"{trail}.{key}" if trail else str(key)
        if isinstance(value, dict):
            yield from _versions(value, where)
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            text = str(value)
            if VERSION_KEY.search(str(key)) and VERSION.match(text):
                yield str(key), text, where


def _tag(image: str) -> str | None:
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def _norm(version: str) -> str:
    return version.lstrip("vV")


class ConfigCheck:
    rules: tuple[RuleInfo, ...] = RULES

    def __init__(self, artifact_exists: Callable[[str], bool] | None = None) -> None:
        self.artifact_exists = artifact_exists

    def run(self, corpus: Corpus) -> Iterator[Finding]:
        workloads = list(corpus.objects(*WORKLOADS))
        for m in workloads:
            names = app_names(m)
            for config_file, data in corpus.config_files.items():
                if config_file == POLICIES_FILE:
                    continue
                for section, trail in _app_sections(data, names):
                    yield from self._compare(m, config_file, section, trail)
        if self.artifact_exists is not None:  # any object: custom resources serve models too
            for m in corpus.manifests:
                yield from self._artifacts(m)

    def _compare(
        self, m: Manifest, config_file: str, section: dict[str, Any], trail: str
    ) -> Iterator[Finding]:
        env: dict[str, tuple[str, str]] = {}
        tags: list[tuple[str, str]] = []
        for container, path in _containers(m):
            image = container.get("image")
            if isinstance(image, str) and _tag(image):
                tags.append((str(_tag(image)), f"{path}.image"))
            for i, var in enumerate(container.get("env") or []):
                if isinstance(var, dict) and isinstance(var.get("value"), (str, int, float)):
                    env[str(var.get("name", "")).upper()] = (str(var["value"]), f"{path}.env[{i}]")
        for key, wanted, where in _versions(section, trail):
            cited = Evidence("file", config_file, f"{where} = {wanted}")
            env_key = key.upper()
            if env_key in env:
                actual, path = env[env_key]
                if _norm(actual) != _norm(wanted):
                    yield m.finding(
                        "config.mismatch",
                        "config-env-mismatch",
                        "error",
                        f"{config_file} says {key} {wanted} for {m.name}, "
                        f"but the manifest sets {env_key}={actual}",
                        path=f"{path}.value",
                        hint=f"Change {env_key} to {wanted}, or update {config_file}",
                        evidence=[cited],
                    )
            elif (
                key.lower() in IMAGE_KEYS
                and tags
                and all(_norm(t) != _norm(wanted) for t, _ in tags)
            ):
                tag, path = tags[0]
                yield m.finding(
                    "config.mismatch",
                    "config-image-mismatch",
                    "warning",
                    f"{config_file} says {key} {wanted} for {m.name}, "
                    f"but the image is tagged {tag}",
                    path=path,
                    hint=f"Deploy the image tagged {wanted}, or update {config_file}",
                    evidence=[cited],
                )

    def _artifacts(self, m: Manifest) -> Iterator[Finding]:
        assert self.artifact_exists is not None
        for path, value in _strings(m.body, "$"):
            match = ARTIFACT.match(value)
            if match and not self.artifact_exists(match.group(1)):
                yield m.finding(
                    "config.artifact-missing",
                    "config-artifact-missing",
                    "error",
                    f"{m.kind} {m.name} references {value}, which is not in the workspace",
                    path=path,
                    hint="Upload the artifact first, or fix the path",
                )


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _strings(child, f"{path}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _strings(child, f"{path}[{i}]")
