"""``parse_image`` agrees with Docker's reference normalisation, case by case."""

from __future__ import annotations

import pytest

from pilothouse.core.errors import PilothouseError
from pilothouse.integrations.registry import (
    ImageRef,
    InvalidImage,
    RegistryError,
    parse_image,
)

SHA256 = "sha256:" + "a" * 64
SHA512 = "sha512:" + "b" * 128

VALID = [
    ("nginx", ("docker.io", "library/nginx", "latest", None)),
    ("nginx:1.25", ("docker.io", "library/nginx", "1.25", None)),
    ("library/nginx", ("docker.io", "library/nginx", "latest", None)),
    ("docker.io/nginx", ("docker.io", "library/nginx", "latest", None)),
    ("docker.io/library/nginx:latest", ("docker.io", "library/nginx", "latest", None)),
    ("index.docker.io/nginx:1", ("docker.io", "library/nginx", "1", None)),
    ("bitnami/redis:7.2", ("docker.io", "bitnami/redis", "7.2", None)),
    ("myhost/app", ("docker.io", "myhost/app", "latest", None)),
    ("a/b/c/d", ("docker.io", "a/b/c/d", "latest", None)),
    ("ghcr.io/acme/app:v1.2.3", ("ghcr.io", "acme/app", "v1.2.3", None)),
    ("quay.io/org/team/app", ("quay.io", "org/team/app", "latest", None)),
    ("registry.example.com:443/app", ("registry.example.com:443", "app", "latest", None)),
    ("localhost/app", ("localhost", "app", "latest", None)),
    ("localhost:5000/app:dev", ("localhost:5000", "app", "dev", None)),
    ("127.0.0.1:5000/team/app:1", ("127.0.0.1:5000", "team/app", "1", None)),
    ("[::1]:5000/app:1", ("[::1]:5000", "app", "1", None)),
    ("MyRegistry/app", ("MyRegistry", "app", "latest", None)),
    (
        "my-app_2/some__name.x:Tag_1.0-rc",
        ("docker.io", "my-app_2/some__name.x", "Tag_1.0-rc", None),
    ),
    ("a--b/c", ("docker.io", "a--b/c", "latest", None)),
    (f"nginx@{SHA256}", ("docker.io", "library/nginx", None, SHA256)),
    (f"nginx:1.25@{SHA256}", ("docker.io", "library/nginx", "1.25", SHA256)),
    (f"ghcr.io/acme/app@{SHA512}", ("ghcr.io", "acme/app", None, SHA512)),
    (f"localhost:5000/app:1@{SHA256}", ("localhost:5000", "app", "1", SHA256)),
    ("nginx:" + "t" * 128, ("docker.io", "library/nginx", "t" * 128, None)),
]

INVALID = [
    ("", "empty reference"),
    ("NGINX", "lower case"),
    ("docker.io/Library/nginx", "lower case"),
    ("nginx:", "not [registry/]repository"),
    (":latest", "not [registry/]repository"),
    ("nginx:-bad", "not [registry/]repository"),
    ("nginx:" + "t" * 129, "not [registry/]repository"),
    ("app//x", "not [registry/]repository"),
    ("-app", "not [registry/]repository"),
    ("app-", "not [registry/]repository"),
    ("ex ample/app", "not [registry/]repository"),
    ("nginx ", "not [registry/]repository"),
    ("nginx\n", "not [registry/]repository"),
    ("localhost:port/app", "not a registry host"),
    ("https://ghcr.io/acme/app", "not a registry host"),
    ("-bad.example.com/app", "not a registry host"),
    ("my_app.x/app", "not a registry host"),
    ("nginx@sha256:abc", "not [registry/]repository"),
    ("nginx@sha256:" + "A" * 64, "lower-case hex"),
    ("nginx@sha256:" + "0" * 63, "64 lower-case hex"),
    ("nginx@md5:" + "0" * 32, "unsupported digest algorithm"),
    ("a" * 64, "image id"),
    ("a" * 250, "longer than 255"),
    ("x" * 2000, "longer than 1024"),
]


@pytest.mark.parametrize(("image", "expected"), VALID, ids=[case[0][:60] for case in VALID])
def test_references_normalise_like_docker(image: str, expected: tuple[str, str, str, str]):
    ref = parse_image(image)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == expected


@pytest.mark.parametrize(("image", "reason"), INVALID, ids=[case[0][:40] for case in INVALID])
def test_invalid_references_raise_invalid_image_with_the_reason(image: str, reason: str):
    with pytest.raises(InvalidImage) as raised:
        parse_image(image)
    error = raised.value
    assert error.code == "invalid_image"
    assert reason in error.details["reason"]
    assert error.details["image"] == (image if len(image) <= 200 else image[:200] + "…")
    assert isinstance(error, RegistryError)
    assert isinstance(error, PilothouseError)


def test_a_non_string_is_an_invalid_image():
    with pytest.raises(InvalidImage) as raised:
        parse_image(42)  # type: ignore[arg-type]
    assert raised.value.to_dict()["code"] == "invalid_image"


@pytest.mark.parametrize("image", [case[0] for case in VALID], ids=[c[0][:60] for c in VALID])
def test_the_canonical_string_parses_back_to_the_same_reference(image: str):
    ref = parse_image(image)
    assert parse_image(str(ref)) == ref


def test_the_reference_asked_for_is_the_digest_when_there_is_one():
    assert parse_image("nginx").reference == "latest"
    assert parse_image("nginx:1.25").reference == "1.25"
    assert parse_image(f"nginx:1.25@{SHA256}").reference == SHA256
    assert parse_image(f"nginx@{SHA256}").reference == SHA256


def test_the_canonical_string_names_registry_repository_tag_and_digest():
    assert str(parse_image("nginx")) == "docker.io/library/nginx:latest"
    assert str(parse_image(f"nginx@{SHA256}")) == f"docker.io/library/nginx@{SHA256}"
    ref = parse_image(f"ghcr.io/acme/app:1@{SHA256}")
    assert str(ref) == f"ghcr.io/acme/app:1@{SHA256}"
    assert ref.name == "ghcr.io/acme/app"
    assert ref == ImageRef("ghcr.io", "acme/app", "1", SHA256)
