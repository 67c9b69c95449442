"""Image references, normalised the way Docker normalises them.

``nginx``, ``library/nginx:latest`` and ``docker.io/library/nginx:latest`` name the
same image, and a manifest may use any of them. Checking an image, caching the
answer and deduplicating a batch all need the one canonical form, so
:func:`parse_image` applies Docker's rules (``distribution/reference``'s
``ParseNormalizedNamed``) instead of inventing its own; a reference Docker would
refuse is refused here too, with the reason.

The rules, in order:

- The first path component is a registry host if it contains ``.`` or ``:``, is
  ``localhost``, or has an upper-case letter (a repository cannot); otherwise the
  registry is ``docker.io`` (``index.docker.io`` is an alias for it).
- On ``docker.io`` a single-component repository is an official image:
  ``nginx`` → ``library/nginx``.
- The repository is lower case, path components joined by ``/`` and made of
  ``[a-z0-9]`` runs separated by ``.``, ``_``, ``__`` or dashes; the whole name
  (registry included) is at most 255 characters.
- A tag is ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``; with neither tag nor digest the
  tag is ``latest``. A digest (``@sha256:<64 hex>``, also sha384/sha512) pins the
  content; with both, the digest wins and the tag is kept only for display.
- A bare 64-hex string is an image *id*, not a reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pilothouse.integrations.registry.errors import InvalidImage

__all__ = [
    "DEFAULT_REGISTRY",
    "DEFAULT_TAG",
    "OFFICIAL_NAMESPACE",
    "ImageRef",
    "parse_image",
]

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"
OFFICIAL_NAMESPACE = "library"
NAME_MAX = 255
"""Longest ``registry/repository`` Docker accepts."""
INPUT_MAX = 1024
"""Longer input is refused before any pattern runs on it."""

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_DOMAIN_RE = re.compile(rf"{_HOST}(?::[0-9]+)?")
_REMAINDER_RE = re.compile(
    rf"(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)
_IMAGE_ID_RE = re.compile(r"[a-f0-9]{64}")
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_LOWER_HEX_RE = re.compile(r"[a-f0-9]+")
_LEGACY_DEFAULT_REGISTRY = "index.docker.io"


@dataclass(frozen=True)
class ImageRef:
    """A normalised image reference: ``registry/repository[:tag][@digest]``."""

    registry: str
    """Host and optional port as written (``docker.io``, ``ghcr.io``, ``localhost:5000``)."""
    repository: str
    """Path inside the registry (``library/nginx``, ``acme/app``)."""
    tag: str | None
    """``latest`` when the reference named neither tag nor digest; ``None`` when it
    named only a digest."""
    digest: str | None
    """``<algorithm>:<hex>`` when the reference pins content."""

    @property
    def name(self) -> str:
        """``registry/repository``, the image without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str:
        """What the registry is asked for: the digest if there is one, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def _invalid(image: str, reason: str) -> InvalidImage:
    shown = image if len(image) <= 200 else image[:200] + "…"
    return InvalidImage(
        f"invalid image reference {shown!r}: {reason}", details={"image": shown, "reason": reason}
    )


def _split_registry(image: str) -> tuple[str, str]:
    """Docker's ``splitDockerDomain``: ``(registry, rest)`` before any other check."""
    first, slash, rest = image.partition("/")
    if not slash or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        registry, rest = DEFAULT_REGISTRY, image
    else:
        registry = first
    if registry == _LEGACY_DEFAULT_REGISTRY:
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in rest:
        rest = f"{OFFICIAL_NAMESPACE}/{rest}"
    return registry, rest


def _check_digest(image: str, digest: str) -> None:
    algorithm, _, hex_part = digest.partition(":")
    expected = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        raise _invalid(image, f"unsupported digest algorithm {algorithm!r}")
    if len(hex_part) != expected or not _LOWER_HEX_RE.fullmatch(hex_part):
        raise _invalid(image, f"a {algorithm} digest is {expected} lower-case hex digits")


def parse_image(image: str) -> ImageRef:
    """Normalise an image reference as Docker does; raises :class:`InvalidImage`."""
    if not isinstance(image, str):
        raise InvalidImage(
            f"an image reference is a string, not {type(image).__name__}",
            details={"image": repr(image)[:200], "reason": "not a string"},
        )
    if not image:
        raise _invalid(image, "empty reference")
    if len(image) > INPUT_MAX:
        raise _invalid(image, f"longer than {INPUT_MAX} characters")
    if _IMAGE_ID_RE.fullmatch(image):
        raise _invalid(image, "a 64-hex-digit string is an image id, not a repository name")
    registry, rest = _split_registry(image)
    repository_part = rest.split(":", 1)[0]
    if repository_part.lower() != repository_part:
        raise _invalid(image, "the repository name must be lower case")
    if not _DOMAIN_RE.fullmatch(registry):
        raise _invalid(image, f"{registry!r} is not a registry host[:port]")
    match = _REMAINDER_RE.fullmatch(rest)
    if match is None:
        raise _invalid(image, "not [registry/]repository[:tag][@digest]")
    repository, tag, digest = match.group("path", "tag", "digest")
    if len(registry) + 1 + len(repository) > NAME_MAX:
        raise _invalid(image, f"the name is longer than {NAME_MAX} characters")
    if digest is not None:
        _check_digest(image, digest)
    elif tag is None:
        tag = DEFAULT_TAG
    return ImageRef(registry=registry, repository=repository, tag=tag, digest=digest)
