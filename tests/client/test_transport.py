"""What only the remote side can get wrong: the network and the server's answers.

The contract tests cover a well-behaved server; these fake the misbehaving ones with
``httpx.MockTransport`` (or a socket that never answers) instead of patching.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from pilothouse.api import errors as api_errors
from pilothouse.client import Client, ClientError
from pilothouse.client import errors as client_errors
from pilothouse.workspace import errors
from pilothouse.workspace.errors import NotFound, WorkspaceError
from pilothouse.workspace.models import FileVersion, PrincipalId

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def fake() -> Iterator[Callable[[Handler], Client]]:
    clients: list[Client] = []

    def make(handler: Handler) -> Client:
        client = Client(
            "http://pilothouse.test", "phk_test", transport=httpx.MockTransport(handler)
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _error(code: str, message: str = "refused", **details: object) -> Handler:
    """An error answer exactly as the server's own handlers build it."""
    body = api_errors.body(code, message, details)
    return lambda _request: httpx.Response(api_errors.STATUS.get(code, 400), json=body)


def test_an_unreachable_server_is_a_client_error_caused_by_the_connect_failure():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    with (
        Client(f"http://127.0.0.1:{port}", "phk_test", timeout=5) as client,
        pytest.raises(ClientError, match="cannot reach the Pilothouse server") as failed,
    ):
        client.list_workspaces()

    assert isinstance(failed.value.__cause__, httpx.ConnectError)
    assert not isinstance(failed.value, WorkspaceError)
    assert failed.value.code == "unavailable"


def test_a_server_that_never_answers_times_out_as_a_client_error():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # connections queue in the backlog and are never accepted
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with (
            Client(url, "phk_test", timeout=0.2) as client,
            pytest.raises(ClientError, match="no answer") as failed,
        ):
            client.get_workspace("gitops-prod")

    assert isinstance(failed.value.__cause__, httpx.TimeoutException)


@pytest.mark.parametrize("code", errors.CODES)
def test_every_stable_code_comes_back_as_its_own_class(fake, code: str):
    client = fake(_error(code, "as the server said", path="/x"))

    with pytest.raises(WorkspaceError) as raised:
        client.get_workspace("gitops-prod")

    assert type(raised.value) is client_errors.BY_CODE[code]
    assert raised.value.code == code
    assert raised.value.message == "as the server said"
    assert raised.value.details == {"path": "/x"}


def test_an_unknown_code_is_a_workspace_error_that_keeps_the_code(fake):
    client = fake(_error("internal", "internal error; it has been logged", request_id="r1"))

    with pytest.raises(WorkspaceError) as raised:
        client.list_workspaces()

    assert type(raised.value) is WorkspaceError
    assert (raised.value.code, raised.value.details) == ("internal", {"request_id": "r1"})


def test_a_proxy_error_page_is_a_client_error_not_a_workspace_error(fake):
    client = fake(lambda _r: httpx.Response(502, text="<html>Bad Gateway</html>"))

    with pytest.raises(ClientError, match="502 without a Pilothouse error body") as raised:
        client.list_workspaces()

    assert raised.value.details == {"status": 502}


def test_a_success_body_of_the_wrong_shape_is_a_client_error_naming_the_field(fake):
    client = fake(lambda _r: httpx.Response(200, json=[{"name": 3}]))

    with pytest.raises(ClientError, match=r"Workspace.*(id: missing|name: expected str)"):
        client.list_workspaces()


def _file_server(content: bytes, declared: bytes) -> Handler:
    """Serves ``content`` as version 1 of /f, whose history declares ``declared``."""
    version = FileVersion(
        path="/f",
        version=1,
        size=len(declared),
        sha256=hashlib.sha256(declared).hexdigest(),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        author_id=PrincipalId("pr_1"),
    )

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/versions/f"):
            return httpx.Response(200, json=[version.to_dict()])
        if request.url.path.endswith("/files/f"):
            return httpx.Response(200, content=content, headers={"X-Pilothouse-Version": "1"})
        return _error("not_found")(request)

    return handle


def test_a_download_is_checked_against_the_versions_size_and_digest(fake):
    assert fake(_file_server(b"exact", b"exact")).read_file("ws", "/f").content == b"exact"
    with pytest.raises(ClientError, match="ended after 3 of 5 bytes"):
        fake(_file_server(b"exa", b"exact")).read_file("ws", "/f")
    with pytest.raises(ClientError, match="sha256"):
        fake(_file_server(b"EXACT", b"exact")).read_file("ws", "/f")


def test_requests_carry_the_key_and_paths_are_percent_encoded(fake):
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _error("not_found")(request)

    with pytest.raises(NotFound):
        fake(handle).stat_file("gitops-prod", "/a b/../c#d?.json")

    (request,) = seen
    assert request.headers["authorization"] == "Bearer phk_test"
    assert request.url.raw_path == b"/api/v1/workspaces/gitops-prod/stat/a%20b/%2E%2E/c%23d%3F.json"


def test_the_client_never_shows_its_key():
    with Client("http://127.0.0.1:1/", "phk_secret") as client:
        assert "phk_secret" not in repr(client)
        assert client.base_url == "http://127.0.0.1:1"


def test_a_long_poll_outlasting_the_request_timeout_is_not_a_timeout(home: Any, server: str):
    with Client(server, home.admin_key, timeout=1.0) as client:
        client.create_workspace("quiet")
        cursor = client.list_events("quiet")[-1].cursor

        assert client.wait_events("quiet", after=cursor, timeout=1.5) == []
