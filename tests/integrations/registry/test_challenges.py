"""``WWW-Authenticate`` and token answers are read as RFC 7235 and the token spec say."""

from __future__ import annotations

import pytest

from pilothouse.integrations.registry import Challenge, parse_challenges, token_from_json
from pilothouse.integrations.registry.challenges import (
    DEFAULT_TOKEN_SECONDS,
    basic_authorization,
    preferred_challenge,
)


def test_a_docker_hub_challenge_keeps_commas_inside_quoted_values():
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/nginx:pull,push"'
    )
    assert parse_challenges([header]) == [
        Challenge(
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/nginx:pull,push",
            },
        )
    ]


def test_several_challenges_in_one_header_and_across_headers_are_all_read():
    found = parse_challenges(['Basic realm="a", Bearer realm="b",  service=reg', "Basic"])
    assert [(c.scheme, dict(c.params)) for c in found] == [
        ("basic", {"realm": "a"}),
        ("bearer", {"realm": "b", "service": "reg"}),
        ("basic", {}),
    ]


def test_scheme_and_parameter_names_are_case_insensitive_and_escapes_are_undone():
    [challenge] = parse_challenges(['BEARER Realm="https://x/t",Error="a \\"quoted\\" word"'])
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://x/t"
    assert challenge.params["error"] == 'a "quoted" word'


@pytest.mark.parametrize("header", ["", "   ", '="x"', ","])
def test_nonsense_yields_no_challenge(header: str):
    assert parse_challenges([header]) == []


def test_a_broken_header_keeps_what_was_understood():
    [challenge] = parse_challenges(['Bearer service="s",realm="unterminated'])
    assert challenge.service == "s"
    assert not challenge.realm


def test_bearer_is_preferred_over_basic():
    basic, bearer = Challenge("basic"), Challenge("bearer", {"realm": "r"})
    assert preferred_challenge([basic, bearer]) is bearer
    assert preferred_challenge([Challenge("negotiate"), basic]) is basic
    assert preferred_challenge([Challenge("negotiate")]) == Challenge("negotiate")
    assert preferred_challenge([]) is None


def test_token_answers_name_the_token_either_way_and_default_to_60_seconds():
    assert token_from_json({"token": "t", "expires_in": 300}).expires_in == 300  # type: ignore[union-attr]
    only_oauth = token_from_json({"access_token": "a"})
    assert only_oauth is not None
    assert (only_oauth.value, only_oauth.expires_in) == ("a", DEFAULT_TOKEN_SECONDS)
    assert token_from_json({"token": "t", "expires_in": "soon"}).expires_in == 60  # type: ignore[union-attr]
    assert token_from_json({"token": ""}) is None
    assert token_from_json({"token": 5}) is None
    assert token_from_json(None) is None


def test_a_token_never_shows_in_its_repr():
    token = token_from_json({"token": "very-secret"})
    assert "very-secret" not in repr(token)


def test_basic_authorization_is_base64_of_user_colon_password():
    assert basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
