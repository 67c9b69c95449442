"""The REST client against the fake GitHub over real HTTP on loopback."""

from __future__ import annotations

import socket

import httpx
import pytest

from pilothouse.integrations.github import (
    Comment,
    Forbidden,
    GitHubClient,
    Invalid,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
    comment_marker,
)
from tests.fakes.github import FakeGitHub

REPO = "acme/gitops"
SHA = "0123456789abcdef0123456789abcdef01234567"


# -- statuses -------------------------------------------------------------------------


def test_a_status_is_posted_with_its_context_state_and_link(client: GitHubClient, fake: FakeGitHub):
    status = client.create_status(
        REPO,
        SHA,
        state="pending",
        context="pilothouse/validate",
        description="kubeconform running",
        target_url="https://pilothouse.example/runs/7",
    )
    [posted] = fake.statuses[SHA]
    assert (posted["state"], posted["context"]) == ("pending", "pilothouse/validate")
    assert posted["description"] == "kubeconform running"
    assert posted["target_url"] == "https://pilothouse.example/runs/7"
    assert status.id == posted["id"]
    assert (status.state, status.context) == ("pending", "pilothouse/validate")


def test_the_request_carries_githubs_auth_and_version_headers(
    client: GitHubClient, fake: FakeGitHub
):
    client.create_status(REPO, SHA, state="success", context="ci")
    headers = fake.requests[-1].headers
    assert headers["authorization"] == f"Bearer {fake.token}"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["user-agent"].startswith("pilothouse")


def test_a_long_description_is_cut_to_githubs_limit_instead_of_refused(
    client: GitHubClient, fake: FakeGitHub
):
    status = client.create_status(REPO, SHA, state="failure", context="ci", description="x" * 500)
    assert len(status.description) == 140
    assert status.description.endswith("…")
    assert len(fake.statuses[SHA][0]["description"]) == 140


def test_without_a_target_url_none_is_sent(client: GitHubClient, fake: FakeGitHub):
    status = client.create_status(REPO, SHA, state="success", context="ci")
    assert "target_url" not in fake.requests[-1].json
    assert status.target_url is None


def test_an_unknown_state_is_refused_before_any_request(client: GitHubClient, fake: FakeGitHub):
    with pytest.raises(ValueError, match="state"):
        client.create_status(REPO, SHA, state="done", context="ci")  # type: ignore[arg-type]
    assert fake.requests == []


def test_a_status_on_an_unknown_commit_is_invalid(client: GitHubClient):
    with pytest.raises(Invalid, match="No commit found"):
        client.create_status(REPO, "not-a-sha", state="success", context="ci")


def test_an_unknown_repository_is_not_found(client: GitHubClient):
    with pytest.raises(NotFound) as caught:
        client.create_status("acme/missing", SHA, state="success", context="ci")
    assert caught.value.code == "github_not_found"
    assert caught.value.details["status"] == 404


# -- comments -------------------------------------------------------------------------


def test_upserting_twice_with_one_key_leaves_one_updated_comment(
    client: GitHubClient, fake: FakeGitHub
):
    number = fake.open_issue()
    first = client.upsert_comment(REPO, number, key="plan", body="3 resources change")
    second = client.upsert_comment(REPO, number, key="plan", body="4 resources change")
    [only] = fake.comments[number]
    assert second.id == first.id == only["id"]
    assert only["body"] == f"{comment_marker('plan')}\n4 resources change"
    assert second.body == only["body"]
    assert len(fake.calls("POST", "/comments")) == 1
    assert len(fake.calls("PATCH")) == 1


def test_different_keys_get_their_own_comments(client: GitHubClient, fake: FakeGitHub):
    number = fake.open_issue()
    client.upsert_comment(REPO, number, key="plan", body="plan")
    client.upsert_comment(REPO, number, key="plan-policy", body="policy")
    bodies = [c["body"] for c in fake.comments[number]]
    assert bodies == ["<!-- pilothouse:plan -->\nplan", "<!-- pilothouse:plan-policy -->\npolicy"]


def test_an_unchanged_body_is_not_written_again(client: GitHubClient, fake: FakeGitHub):
    number = fake.open_issue()
    first = client.upsert_comment(REPO, number, key="plan", body="same")
    again = client.upsert_comment(REPO, number, key="plan", body="same")
    assert again == first
    assert fake.calls("PATCH") == []
    assert len(fake.calls("POST")) == 1


