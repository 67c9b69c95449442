"""Checks against a real CNCF Distribution registry (Debian's ``docker-registry``)."""

from __future__ import annotations

import pytest

from pilothouse.integrations.registry import Credential
from tests.integrations.registry.conftest import (
    PASSWORD,
    REPOSITORY,
    USERNAME,
    ClientFactory,
    Distribution,
    Pushed,
)

MISSING_DIGEST = "sha256:" + "0" * 64


@pytest.mark.parametrize("tag", ["1.0", "docker", "multi"])
def test_oci_docker_and_index_manifests_are_found_by_tag_with_their_digest(
    distribution: Distribution, pushed: Pushed, make_client: ClientFactory, tag: str
):
    check = make_client().check(distribution.image(REPOSITORY, tag))
    assert check.status == "found", check.detail
    assert check.digest == pushed.digests[tag]
    assert check.url == f"{distribution.url}/v2/{REPOSITORY}/manifests/{tag}"


def test_an_image_is_found_by_digest(
    distribution: Distribution, pushed: Pushed, make_client: ClientFactory
):
    digest = pushed.digests["1.0"]
    check = make_client().check(distribution.image(REPOSITORY, digest))
    assert check.status == "found", check.detail
    assert check.digest == digest
    assert check.url.endswith(f"/manifests/{digest}")


def test_with_tag_and_digest_the_digest_is_what_is_checked(
    distribution: Distribution, pushed: Pushed, make_client: ClientFactory
):
    client = make_client()
    pinned = f"{distribution.registry}/{REPOSITORY}:no-such-tag@{pushed.digests['docker']}"
    assert client.check(pinned).status == "found"
    unknown = f"{distribution.registry}/{REPOSITORY}:1.0@{MISSING_DIGEST}"
    assert client.check(unknown).status == "not_found"


def test_a_missing_tag_is_not_found(
    distribution: Distribution, pushed: Pushed, make_client: ClientFactory
):
    check = make_client().check(distribution.image(REPOSITORY, "9.9"))
    assert check.status == "not_found"
    assert check.digest is None
    assert "9.9" in check.detail


def test_a_missing_repository_is_not_found(
    distribution: Distribution, pushed: Pushed, make_client: ClientFactory
):
    check = make_client().check(distribution.image("acme/nothing-here", "1.0"))
    assert check.status == "not_found"


def test_an_unknown_digest_is_not_found(
    distribution: Distribution, pushed: Pushed, make_client: ClientFactory
):
    check = make_client().check(distribution.image(REPOSITORY, MISSING_DIGEST))
    assert check.status == "not_found"


def test_check_many_answers_every_image_against_a_real_registry(
    distribution: Distribution, pushed: Pushed, make_client: ClientFactory
):
    images = [
        distribution.image(REPOSITORY, "1.0"),
        distribution.image(REPOSITORY, "multi"),
        distribution.image(REPOSITORY, "9.9"),
        distribution.image("acme/nothing-here", "1.0"),
        f"{distribution.registry}/{REPOSITORY}:1.0",
    ]
    results = make_client().check_many(images)
    assert [results[image].status for image in images] == [
        "found",
        "found",
        "not_found",
        "not_found",
        "found",
    ]


def test_basic_auth_with_the_right_credentials_finds_the_image(
    auth_distribution: Distribution, make_client: ClientFactory
):
    client = make_client(credentials={auth_distribution.registry: Credential(USERNAME, PASSWORD)})
    assert client.check(auth_distribution.image(REPOSITORY, "1.0")).status == "found"
    assert client.check(auth_distribution.image(REPOSITORY, "9.9")).status == "not_found"


def test_basic_auth_with_a_wrong_password_is_unauthorized(
    auth_distribution: Distribution, make_client: ClientFactory
):
    client = make_client(credentials={auth_distribution.registry: Credential(USERNAME, "wrong")})
    check = client.check(auth_distribution.image(REPOSITORY, "1.0"))
    assert check.status == "unauthorized"
    assert USERNAME in check.detail
    assert "wrong" not in check.detail


def test_basic_auth_without_credentials_is_unauthorized(
    auth_distribution: Distribution, make_client: ClientFactory
):
    check = make_client().check(auth_distribution.image(REPOSITORY, "1.0"))
    assert check.status == "unauthorized"
    assert "none are configured" in check.detail


def test_credentials_for_another_registry_are_not_used(
    auth_distribution: Distribution, make_client: ClientFactory
):
    client = make_client(credentials={"ghcr.io": Credential(USERNAME, PASSWORD)})
    assert client.check(auth_distribution.image(REPOSITORY, "1.0")).status == "unauthorized"
