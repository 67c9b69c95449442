"""Docker's bearer-token flow, against the fake registry and token server."""

from __future__ import annotations

from pilothouse.integrations.registry import Credential
from tests.fakes.registry_auth import FakeTokenRegistry
from tests.integrations.registry.conftest import ClientFactory, FakeClock


def test_a_public_image_is_found_with_an_anonymous_token(
    token_registry: FakeTokenRegistry, make_client: ClientFactory
):
    digest = token_registry.push("acme/app", "1.0")
    check = make_client().check(token_registry.image("acme/app", "1.0"))
    assert check.status == "found", check.detail
    assert check.digest == digest
    [token_request] = token_registry.token_requests
    assert token_request.query == {
        "service": [token_registry.service],
        "scope": ["repository:acme/app:pull"],
    }
    assert "authorization" not in token_request.headers
    anonymous, authorized = token_registry.registry_requests
    assert anonymous.method == authorized.method == "HEAD"
    assert "authorization" not in anonymous.headers
    assert authorized.headers["authorization"].startswith("Bearer ")


def test_the_token_is_reused_by_the_next_check(
    token_registry: FakeTokenRegistry, make_client: ClientFactory
):
    token_registry.push("acme/app", "1.0")
    token_registry.push("acme/app", "2.0")
    client = make_client()
    assert client.check(token_registry.image("acme/app", "1.0")).status == "found"
    before = len(token_registry.registry_requests)
    assert client.check(token_registry.image("acme/app", "2.0")).status == "found"
    assert len(token_registry.token_requests) == 1
    [second] = token_registry.registry_requests[before:]
    assert second.headers["authorization"].startswith("Bearer ")


def test_another_repository_gets_its_own_token_without_a_second_challenge(
    token_registry: FakeTokenRegistry, make_client: ClientFactory
):
    token_registry.push("acme/app", "1.0")
    token_registry.push("acme/db", "1.0")
    client = make_client()
    client.check(token_registry.image("acme/app", "1.0"))
    before = len(token_registry.registry_requests)
    assert client.check(token_registry.image("acme/db", "1.0")).status == "found"
    assert [r.query["scope"] for r in token_registry.token_requests] == [
        ["repository:acme/app:pull"],
        ["repository:acme/db:pull"],
    ]
    assert len(token_registry.registry_requests) - before == 1


def test_a_token_named_access_token_is_accepted(
    token_registry: FakeTokenRegistry, make_client: ClientFactory
):
    token_registry.token_fields = ("access_token",)
    token_registry.push("acme/app", "1.0")
    assert make_client().check(token_registry.image("acme/app", "1.0")).status == "found"


def test_a_token_is_fetched_again_once_it_expires(
    token_registry: FakeTokenRegistry, make_client: ClientFactory, clock: FakeClock
):
    token_registry.expires_in = 120
    for tag in ("1", "2", "3"):
        token_registry.push("acme/app", tag)
    client = make_client(clock=clock)
    client.check(token_registry.image("acme/app", "1"))
    clock.advance(100)
    client.check(token_registry.image("acme/app", "2"))
    assert len(token_registry.token_requests) == 1
    clock.advance(20)
    assert client.check(token_registry.image("acme/app", "3")).status == "found"
    assert len(token_registry.token_requests) == 2


def test_without_expires_in_a_token_lasts_the_specs_60_seconds(
    token_registry: FakeTokenRegistry, make_client: ClientFactory, clock: FakeClock
):
    token_registry.expires_in = None
    for tag in ("1", "2", "3"):
        token_registry.push("acme/app", tag)
    client = make_client(clock=clock)
    client.check(token_registry.image("acme/app", "1"))
    clock.advance(50)
    client.check(token_registry.image("acme/app", "2"))
    assert len(token_registry.token_requests) == 1
    clock.advance(10)
    client.check(token_registry.image("acme/app", "3"))
    assert len(token_registry.token_requests) == 2


def test_a_token_the_registry_stopped_accepting_is_replaced_once(
    token_registry: FakeTokenRegistry, make_client: ClientFactory
):
    token_registry.push("acme/app", "1.0")
    token_registry.push("acme/app", "2.0")
    client = make_client()
    client.check(token_registry.image("acme/app", "1.0"))
    token_registry.revoke_tokens()
    assert client.check(token_registry.image("acme/app", "2.0")).status == "found"
    assert len(token_registry.token_requests) == 2


def test_credentials_go_to_the_realm_for_a_private_repository(
    token_registry: FakeTokenRegistry, make_client: ClientFactory
):
    token_registry.private.add("acme/secret")
    token_registry.push("acme/secret", "1.0")
    client = make_client(
        credentials={token_registry.registry: Credential("alice", token_registry.users["alice"])}
    )
    assert client.check(token_registry.image("acme/secret", "1.0")).status == "found"
    [token_request] = token_registry.token_requests
    assert token_request.headers["authorization"].startswith("Basic ")
    assert token_request.query["account"] == ["alice"]
    for request in token_registry.registry_requests:
        assert not request.headers.get("authorization", "").startswith("Basic ")


def test_a_private_repository_is_unauthorized_without_credentials(
    token_registry: FakeTokenRegistry, make_client: ClientFactory
):
    token_registry.private.add("acme/secret")
    token_registry.push("acme/secret", "1.0")
    check = make_client().check(token_registry.image("acme/secret", "1.0"))
    assert check.status == "unauthorized"
    assert "insufficient_scope" in check.detail
    assert len(token_registry.token_requests) == 1


def test_wrong_credentials_at_the_token_server_are_unauthorized(
    token_registry: FakeTokenRegistry, make_client: ClientFactory
):
    token_registry.push("acme/app", "1.0")
    client = make_client(credentials={token_registry.registry: Credential("alice", "wrong")})
    check = client.check(token_registry.image("acme/app", "1.0"))
    assert check.status == "unauthorized"
    assert "token server" in check.detail
    assert "alice" in check.detail


def test_a_missing_tag_behind_token_auth_is_not_found(
    token_registry: FakeTokenRegistry, make_client: ClientFactory
):
    token_registry.push("acme/app", "1.0")
    client = make_client()
    assert client.check(token_registry.image("acme/app", "9.9")).status == "not_found"
    assert client.check(token_registry.image("acme/gone", "1.0")).status == "not_found"


def test_concurrent_checks_share_one_token(
    token_registry: FakeTokenRegistry, make_client: ClientFactory
):
    tags = [f"1.{n}" for n in range(8)]
    for tag in tags:
        token_registry.push("acme/app", tag)
    images = [token_registry.image("acme/app", tag) for tag in tags]
    results = make_client().check_many(images)
    assert {image: check.status for image, check in results.items()} == dict.fromkeys(
        images, "found"
    )
    assert len(token_registry.token_requests) == 1
