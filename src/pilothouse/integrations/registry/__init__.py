"""OCI registries: does the image a manifest names exist where it says?

:func:`.references.parse_image` normalises a reference the way Docker does
(``nginx`` → ``docker.io/library/nginx:latest``) or raises
:class:`.errors.InvalidImage`. :class:`.client.RegistryClient` asks the registry
with one ``HEAD`` on the manifest, following Basic and Docker-token
authentication (:mod:`.challenges`), and answers with an :class:`.models.ImageCheck`
whose status is ``found``, ``not_found``, ``unauthorized``, ``unreachable`` or
``error``: registry trouble is a result, never an exception.
"""

from __future__ import annotations

from pilothouse.integrations.registry.challenges import (
    Challenge,
    Token,
    parse_challenges,
    token_from_json,
)
from pilothouse.integrations.registry.client import (
    DOCKER_HUB_API_HOST,
    MANIFEST_MEDIA_TYPES,
    MAX_WORKERS,
    UNREACHABLE_MEMO_SECONDS,
    RegistryClient,
    registry_key,
)
from pilothouse.integrations.registry.errors import CODES, InvalidImage, RegistryError
from pilothouse.integrations.registry.models import (
    CHECK_STATUSES,
    CheckStatus,
    Credential,
    ImageCheck,
)
from pilothouse.integrations.registry.references import (
    DEFAULT_REGISTRY,
    DEFAULT_TAG,
    ImageRef,
    parse_image,
)

__all__ = [
    # references
    "parse_image",
    "ImageRef",
    "DEFAULT_REGISTRY",
    "DEFAULT_TAG",
    # client
    "RegistryClient",
    "Credential",
    "ImageCheck",
    "CheckStatus",
    "CHECK_STATUSES",
    "MANIFEST_MEDIA_TYPES",
    "DOCKER_HUB_API_HOST",
    "MAX_WORKERS",
    "UNREACHABLE_MEMO_SECONDS",
    "registry_key",
    # challenges
    "Challenge",
    "Token",
    "parse_challenges",
    "token_from_json",
    # errors
    "RegistryError",
    "InvalidImage",
    "CODES",
]
