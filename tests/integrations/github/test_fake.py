"""The fake itself answers like GitHub where a client could notice the difference."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.github import FakeGitHub

REPO = "acme/gitops"


@pytest.fixture
def http(github: tuple[str, FakeGitHub]) -> Iterator[httpx.Client]:
    """A plain HTTP client with the fake's token: what GitHub would see from anyone."""
    base_url, fake = github
    headers = {"Authorization": f"Bearer {fake.token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=5.0) as http:
        yield http


def test_a_missing_token_gets_githubs_401_body(github: tuple[str, FakeGitHub]):
    base_url, _ = github
    with httpx.Client(base_url=base_url, timeout=5.0) as anonymous:
        response = anonymous.get(f"/repos/{REPO}/pulls/1/files")
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"


def test_lists_page_with_a_link_header(http: httpx.Client, fake: FakeGitHub):
    number = fake.open_issue()
    fake.seed_comments(number, [str(i) for i in range(5)])
    first = http.get(f"/repos/{REPO}/issues/{number}/comments", params={"per_page": 2})
    middle = http.get(f"/repos/{REPO}/issues/{number}/comments", params={"per_page": 2, "page": 2})
    assert [c["body"] for c in first.json()] == ["0", "1"]
    assert first.links["next"]["url"].endswith("per_page=2&page=2")
    assert first.links["last"]["url"].endswith("per_page=2&page=3")
    assert "prev" not in first.links
    assert middle.links["prev"]["url"].endswith("page=1")


def test_list_pages_default_to_30_and_cap_at_100(http: httpx.Client, fake: FakeGitHub):
    number = fake.open_issue()
    fake.seed_comments(number, ["x"] * 150)
    default = http.get(f"/repos/{REPO}/issues/{number}/comments")
    capped = http.get(f"/repos/{REPO}/issues/{number}/comments", params={"per_page": 500})
    assert len(default.json()) == 30
    assert len(capped.json()) == 100


def test_created_resources_answer_201_and_edits_200(http: httpx.Client, fake: FakeGitHub):
    number = fake.open_issue()
    created = http.post(f"/repos/{REPO}/issues/{number}/comments", json={"body": "hi"})
    edited = http.patch(
        f"/repos/{REPO}/issues/comments/{created.json()['id']}", json={"body": "bye"}
    )
    assert created.status_code == 201
    assert set(created.json()) >= {"id", "body", "html_url", "user"}
    assert edited.status_code == 200
    assert edited.json()["body"] == "bye"


def test_every_answer_carries_rate_limit_headers(http: httpx.Client, fake: FakeGitHub):
    response = http.post(
        f"/repos/{REPO}/statuses/{'a' * 40}", json={"state": "success", "context": "ci"}
    )
    assert response.status_code == 201
    assert response.headers["x-ratelimit-limit"] == "5000"
    assert response.headers["x-ratelimit-remaining"] == "4999"


def test_an_unknown_route_is_a_json_404(http: httpx.Client):
    response = http.delete(f"/repos/{REPO}/statuses/{'a' * 40}")
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"


def test_a_status_description_over_140_characters_is_refused(http: httpx.Client):
    response = http.post(
        f"/repos/{REPO}/statuses/{'a' * 40}",
        json={"state": "success", "context": "ci", "description": "x" * 141},
    )
    assert response.status_code == 422
    assert response.json()["message"] == "Validation Failed"
