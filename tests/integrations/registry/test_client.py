"""What the client asks, how it reads answers, caches them and survives a dead registry.

Where the question is "which URL and headers went out" or "what does this odd
answer become", an ``httpx.MockTransport`` plays the registry; caching and batch
behaviour are counted on the fake registry over real HTTP; dead registries are
real sockets (a closed port, a listener that never answers).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from pilothouse.integrations.registry import (
    MANIFEST_MEDIA_TYPES,
    UNREACHABLE_MEMO_SECONDS,
    Credential,
    InvalidImage,
    parse_image,
    registry_key,
)
from tests.fakes.registry_auth import FakeTokenRegistry
from tests.integrations.registry.conftest import ClientFactory, FakeClock

DIGEST = "sha256:" + "c" * 64
Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A mock registry: answers with ``handler`` and keeps every request."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._handler = handler or (lambda _request: httpx.Response(200))
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        return self._handler(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


# -- what is asked ----------------------------------------------------------------------


def test_docker_hub_images_are_asked_of_registry_1_with_every_manifest_type(
    make_client: ClientFactory,
):
    mock = Recorder(lambda _r: httpx.Response(200, headers={"Docker-Content-Digest": DIGEST}))
    check = make_client(transport=mock.transport).check("nginx")
    assert check.status == "found"
    assert check.digest == DIGEST
    [request] = mock.requests
    assert request.method == "HEAD"
    assert str(request.url) == "https://registry-1.docker.io/v2/library/nginx/manifests/latest"
    assert check.url == str(request.url)
    accepted = {part.strip() for part in request.headers["accept"].split(",")}
    assert accepted == set(MANIFEST_MEDIA_TYPES)
    assert "authorization" not in request.headers
    assert request.headers["user-agent"].startswith("pilothouse")


@pytest.mark.parametrize(
    ("image", "insecure", "url"),
    [
        ("ghcr.io/acme/app:1", (), "https://ghcr.io/v2/acme/app/manifests/1"),
        ("localhost/app:1", (), "http://localhost/v2/app/manifests/1"),
        ("localhost:5000/app:1", (), "http://localhost:5000/v2/app/manifests/1"),
        ("127.0.0.1:5000/app:1", (), "http://127.0.0.1:5000/v2/app/manifests/1"),
        ("[::1]:5000/app:1", (), "http://[::1]:5000/v2/app/manifests/1"),
        ("reg.internal:5000/app", (), "https://reg.internal:5000/v2/app/manifests/latest"),
        (
            "reg.internal:5000/app",
            ("reg.internal:5000",),
            "http://reg.internal:5000/v2/app/manifests/latest",
        ),
        (
            "reg.internal:5000/app",
            ("reg.internal",),
            "http://reg.internal:5000/v2/app/manifests/latest",
        ),
        (
            "reg.internal:5000/app",
            ("reg.internal:6000",),
            "https://reg.internal:5000/v2/app/manifests/latest",
        ),
        (f"quay.io/org/app:1@{DIGEST}", (), f"https://quay.io/v2/org/app/manifests/{DIGEST}"),
    ],
)
def test_the_manifest_url_uses_http_only_for_loopback_and_insecure_registries(
    make_client: ClientFactory, image: str, insecure: tuple[str, ...], url: str
):
    mock = Recorder(lambda _r: httpx.Response(404))
    client = make_client(transport=mock.transport, insecure_registries=insecure)
    assert client.manifest_url(image) == url
    assert client.check(image).url == url
    assert str(mock.requests[0].url) == url


def test_registry_keys_fold_docker_hub_aliases_and_config_json_urls():
    assert registry_key("https://index.docker.io/v1/") == "docker.io"
    assert registry_key("registry-1.docker.io") == "docker.io"
    assert registry_key("GHCR.io") == "ghcr.io"
    assert registry_key("http://localhost:5000") == "localhost:5000"


def test_docker_hub_credentials_from_a_config_json_key_are_used_for_docker_io(
    make_client: ClientFactory,
):
    def handler(request: httpx.Request) -> httpx.Response:
        if "authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="hub"'})
        return httpx.Response(200, headers={"Docker-Content-Digest": DIGEST})

    mock = Recorder(handler)
    client = make_client(
        transport=mock.transport,
        credentials={"https://index.docker.io/v1/": Credential("bot", "pw")},
    )
    assert client.check("acme/app").status == "found"
    assert mock.requests[1].headers["authorization"] == "Basic Ym90OnB3"


def test_a_check_accepts_a_parsed_reference(make_client: ClientFactory):
    mock = Recorder()
    check = make_client(transport=mock.transport).check(parse_image(f"nginx@{DIGEST}"))
    assert check.status == "found"
    assert check.digest == DIGEST  # no Docker-Content-Digest: the digest asked for


def test_an_invalid_reference_raises_before_anything_is_asked(make_client: ClientFactory):
    mock = Recorder()
    client = make_client(transport=mock.transport)
    with pytest.raises(InvalidImage):
        client.check("Not A Reference")
    with pytest.raises(InvalidImage):
        client.check_many(["nginx", "nginx:"])
    assert mock.requests == []


@pytest.mark.parametrize(("argument", "value"), [("timeout", 0), ("cache_ttl", -1)])
def test_nonsense_settings_are_refused(argument: str, value: float):
    from pilothouse.integrations.registry import RegistryClient

    with pytest.raises(ValueError, match=argument):
        RegistryClient(**{argument: value})  # type: ignore[arg-type]


# -- how answers are read ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected", "words"),
    [
        (404, "not_found", "has no manifest"),
        (403, "unauthorized", "denied"),
        (429, "error", "rate limiting"),
        (500, "error", "answered 500"),
        (400, "error", "answered 400"),
    ],
)
def test_registry_answers_map_to_statuses(
    make_client: ClientFactory, status: int, expected: str, words: str
):
    mock = Recorder(lambda _r: httpx.Response(status))
    check = make_client(transport=mock.transport).check("ghcr.io/acme/app:1")
    assert check.status == expected
    assert words in check.detail
    assert check.digest is None


def test_basic_challenge_without_credentials_is_unauthorized_after_one_request(
    make_client: ClientFactory,
):
    mock = Recorder(lambda _r: httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'}))
    check = make_client(transport=mock.transport).check("ghcr.io/acme/app:1")
    assert check.status == "unauthorized"
    assert len(mock.requests) == 1


def test_a_401_without_a_challenge_is_unauthorized(make_client: ClientFactory):
    mock = Recorder(lambda _r: httpx.Response(401))
    check = make_client(transport=mock.transport).check("ghcr.io/acme/app:1")
    assert check.status == "unauthorized"
    assert "without a usable challenge" in check.detail


def test_an_unsupported_scheme_is_an_error(make_client: ClientFactory):
    challenge = {"WWW-Authenticate": 'Negotiate realm="x"'}
    mock = Recorder(lambda _r: httpx.Response(401, headers=challenge))
    check = make_client(transport=mock.transport).check("ghcr.io/acme/app:1")
    assert check.status == "error"
    assert "negotiate" in check.detail


def test_a_bearer_challenge_without_a_realm_is_an_error(make_client: ClientFactory):
    mock = Recorder(lambda _r: httpx.Response(401, headers={"WWW-Authenticate": "Bearer"}))
    check = make_client(transport=mock.transport).check("ghcr.io/acme/app:1")
    assert check.status == "error"
    assert "realm" in check.detail


def _token_flow(token_answer: Callable[[httpx.Request], httpx.Response]) -> Recorder:
    challenge = 'Bearer realm="https://auth.example.com/token?client=x",service="reg"'

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            return token_answer(request)
        if request.headers.get("authorization") == "Bearer good":
            return httpx.Response(200, headers={"Docker-Content-Digest": DIGEST})
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    return Recorder(handler)


def test_the_realms_own_query_is_kept_beside_service_and_scope(make_client: ClientFactory):
    mock = _token_flow(lambda _r: httpx.Response(200, json={"token": "good"}))
    assert make_client(transport=mock.transport).check("reg.example.com/a/b").status == "found"
    token_request = mock.requests[1]
    assert dict(token_request.url.params) == {
        "client": "x",
        "service": "reg",
        "scope": "repository:a/b:pull",
    }


@pytest.mark.parametrize(
    ("answer", "expected", "words"),
    [
        (httpx.Response(500), "error", "answered 500"),
        (httpx.Response(200, text="<html>"), "error", "without JSON"),
        (httpx.Response(200, json={"expires_in": 60}), "error", "without a token"),
        (httpx.Response(200, json=["token"]), "error", "without a token"),
        (httpx.Response(401, json={"details": "nope"}), "unauthorized", "refused anonymous"),
    ],
)
def test_token_server_answers_map_to_statuses(
    make_client: ClientFactory, answer: httpx.Response, expected: str, words: str
):
    mock = _token_flow(lambda _r: answer)
    check = make_client(transport=mock.transport).check("reg.example.com/a/b")
    assert check.status == expected
    assert words in check.detail


def test_a_realm_that_is_not_http_is_an_error(make_client: ClientFactory):
    challenge = {"WWW-Authenticate": 'Bearer realm="file:///etc/passwd",service="x"'}
    mock = Recorder(lambda _r: httpx.Response(401, headers=challenge))
    check = make_client(transport=mock.transport).check("reg.example.com/a/b")
    assert check.status == "error"
    assert "invalid token realm" in check.detail
    assert len(mock.requests) == 1


def test_an_unreachable_token_server_makes_the_image_unreachable(make_client: ClientFactory):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    mock = _token_flow(refuse)
    check = make_client(transport=mock.transport).check("reg.example.com/a/b")
    assert check.status == "unreachable"
    assert "token server" in check.detail


# -- dead registries --------------------------------------------------------------------


def test_a_closed_port_is_unreachable_within_the_timeout(
    make_client: ClientFactory, closed_port: int
):
    client = make_client(timeout=2.0)
    started = time.monotonic()
    check = client.check(f"127.0.0.1:{closed_port}/acme/app:1")
    assert time.monotonic() - started < 2.0
    assert check.status == "unreachable"
    assert "ConnectError" in check.detail
    assert check.url == f"http://127.0.0.1:{closed_port}/v2/acme/app/manifests/1"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (in the backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_a_registry_that_never_answers_is_unreachable_after_the_timeout(
    make_client: ClientFactory, silent_port: int
):
    check = make_client(timeout=0.2).check(f"127.0.0.1:{silent_port}/acme/app:1")
    assert check.status == "unreachable"
    assert "no answer within 0.2 s" in check.detail


def test_an_unreachable_registry_is_not_asked_again_for_a_while(
    make_client: ClientFactory, clock: FakeClock
):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    mock = Recorder(refuse)
    client = make_client(transport=mock.transport, clock=clock)
    assert client.check("reg.example.com/a:1").status == "unreachable"
    assert client.check("reg.example.com/b:1").status == "unreachable"
    assert client.check("other.example.com/a:1").status == "unreachable"
    assert len(mock.requests) == 2
    clock.advance(UNREACHABLE_MEMO_SECONDS)
    assert client.check("reg.example.com/a:1").status == "unreachable"
    assert len(mock.requests) == 3


# -- caching ----------------------------------------------------------------------------


@pytest.fixture
def open_registry(token_registry: FakeTokenRegistry) -> FakeTokenRegistry:
    """The fake registry without authentication, holding ``acme/app:1.0``."""
    token_registry.require_auth = False
    token_registry.push("acme/app", "1.0")
    return token_registry


def test_a_found_image_is_answered_from_the_cache(
    open_registry: FakeTokenRegistry, make_client: ClientFactory
):
    client = make_client()
    first = client.check(open_registry.image("acme/app", "1.0"))
    second = client.check(f"{open_registry.registry}/acme/app:1.0")
    assert first.status == "found"
    assert second == first
    assert len(open_registry.registry_requests) == 1


def test_a_missing_image_is_answered_from_the_cache(
    open_registry: FakeTokenRegistry, make_client: ClientFactory
):
    client = make_client()
    for _ in range(3):
        assert client.check(open_registry.image("acme/app", "9.9")).status == "not_found"
    assert len(open_registry.registry_requests) == 1


def test_cached_answers_expire_after_cache_ttl(
    open_registry: FakeTokenRegistry, make_client: ClientFactory, clock: FakeClock
):
    client = make_client(cache_ttl=30, clock=clock)
    image = open_registry.image("acme/app", "2.0")
    assert client.check(image).status == "not_found"
    open_registry.push("acme/app", "2.0")
    clock.advance(29)
    assert client.check(image).status == "not_found"
    clock.advance(1)
    assert client.check(image).status == "found"
    assert len(open_registry.registry_requests) == 2


def test_a_zero_ttl_disables_the_cache(
    open_registry: FakeTokenRegistry, make_client: ClientFactory
):
    client = make_client(cache_ttl=0)
    client.check(open_registry.image("acme/app", "1.0"))
    client.check(open_registry.image("acme/app", "1.0"))
    assert len(open_registry.registry_requests) == 2


def test_unauthorized_answers_are_not_cached(
    token_registry: FakeTokenRegistry, make_client: ClientFactory
):
    token_registry.private.add("acme/secret")
    token_registry.push("acme/secret", "1.0")
    client = make_client()
    image = token_registry.image("acme/secret", "1.0")
    assert client.check(image).status == "unauthorized"
    asked = len(token_registry.registry_requests)
    assert client.check(image).status == "unauthorized"
    assert len(token_registry.registry_requests) > asked


def test_clear_cache_forgets_answers(open_registry: FakeTokenRegistry, make_client: ClientFactory):
    client = make_client()
    client.check(open_registry.image("acme/app", "1.0"))
    client.clear_cache()
    client.check(open_registry.image("acme/app", "1.0"))
    assert len(open_registry.registry_requests) == 2


# -- batches ----------------------------------------------------------------------------


def test_check_many_asks_once_for_spellings_of_the_same_image(
    open_registry: FakeTokenRegistry, make_client: ClientFactory
):
    registry = open_registry.registry
    images = [f"{registry}/acme/app", f"{registry}/acme/app:latest", f"{registry}/acme/app:1.0"]
    results = make_client(cache_ttl=0).check_many([*images, images[0]])
    assert list(results) == images
    assert results[images[0]] is results[images[1]]
    assert results[images[0]].status == "not_found"
    assert results[images[2]].status == "found"
    assert len(open_registry.registry_requests) == 2


def test_check_many_keys_parsed_references_by_their_canonical_string(
    open_registry: FakeTokenRegistry, make_client: ClientFactory
):
    ref = parse_image(open_registry.image("acme/app", "1.0"))
    assert make_client().check_many([ref]) == {str(ref): make_client().check(ref)}


def test_check_many_of_nothing_is_empty(make_client: ClientFactory):
    assert make_client().check_many([]) == {}


def test_check_many_checks_concurrently(make_client: ClientFactory):
    barrier = threading.Barrier(3, timeout=5.0)

    def handler(_request: httpx.Request) -> httpx.Response:
        try:
            barrier.wait()  # passes only when three checks are in flight at once
        except threading.BrokenBarrierError:
            return httpx.Response(500)
        return httpx.Response(200, headers={"Docker-Content-Digest": DIGEST})

    mock = Recorder(handler)
    images = ["ghcr.io/a/one:1", "ghcr.io/a/two:1", "ghcr.io/a/three:1"]
    results = make_client(transport=mock.transport).check_many(images)
    assert [results[image].status for image in images] == ["found"] * 3
