"""The fake token registry answers like the token spec where a client could notice."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pilothouse.integrations.registry import parse_challenges
from tests.fakes.registry_auth import OCI_MANIFEST, FakeTokenRegistry


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as http:
        yield http


def _token(http: httpx.Client, fake: FakeTokenRegistry, scope: str) -> str:
    answer = http.get(fake.realm, params={"service": fake.service, "scope": scope})
    assert answer.status_code == 200
    body = answer.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300
    assert body["issued_at"].endswith("Z")
    return str(body["token"])


def test_the_base_endpoint_challenges_without_a_scope(
    http: httpx.Client, token_registry: FakeTokenRegistry
):
    answer = http.get(f"http://{token_registry.registry}/v2/")
    assert answer.status_code == 401
    assert answer.headers["docker-distribution-api-version"] == "registry/2.0"
    [challenge] = parse_challenges(answer.headers.get_list("www-authenticate"))
    assert dict(challenge.params) == {
        "realm": token_registry.realm,
        "service": token_registry.service,
    }


def test_a_manifest_challenge_names_the_scope_and_the_body_lists_the_access(
    http: httpx.Client, token_registry: FakeTokenRegistry
):
    answer = http.get(f"http://{token_registry.registry}/v2/acme/app/manifests/1")
    [challenge] = parse_challenges(answer.headers.get_list("www-authenticate"))
    assert challenge.params["scope"] == "repository:acme/app:pull"
    [error] = answer.json()["errors"]
    assert error["code"] == "UNAUTHORIZED"
    assert error["detail"] == [{"Type": "repository", "Name": "acme/app", "Action": "pull"}]


def test_a_token_serves_manifests_with_digest_and_media_type(
    http: httpx.Client, token_registry: FakeTokenRegistry
):
    digest = token_registry.push("acme/app", "1")
    token = _token(http, token_registry, "repository:acme/app:pull")
    url = f"http://{token_registry.registry}/v2/acme/app/manifests/1"
    headers = {"Authorization": f"Bearer {token}", "Accept": OCI_MANIFEST}
    answer = http.get(url, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["docker-content-digest"] == digest
    assert answer.headers["content-type"] == OCI_MANIFEST
    assert http.head(url, headers=headers).status_code == 200
    other = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    assert http.get(url, headers=other).json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    missing = http.get(f"http://{token_registry.registry}/v2/acme/app/manifests/2", headers=headers)
    assert missing.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    gone_token = _token(http, token_registry, "repository:acme/gone:pull")
    gone = http.get(
        f"http://{token_registry.registry}/v2/acme/gone/manifests/1",
        headers={"Authorization": f"Bearer {gone_token}"},
    )
    assert gone.json()["errors"][0]["code"] == "NAME_UNKNOWN"


def test_a_token_without_the_scope_gets_insufficient_scope(
    http: httpx.Client, token_registry: FakeTokenRegistry
):
    token_registry.push("acme/app", "1")
    token = _token(http, token_registry, "repository:acme/other:pull")
    answer = http.head(
        f"http://{token_registry.registry}/v2/acme/app/manifests/1",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 401
    [challenge] = parse_challenges(answer.headers.get_list("www-authenticate"))
    assert challenge.params["error"] == "insufficient_scope"


def test_the_token_server_refuses_bad_credentials_and_unknown_services(
    http: httpx.Client, token_registry: FakeTokenRegistry
):
    params = {"service": token_registry.service, "scope": "repository:acme/app:pull"}
    wrong = http.get(token_registry.realm, params=params, auth=("alice", "nope"))
    assert wrong.status_code == 401
    assert wrong.json() == {"details": "incorrect username or password"}
    right = http.get(token_registry.realm, params=params, auth=("alice", "s3cret"))
    assert right.status_code == 200
    other = http.get(token_registry.realm, params={**params, "service": "elsewhere"})
    assert other.status_code == 400
