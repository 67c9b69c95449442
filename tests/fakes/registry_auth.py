"""A fake registry behind Docker's token authentication, with its token server.

CNCF Distribution can delegate authentication to a token server, but only one that
signs JWTs with a certificate the registry trusts; running that in a test is more
machinery than the client meets. This fake plays both parties of the flow
documented at https://distribution.github.io/distribution/spec/auth/token/ (the
one Docker Hub, GHCR and Quay use), on two loopback ports like
``registry-1.docker.io`` and ``auth.docker.io``:

Registry (``/v2/…``), every answer with ``Docker-Distribution-Api-Version:
registry/2.0``:

- Without ``Authorization: Bearer <token>``, or with a token it did not issue, that
  expired or was revoked: ``401`` with ``WWW-Authenticate: Bearer
  realm="<token url>",service="<service>",scope="repository:<name>:pull"`` (no
  scope on ``/v2/``) and body ``{"errors": [{"code": "UNAUTHORIZED", "message":
  "authentication required", "detail": [{"Type": "repository", "Name": <name>,
  "Action": "pull"}]}]}``.
- With a valid token that does not grant ``pull`` on the repository: the same
  ``401`` with ``error="insufficient_scope"`` added to the challenge.
- ``GET /v2/`` → ``200 {}``.
- ``GET``/``HEAD /v2/<name>/manifests/<tag|digest>`` → ``200`` with
  ``Docker-Content-Digest``, ``Content-Type`` (the manifest's media type) and
  ``Content-Length``; ``404`` ``NAME_UNKNOWN`` for an unknown repository and
  ``MANIFEST_UNKNOWN`` for an unknown reference, or for a manifest whose media type
  the ``Accept`` header leaves out (as Distribution does for OCI manifests).

Token server (``GET /token?service=…&scope=…[&account=…]``):

- Optional ``Authorization: Basic``; wrong credentials → ``401 {"details":
  "incorrect username or password"}``; a ``service`` other than the registry's →
  ``400``.
- ``200 {"token", "access_token", "expires_in", "issued_at"}`` (which of the two
  token names are present is steerable: the spec allows either). The token grants
  ``pull`` on every requested repository that is public, and on private ones only
  to a named user.

``registry_requests`` and ``token_requests`` record every call, so tests count
round trips. With ``require_auth = False`` the registry is anonymous and answers
manifests without any challenge.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
API_VERSION_HEADER = {"Docker-Distribution-Api-Version": "registry/2.0"}
STARTUP_SECONDS = 10.0
SHUTDOWN_SECONDS = 10.0


@dataclass(frozen=True)
class Received:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass(frozen=True)
class Manifest:
    media_type: str
    body: bytes

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.body).hexdigest()


@dataclass
class Grant:
    subject: str
    """The user the token was issued to; ``""`` for anonymous."""
    pull: frozenset[str]
    """Repositories the token may pull."""
    expires_at: float
    """``time.monotonic()`` after which the registry refuses it."""


def small_manifest(seed: str) -> Manifest:
    """A syntactically valid OCI image manifest, distinct per ``seed``."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
            "size": len(config),
        },
        "layers": [],
    }
    return Manifest(OCI_MANIFEST, json.dumps(body, sort_keys=True).encode())


