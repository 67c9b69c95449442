"""Real CNCF Distribution registries, a fake token-auth registry, and clients for them.

Two ``docker-registry`` processes (Debian's package of Distribution 2.8) serve the
session: one open, one behind ``htpasswd`` Basic auth. Each gets a temporary
storage directory and a free loopback port, is waited for by polling ``GET /v2/``
with a deadline, and is stopped at the end. An image is pushed into each through
the Distribution API itself (blob uploads, then manifests), so what the client
checks was put there the way ``docker push`` would.

The htpasswd file needs a bcrypt hash (Distribution accepts nothing else). The
``bcrypt`` package is used when installed; otherwise libxcrypt, the ``crypt(3)``
of every current Debian, makes one through ``ctypes`` (``$2b$``, which Go's
bcrypt reads).

Without the binary the tests that need it skip with the reason, except in CI
(``CI=true``), where they fail: CI installs the package and must run them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pilothouse.integrations.registry import RegistryClient
from tests.fakes.registry_auth import FakeTokenRegistry, serve_fake_token_registry

REGISTRY_BINARY = "docker-registry"
STARTUP_SECONDS = 15.0
STOP_SECONDS = 10.0
PORT_ATTEMPTS = 3
USERNAME = "alice"
PASSWORD = "s3cret"
REPOSITORY = "acme/app"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def _needed(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the registry tests (apt-get install docker-registry)")
    pytest.skip(reason)


def _registry_binary() -> str:
    path = shutil.which(REGISTRY_BINARY) or shutil.which(REGISTRY_BINARY, path="/usr/bin")
    if path is None:
        _needed(f"{REGISTRY_BINARY} (Debian package docker-registry) is not installed")
    assert path is not None
    return path


def _bcrypt(password: str) -> str:
    """A bcrypt hash of ``password`` (cost 4, the lowest Go's bcrypt accepts)."""
    try:
        import bcrypt  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        return str(bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode())
    name = ctypes.util.find_library("crypt")
    if name is None:
        _needed("no bcrypt: neither the bcrypt package nor libcrypt is available")
    libcrypt = ctypes.CDLL(name)
    libcrypt.crypt_gensalt.restype = ctypes.c_char_p
    libcrypt.crypt_gensalt.argtypes = [
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
        ctypes.c_int,
    ]
    libcrypt.crypt.restype = ctypes.c_char_p
    libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = libcrypt.crypt_gensalt(b"$2b$", 4, None, 0)
    hashed = libcrypt.crypt(password.encode(), salt) if salt else None
    if not hashed or not hashed.startswith(b"$2b$"):
        _needed("libcrypt here cannot make bcrypt hashes")
    return hashed.decode()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Distribution:
    """One running registry: ``url`` to talk to it, ``registry`` to name images on it."""

    url: str
    registry: str
    auth: tuple[str, str] | None = None

    def image(self, repository: str, reference: str) -> str:
        separator = "@" if reference.startswith("sha256:") else ":"
        return f"{self.registry}/{repository}{separator}{reference}"


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    """Poll ``GET /v2/`` until any HTTP answer; False if the process died first."""
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(timeout=1.0) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                http.get(f"{url}/v2/")
            except httpx.TransportError:
                time.sleep(0.02)
            else:
                return True
    process.kill()
    process.wait(timeout=STOP_SECONDS)
    raise RuntimeError(
        f"docker-registry did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}"
    )


@contextmanager
def run_distribution(workdir: Path, *, htpasswd: str | None = None) -> Iterator[Distribution]:
    """A ``docker-registry serve`` on a free loopback port, storing under ``workdir``."""
    binary = _registry_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "version": "0.1",
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(workdir / "storage")}},
        "http": {"addr": "", "secret": "pilothouse-test-secret"},
    }
    if htpasswd is not None:
        path = workdir / "htpasswd"
        path.write_text(htpasswd)
        config["auth"] = {"htpasswd": {"realm": "pilothouse-test", "path": str(path)}}
    log = workdir / "registry.log"
    for _ in range(PORT_ATTEMPTS):  # another process may take the port before we bind it
        port = _free_port()
        config["http"]["addr"] = f"127.0.0.1:{port}"
        config_path = workdir / "config.yml"
        config_path.write_text(json.dumps(config))  # JSON is YAML
        url = f"http://127.0.0.1:{port}"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [binary, "serve", str(config_path)], stdout=out, stderr=subprocess.STDOUT
            )
        try:
            if _wait_ready(url, process, log):
                yield Distribution(url, f"127.0.0.1:{port}")
                return
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=STOP_SECONDS)
    raise RuntimeError(f"docker-registry did not start:\n{log.read_text()}")