def test_the_comment_is_found_past_the_first_page(client: GitHubClient, fake: FakeGitHub):
    number = fake.open_issue()
    fake.seed_comments(number, [f"chatter {i}" for i in range(230)])
    fake.seed_comments(number, [f"{comment_marker('plan')}\nold"], login=fake.login)
    fake.seed_comments(number, ["more chatter"])
    updated = client.upsert_comment(REPO, number, key="plan", body="new")
    assert len(fake.comments[number]) == 232
    assert fake.comments[number][230]["body"] == f"{comment_marker('plan')}\nnew"
    assert updated.id == fake.comments[number][230]["id"]
    pages = [r.query for r in fake.calls("GET", "/comments")]
    assert pages == [{"per_page": "100", "page": str(n)} for n in (1, 2, 3)]


def test_paging_stops_at_a_short_page_and_creates_when_absent(
    client: GitHubClient, fake: FakeGitHub
):
    number = fake.open_issue()
    fake.seed_comments(number, ["chatter"] * 200)
    client.upsert_comment(REPO, number, key="plan", body="first")
    # Two full pages, then an empty (short) third one.
    assert len(fake.calls("GET", "/comments")) == 3
    assert len(fake.comments[number]) == 201


def test_a_quoted_marker_in_someone_elses_comment_is_not_taken_for_ours(
    client: GitHubClient, fake: FakeGitHub
):
    number = fake.open_issue()
    fake.seed_comments(number, [f"> {comment_marker('plan')}\n> old\n\nwhy?"])
    client.upsert_comment(REPO, number, key="plan", body="new")
    assert len(fake.comments[number]) == 2
    assert fake.calls("PATCH") == []


def test_a_comment_is_returned_with_its_author_and_link(client: GitHubClient, fake: FakeGitHub):
    number = fake.open_issue()
    comment = client.upsert_comment(REPO, number, key="plan", body="x")
    assert comment == Comment(
        id=fake.comments[number][0]["id"],
        body=f"{comment_marker('plan')}\nx",
        html_url=fake.comments[number][0]["html_url"],
        author=fake.login,
    )


def test_a_comment_on_a_missing_issue_is_not_found(client: GitHubClient):
    with pytest.raises(NotFound):
        client.upsert_comment(REPO, 999, key="plan", body="x")


@pytest.mark.parametrize("key", ["", "has space", "x-->y", "-leading", "k" * 101])
def test_a_key_that_could_break_the_marker_is_refused(client: GitHubClient, key: str):
    with pytest.raises(ValueError, match="key"):
        client.upsert_comment(REPO, 1, key=key, body="x")


# -- pull requests --------------------------------------------------------------------


def test_a_pull_request_is_opened(client: GitHubClient, fake: FakeGitHub):
    pull = client.open_pull_request(
        REPO, title="Revert bump", head="revert-bump", base="main", body="Rollback."
    )
    [stored] = fake.pulls
    assert pull.number == stored["number"]
    assert pull.html_url == stored["html_url"]
    assert (stored["head"]["ref"], stored["base"]["ref"]) == ("revert-bump", "main")
    assert stored["title"] == "Revert bump"
    assert stored["body"] == "Rollback."


def test_a_second_pull_request_for_the_same_head_is_invalid(client: GitHubClient, fake: FakeGitHub):
    client.open_pull_request(REPO, title="one", head="revert-bump", base="main")
    with pytest.raises(Invalid) as caught:
        client.open_pull_request(REPO, title="two", head="revert-bump", base="main")
    assert caught.value.code == "github_invalid"
    assert "Validation Failed" in caught.value.message
    assert "A pull request already exists for acme:revert-bump." in caught.value.message
    assert caught.value.details["message"] == "Validation Failed"
    assert caught.value.details["status"] == 422
    assert len(fake.pulls) == 1


def test_a_pull_request_into_its_own_branch_is_invalid(client: GitHubClient):
    with pytest.raises(Invalid, match="No commits between main and main"):
        client.open_pull_request(REPO, title="noop", head="main", base="main")


def test_the_files_of_a_pull_request_are_read_across_pages(client: GitHubClient, fake: FakeGitHub):
    number = fake.seed_pull(head="bump-all")
    names = [f"apps/app-{i:03d}/values.yaml" for i in range(250)]
    fake.set_pull_files(number, names)
    assert client.pull_request_files(REPO, number) == names
    assert len(fake.calls("GET", "/files")) == 3