@dataclass
class FakeTokenRegistry:
    """The state both servers share, readable and steerable from tests."""

    service: str = "fake-registry.test"
    users: dict[str, str] = field(default_factory=lambda: {"alice": "s3cret"})
    require_auth: bool = True
    """False: an anonymous registry that never challenges."""
    expires_in: int | None = 300
    """Sent as ``expires_in``; ``None`` leaves it out (the spec's 60 s default)."""
    token_fields: tuple[str, ...] = ("token", "access_token")
    """Which names the token server answers with."""
    private: set[str] = field(default_factory=set)
    """Repositories only a named user may pull."""
    repositories: dict[str, dict[str, Manifest]] = field(default_factory=dict)
    """Manifests by repository, then by tag and by digest."""
    tokens: dict[str, Grant] = field(default_factory=dict)
    registry_requests: list[Received] = field(default_factory=list)
    token_requests: list[Received] = field(default_factory=list)
    registry: str = ""
    """``127.0.0.1:<port>``, as an image reference names the registry."""
    realm: str = ""
    """The token server's URL."""

    # -- steering, from tests ---------------------------------------------------------

    def reset(self) -> None:
        """Back to an empty registry with default settings, same addresses."""
        fresh = FakeTokenRegistry(registry=self.registry, realm=self.realm)
        self.__dict__.update(fresh.__dict__)

    def push(self, repository: str, tag: str, manifest: Manifest | None = None) -> str:
        """Store a manifest under ``tag`` (and its digest); the digest."""
        manifest = manifest or small_manifest(f"{repository}:{tag}")
        references = self.repositories.setdefault(repository, {})
        references[tag] = manifest
        references[manifest.digest] = manifest
        return manifest.digest

    def revoke_tokens(self) -> None:
        """The registry stops accepting every token issued so far."""
        self.tokens.clear()

    def image(self, repository: str, reference: str = "latest") -> str:
        """An image reference on this registry."""
        separator = "@" if ":" in reference else ":"
        return f"{self.registry}/{repository}{separator}{reference}"

    # -- the token server -------------------------------------------------------------

    def _subject(self, request: Request) -> str | None:
        """``""`` for anonymous, the user for good credentials, ``None`` for bad ones."""
        header = request.headers.get("authorization", "")
        if not header:
            return ""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return None
        return username if self.users.get(username) == password else None

    def _issue(self, subject: str, scopes: list[str]) -> dict[str, object]:
        pull = set()
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wants_pull = kind == "repository" and "pull" in actions.split(",")
            if wants_pull and (name not in self.private or subject):
                pull.add(name)
        token = secrets.token_urlsafe(24)
        lifetime = self.expires_in if self.expires_in is not None else 60
        self.tokens[token] = Grant(subject, frozenset(pull), time.monotonic() + lifetime)
        body: dict[str, object] = {name: token for name in self.token_fields}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        body["issued_at"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return body

    async def token_endpoint(self, request: Request) -> Response:
        self.token_requests.append(_received(request))
        if request.query_params.get("service") != self.service:
            return JSONResponse({"details": "invalid service"}, 400)
        subject = self._subject(request)
        if subject is None:
            return JSONResponse({"details": "incorrect username or password"}, 401)
        return JSONResponse(self._issue(subject, request.query_params.getlist("scope")))

    # -- the registry -----------------------------------------------------------------

    def _challenge(self, name: str | None, error: str | None = None) -> Response:
        header = f'Bearer realm="{self.realm}",service="{self.service}"'
        detail: list[dict[str, str]] = []
        if name is not None:
            header += f',scope="repository:{name}:pull"'
            detail = [{"Type": "repository", "Name": name, "Action": "pull"}]
        if error is not None:
            header += f',error="{error}"'
        body = {
            "errors": [
                {"code": "UNAUTHORIZED", "message": "authentication required", "detail": detail}
            ]
        }
        return JSONResponse(body, 401, headers={**API_VERSION_HEADER, "WWW-Authenticate": header})

    def _grant(self, request: Request) -> Grant | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        grant = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if grant is None or grant.expires_at <= time.monotonic():
            return None
        return grant

    async def base_endpoint(self, request: Request) -> Response:
        self.registry_requests.append(_received(request))
        if self.require_auth and self._grant(request) is None:
            return self._challenge(None)
        return JSONResponse({}, headers=API_VERSION_HEADER)

    async def manifest_endpoint(self, request: Request) -> Response:
        self.registry_requests.append(_received(request))
        name = request.path_params["name"]
        reference = request.path_params["reference"]
        if self.require_auth:
            grant = self._grant(request)
            if grant is None:
                return self._challenge(name)
            if name not in grant.pull:
                return self._challenge(name, "insufficient_scope")
        references = self.repositories.get(name)
        if references is None:
            return _registry_error(404, "NAME_UNKNOWN", "repository name not known to registry")
        manifest = references.get(reference)
        accepted = {
            part.split(";")[0].strip()
            for value in request.headers.getlist("accept")
            for part in value.split(",")
        }
        if manifest is None or (
            accepted and "*/*" not in accepted and manifest.media_type not in accepted
        ):
            return _registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        headers = {
            **API_VERSION_HEADER,
            "Docker-Content-Digest": manifest.digest,
            "Content-Type": manifest.media_type,
        }
        return Response(manifest.body, 200, headers=headers, media_type=manifest.media_type)


def _received(request: Request) -> Received:
    query: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        query.setdefault(key, []).append(value)
    return Received(request.method, request.url.path, query, dict(request.headers))


def _registry_error(status: int, code: str, message: str) -> Response:
    body = {"errors": [{"code": code, "message": message, "detail": None}]}
    return JSONResponse(body, status, headers=API_VERSION_HEADER)


def registry_app(state: FakeTokenRegistry) -> Starlette:
    return Starlette(
        routes=[
            Route("/v2/", state.base_endpoint, methods=["GET"]),
            Route(
                "/v2/{name:path}/manifests/{reference}",
                state.manifest_endpoint,
                methods=["GET", "HEAD"],
            ),
        ]
    )


def token_app(state: FakeTokenRegistry) -> Starlette:
    return Starlette(routes=[Route("/token", state.token_endpoint, methods=["GET"])])


@contextmanager
def serve_app(app: Starlette, what: str) -> Iterator[int]:
    """Serve ``app`` on a free loopback port; yields the port.

    The socket is bound before uvicorn starts, so the port is known up front; the
    wait for ``server.started`` is bounded and fails loudly if startup breaks.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Without it every response waits for a delayed ACK (Nagle), ~40 ms per call.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the fake {what} did not start")
            time.sleep(0.005)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=SHUTDOWN_SECONDS)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"the fake {what} did not shut down")


@contextmanager
def serve_fake_token_registry(
    state: FakeTokenRegistry | None = None,
) -> Iterator[FakeTokenRegistry]:
    """Serve the registry and its token server on two loopback ports."""
    state = state or FakeTokenRegistry()
    with ExitStack() as stack:
        token_port = stack.enter_context(serve_app(token_app(state), "token server"))
        registry_port = stack.enter_context(serve_app(registry_app(state), "registry"))
        state.realm = f"http://127.0.0.1:{token_port}/token"
        state.registry = f"127.0.0.1:{registry_port}"
        yield state