# -- pushing through the Distribution API ----------------------------------------------


def _push_blob(http: httpx.Client, repository: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = http.post(f"/v2/{repository}/blobs/uploads/")
    assert started.status_code == 202, started.text
    # The upload URL carries its own state in the query; the digest is added to it.
    location = httpx.URL(started.headers["location"]).copy_merge_params({"digest": digest})
    done = http.put(location, content=data, headers={"Content-Type": "application/octet-stream"})
    assert done.status_code == 201, done.text
    return digest


def _put_manifest(
    http: httpx.Client, repository: str, reference: str, media_type: str, body: dict[str, Any]
) -> str:
    raw = json.dumps(body).encode()
    response = http.put(
        f"/v2/{repository}/manifests/{reference}", content=raw, headers={"Content-Type": media_type}
    )
    assert response.status_code == 201, response.text
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    assert response.headers["docker-content-digest"] == digest
    return digest


@dataclass(frozen=True)
class Pushed:
    """What was pushed to ``repository``: a digest per tag."""

    repository: str
    digests: dict[str, str]


def push_images(registry: Distribution, repository: str = REPOSITORY) -> Pushed:
    """Push an OCI image (``1.0``), a Docker v2 image (``docker``) and an OCI index
    pointing at the first (``multi``)."""
    with httpx.Client(base_url=registry.url, auth=registry.auth, timeout=10.0) as http:
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
        layer = b"pilothouse test layer"
        config_digest = _push_blob(http, repository, config)
        layer_digest = _push_blob(http, repository, layer)

        def manifest(media_type: str, config_type: str, layer_type: str) -> dict[str, Any]:
            return {
                "schemaVersion": 2,
                "mediaType": media_type,
                "config": {"mediaType": config_type, "digest": config_digest, "size": len(config)},
                "layers": [{"mediaType": layer_type, "digest": layer_digest, "size": len(layer)}],
            }

        oci = _put_manifest(
            http, repository, "1.0", OCI_MANIFEST, manifest(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER)
        )
        docker = _put_manifest(
            http,
            repository,
            "docker",
            DOCKER_MANIFEST,
            manifest(DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER),
        )
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": oci,
                    "size": len(json.dumps(manifest(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER))),
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
        }
        multi = _put_manifest(http, repository, "multi", OCI_INDEX, index)
    return Pushed(repository, {"1.0": oci, "docker": docker, "multi": multi})


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Distribution]:
    """An open registry holding :func:`push_images`' images."""
    with run_distribution(tmp_path_factory.mktemp("distribution")) as registry:
        yield registry


@pytest.fixture(scope="session")
def pushed(distribution: Distribution) -> Pushed:
    return push_images(distribution)


@pytest.fixture(scope="session")
def auth_distribution(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Distribution]:
    """A registry behind htpasswd Basic auth (``alice``/``s3cret``) with the same images."""
    htpasswd = f"{USERNAME}:{_bcrypt(PASSWORD)}\n"
    workdir = tmp_path_factory.mktemp("auth-distribution")
    with run_distribution(workdir, htpasswd=htpasswd) as running:
        registry = Distribution(running.url, running.registry, (USERNAME, PASSWORD))
        push_images(registry)
        yield registry


@pytest.fixture(scope="module")
def token_server() -> Iterator[FakeTokenRegistry]:
    with serve_fake_token_registry() as state:
        yield state


@pytest.fixture
def token_registry(token_server: FakeTokenRegistry) -> FakeTokenRegistry:
    """The fake token-auth registry, emptied: tests push what they check."""
    token_server.reset()
    return token_server


ClientFactory = Callable[..., RegistryClient]


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    """Build clients (keyword arguments as :class:`RegistryClient`'s); all closed after."""
    clients: list[RegistryClient] = []

    def make(**kwargs: Any) -> RegistryClient:
        kwargs.setdefault("timeout", 5.0)
        client = RegistryClient(**kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    return _free_port()


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
