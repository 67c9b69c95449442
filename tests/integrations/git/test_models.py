from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pilothouse.integrations.git import (
    CODES,
    ZERO_SHA,
    CommitInfo,
    Identity,
    InvalidArgument,
    zero_sha,
)


def test_zero_sha_recognises_only_full_length_zero_ids():
    assert zero_sha(ZERO_SHA)
    assert zero_sha("0" * 64)
    assert not zero_sha("0000000")
    assert not zero_sha("0" * 39 + "1")
    assert not zero_sha("")
    assert not zero_sha(None)


@pytest.mark.parametrize(
    ("name", "email"),
    [("", "a@b"), ("  ", "a@b"), ("a", ""), ("a<b", "a@b"), ("a", "a>b"), ("a\nb", "a@b")],
)
def test_identities_git_cannot_store_are_refused(name: str, email: str):
    with pytest.raises(InvalidArgument):
        Identity(name, email)


def test_an_identity_reads_like_a_git_author():
    assert str(Identity("deployer-agent", "d@agents.test")) == "deployer-agent <d@agents.test>"


def test_the_summary_is_the_first_line_of_the_message():
    info = CommitInfo("a" * 40, "n", "e", "Subject\n\nBody\n", datetime(2026, 1, 1, tzinfo=UTC))
    assert info.summary == "Subject"


def test_error_codes_are_stable():
    assert CODES == (
        "git_error",
        "git_unreachable",
        "git_auth_failed",
        "git_not_found",
        "git_conflict",
        "invalid_argument",
    )
