"""What the registry integration raises: only mistakes in its input.

An image that does not exist, a registry that wants credentials or does not answer
are *answers*, not errors: :meth:`~.client.RegistryClient.check` reports them as an
:class:`~.models.ImageCheck` status, because a validator collects them as findings
and carries on. What is left to raise is input that cannot name an image at all,
which no retry or configuration can fix.

    PilothouseError          (pilothouse.core.errors)
    └── RegistryError        registry_error   root; never raised itself
        └── InvalidImage     invalid_image    not a Docker image reference
"""

from __future__ import annotations

from pilothouse.core.errors import PilothouseError

__all__ = ["RegistryError", "InvalidImage", "CODES"]


class RegistryError(PilothouseError):
    """Root of the registry integration's errors."""

    code = "registry_error"


class InvalidImage(RegistryError):
    """The string is not an image reference Docker would accept; ``details`` has
    ``image`` (the input) and ``reason``."""

    code = "invalid_image"


CODES: tuple[str, ...] = (InvalidImage.code,)
"""Every code this package raises, for interfaces that map codes to statuses."""