def test_the_files_of_a_missing_pull_request_are_not_found(client: GitHubClient):
    with pytest.raises(NotFound):
        client.pull_request_files(REPO, 404)


# -- failures -------------------------------------------------------------------------


def test_a_wrong_token_is_unauthorized(github: tuple[str, FakeGitHub]):
    base_url, fake = github
    with (
        GitHubClient("ghp_wrong", base_url=base_url, timeout=5.0) as client,
        pytest.raises(Unauthorized) as caught,
    ):
        client.create_status(REPO, SHA, state="success", context="ci")
    assert caught.value.code == "github_unauthorized"
    assert "Bad credentials" in caught.value.message
    assert not caught.value.retryable
    assert fake.statuses == {}


def test_a_get_is_retried_after_a_502_with_backoff(
    client: GitHubClient, fake: FakeGitHub, waits: list[float]
):
    number = fake.seed_pull(head="bump")
    fake.set_pull_files(number, ["a.yaml"])
    fake.fail_next(2, status=502, message="Server Error")
    assert client.pull_request_files(REPO, number) == ["a.yaml"]
    assert len(fake.calls("GET", "/files")) == 3
    assert waits == [0.5, 1.0]


def test_a_get_gives_up_as_unavailable_after_its_attempts(
    client: GitHubClient, fake: FakeGitHub, waits: list[float]
):
    number = fake.seed_pull(head="bump")
    fake.fail_next(5, status=503, message="Service Unavailable")
    with pytest.raises(Unavailable) as caught:
        client.pull_request_files(REPO, number)
    assert caught.value.code == "github_unavailable"
    assert caught.value.retryable
    assert caught.value.details["status"] == 503
    assert len(fake.calls("GET", "/files")) == 3
    assert len(waits) == 2


def test_a_post_is_not_retried_after_a_502(
    client: GitHubClient, fake: FakeGitHub, waits: list[float]
):
    fake.fail_next(1, status=502)
    with pytest.raises(Unavailable):
        client.create_status(REPO, SHA, state="success", context="ci")
    assert len(fake.calls("POST")) == 1
    assert waits == []
    assert fake.statuses == {}


def test_an_exhausted_quota_is_rate_limited_with_its_reset_time(
    client: GitHubClient, fake: FakeGitHub, waits: list[float]
):
    fake.rate_limit_remaining = 0
    with pytest.raises(RateLimited) as caught:
        client.pull_request_files(REPO, 1)
    error = caught.value
    assert error.code == "github_rate_limited"
    assert error.retryable
    assert error.reset_at == fake.rate_limit_reset
    assert error.details["reset_at"] == fake.rate_limit_reset
    assert error.retry_after is None
    assert "API rate limit exceeded" in error.message
    assert waits == []  # rate limits are the caller's to wait out


def test_a_429_is_rate_limited_with_retry_after(client: GitHubClient, fake: FakeGitHub):
    fake.fail_next(1, status=429, message="Too Many Requests", headers={"retry-after": "30"})
    with pytest.raises(RateLimited) as caught:
        client.create_status(REPO, SHA, state="success", context="ci")
    assert caught.value.retry_after == 30.0
    assert caught.value.details["retry_after"] == 30.0


def test_a_secondary_rate_limit_403_with_retry_after_is_rate_limited(
    client: GitHubClient, fake: FakeGitHub
):
    fake.fail_next(
        1,
        status=403,
        message="You have exceeded a secondary rate limit.",
        headers={"retry-after": "60"},
    )
    with pytest.raises(RateLimited) as caught:
        client.open_pull_request(REPO, title="t", head="h", base="main")
    assert caught.value.retry_after == 60.0


def test_a_plain_403_is_forbidden_not_rate_limited(client: GitHubClient, fake: FakeGitHub):
    fake.fail_next(1, status=403, message="Resource not accessible by integration")
    with pytest.raises(Forbidden) as caught:
        client.create_status(REPO, SHA, state="success", context="ci")
    assert caught.value.code == "github_forbidden"
    assert "Resource not accessible by integration" in caught.value.message
    assert not isinstance(caught.value, RateLimited)


def test_a_refused_connection_is_unavailable_and_retried_for_gets(waits: list[float]):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now: every connection is refused at once.
    with (
        GitHubClient("t", base_url=f"http://127.0.0.1:{port}", sleep=waits.append) as client,
        pytest.raises(Unavailable) as caught,
    ):
        client.pull_request_files(REPO, 1)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(waits) == 2
