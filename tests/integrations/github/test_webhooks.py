"""Webhooks: signatures against GitHub's published vector, payloads as GitHub sends them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pilothouse.integrations.github import (
    InvalidPayload,
    InvalidSignature,
    PingEvent,
    PullRequestEvent,
    PushEvent,
    UnsupportedEvent,
    branch_of,
    parse_event,
    push_changed_paths,
    sign,
    verify_signature,
)

SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
VECTOR = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
SHA_A = "a" * 40
SHA_B = "b" * 40


def push_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "ref": "refs/heads/main",
        "before": SHA_A,
        "after": SHA_B,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": "https://github.com/acme/gitops/compare/aaaa...bbbb",
        "repository": {
            "id": 1,
            "full_name": "acme/gitops",
            "clone_url": "https://github.com/acme/gitops.git",
            "default_branch": "main",
        },
        "pusher": {"name": "alice", "email": "alice@example.com"},
        "head_commit": {
            "id": SHA_B,
            "message": "bump api",
            "added": [],
            "modified": ["apps/api/values.yaml"],
            "removed": [],
        },
        "commits": [
            {
                "id": "c" * 40,
                "message": "add web",
                "added": ["apps/web/kustomization.yaml", "apps/web/deploy.yaml"],
                "modified": ["apps/api/values.yaml"],
                "removed": [],
            },
            {
                "id": SHA_B,
                "message": "bump api",
                "added": [],
                "modified": ["apps/api/values.yaml"],
                "removed": ["apps/old/deploy.yaml"],
            },
        ],
    }
    payload.update(overrides)
    return payload


def pull_request_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "action": "synchronize",
        "number": 42,
        "pull_request": {
            "id": 9,
            "number": 42,
            "title": "Bump api",
            "html_url": "https://github.com/acme/gitops/pull/42",
            "state": "open",
            "merged": False,
            "head": {"ref": "bump-api", "sha": SHA_B, "label": "acme:bump-api"},
            "base": {"ref": "main", "sha": SHA_A, "label": "acme:main"},
        },
        "repository": {"full_name": "acme/gitops", "clone_url": "https://x/acme/gitops.git"},
        "sender": {"login": "alice"},
    }
    payload.update(overrides)
    return payload


def encode(payload: object) -> bytes:
    return json.dumps(payload).encode()


# -- signatures -----------------------------------------------------------------------


def test_signing_reproduces_githubs_published_vector():
    assert sign(SECRET, BODY) == VECTOR


def test_the_published_vector_verifies():
    verify_signature(SECRET, BODY, VECTOR)


def test_an_uppercase_hex_digest_verifies():
    verify_signature(SECRET, BODY, "sha256=" + VECTOR.removeprefix("sha256=").upper())


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        VECTOR.removeprefix("sha256="),  # no prefix
        "sha1=" + "0" * 40,  # the legacy X-Hub-Signature
        "sha256=" + "0" * 63,  # too short
        "sha256=" + "z" * 64,  # not hex
        "sha256=" + "é" * 64,  # not ASCII: must not reach compare_digest as str
    ],
)
def test_a_missing_or_malformed_signature_is_refused(header: str | None):
    with pytest.raises(InvalidSignature) as caught:
        verify_signature(SECRET, BODY, header)
    assert caught.value.code == "invalid_signature"


def test_a_signature_for_another_body_is_refused():
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_signature(SECRET, b"Hello, World?", VECTOR)


def test_a_signature_under_another_secret_is_refused():
    with pytest.raises(InvalidSignature):
        verify_signature("another secret", BODY, VECTOR)


def test_an_empty_secret_is_a_configuration_error_not_a_pass():
    with pytest.raises(ValueError, match="secret"):
        verify_signature("", BODY, sign("x", BODY))


# -- payloads -------------------------------------------------------------------------


def test_a_ping_is_parsed():
    event = parse_event("ping", encode({"zen": "Keep it logically awesome.", "hook_id": 7}))
    assert isinstance(event, PingEvent)
    assert event.hook_id == 7
    assert event.zen == "Keep it logically awesome."


def test_a_push_is_parsed_and_unknown_fields_are_ignored():
    event = parse_event("push", encode(push_payload()))
    assert isinstance(event, PushEvent)
    assert event.ref == "refs/heads/main"
    assert (event.before, event.after) == (SHA_A, SHA_B)
    assert (event.created, event.deleted, event.forced) == (False, False, False)
    assert event.repository.full_name == "acme/gitops"
    assert event.repository.clone_url == "https://github.com/acme/gitops.git"
    assert event.head_commit is not None
    assert event.head_commit.id == SHA_B
    assert [c.id for c in event.commits] == ["c" * 40, SHA_B]
    assert event.commits[1].removed == ("apps/old/deploy.yaml",)


def test_a_branch_deletion_has_no_head_commit():
    payload = push_payload(deleted=True, after="0" * 40, head_commit=None, commits=[])
    event = parse_event("push", encode(payload))
    assert isinstance(event, PushEvent)
    assert event.deleted
    assert event.head_commit is None
    assert push_changed_paths(event) == []


def test_a_pull_request_is_parsed():
    event = parse_event("pull_request", encode(pull_request_payload()))
    assert isinstance(event, PullRequestEvent)
    assert (event.action, event.number) == ("synchronize", 42)
    assert (event.pull_request.head.sha, event.pull_request.head.ref) == (SHA_B, "bump-api")
    assert (event.pull_request.base.sha, event.pull_request.base.ref) == (SHA_A, "main")
    assert event.pull_request.merged is False
    assert event.repository.full_name == "acme/gitops"


def test_a_merged_pull_request_says_so():
    payload = pull_request_payload(action="closed")
    payload["pull_request"]["merged"] = True
    event = parse_event("pull_request", encode(payload))
    assert isinstance(event, PullRequestEvent)
    assert event.pull_request.merged is True


def test_an_event_we_do_not_handle_is_acknowledged_without_reading_its_body():
    event = parse_event("workflow_run", b"not even json")
    assert event == UnsupportedEvent(event="workflow_run")


@pytest.mark.parametrize("event_name", ["ping", "push", "pull_request"])
def test_malformed_json_is_an_invalid_payload_with_a_short_reason(event_name: str):
    with pytest.raises(InvalidPayload) as caught:
        parse_event(event_name, b'{"ref": "refs/heads/main",')
    assert caught.value.code == "invalid_payload"
    assert caught.value.message.startswith(f"{event_name} payload is not valid JSON at line 1")
    assert "Traceback" not in caught.value.message


def test_a_body_that_is_not_utf8_is_an_invalid_payload():
    with pytest.raises(InvalidPayload, match="not valid JSON"):
        parse_event("push", b"\xff\xfe{}")


def test_a_json_array_is_an_invalid_payload():
    with pytest.raises(InvalidPayload, match="must be a JSON object"):
        parse_event("push", b"[]")


def test_a_push_without_after_names_the_missing_field():
    payload = push_payload()
    del payload["after"]
    with pytest.raises(InvalidPayload) as caught:
        parse_event("push", encode(payload))
    assert caught.value.message == "push payload: missing field: after"
    assert caught.value.details["errors"] == [{"field": "after", "problem": "missing field"}]


def test_a_push_without_a_clone_url_is_invalid():
    payload = push_payload()
    del payload["repository"]["clone_url"]
    with pytest.raises(InvalidPayload, match=r"missing field: repository\.clone_url"):
        parse_event("push", encode(payload))


def test_a_pull_request_without_head_sha_names_the_nested_field():
    payload = pull_request_payload()
    del payload["pull_request"]["head"]["sha"]
    with pytest.raises(InvalidPayload) as caught:
        parse_event("pull_request", encode(payload))
    assert caught.value.message == "pull_request payload: missing field: pull_request.head.sha"


def test_a_field_of_the_wrong_type_is_invalid_and_the_value_is_not_echoed():
    payload = pull_request_payload(number={"secret": "do-not-echo"})
    with pytest.raises(InvalidPayload) as caught:
        parse_event("pull_request", encode(payload))
    assert "number" in caught.value.message
    assert "do-not-echo" not in str(caught.value.to_dict())


# -- helpers --------------------------------------------------------------------------


def test_changed_paths_are_the_sorted_union_over_commits():
    event = parse_event("push", encode(push_payload()))
    assert isinstance(event, PushEvent)
    assert push_changed_paths(event) == [
        "apps/api/values.yaml",
        "apps/old/deploy.yaml",
        "apps/web/deploy.yaml",
        "apps/web/kustomization.yaml",
    ]


@pytest.mark.parametrize(
    ("ref", "branch"),
    [
        ("refs/heads/main", "main"),
        ("refs/heads/feature/login", "feature/login"),
        ("refs/tags/v1.2.3", None),
        ("refs/heads/", None),
        ("refs/pull/42/merge", None),
        ("main", None),
    ],
)
def test_branch_of_a_ref(ref: str, branch: str | None):
    assert branch_of(ref) == branch
