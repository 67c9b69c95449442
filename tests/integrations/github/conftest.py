"""A fake GitHub on loopback and a client pointed at it.

One server per test module (starting and stopping uvicorn costs more than most
tests here), with its state reset before every test, so tests never see each
other's comments or statuses.

The client's backoff goes to a recorder instead of ``time.sleep``: retries are
observed (how many, how long they would have waited) without a test ever sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pilothouse.integrations.github import GitHubClient
from tests.fakes.github import FakeGitHub, serve_fake_github


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, FakeGitHub]]:
    with serve_fake_github() as served:
        yield served


@pytest.fixture
def github(server: tuple[str, FakeGitHub]) -> tuple[str, FakeGitHub]:
    """``(base_url, state)`` of a fake GitHub serving ``acme/gitops``, emptied."""
    server[1].reset()
    return server


@pytest.fixture
def fake(github: tuple[str, FakeGitHub]) -> FakeGitHub:
    return github[1]


@pytest.fixture
def waits() -> list[float]:
    """Backoff delays the client asked for, in order."""
    return []


@pytest.fixture
def client(github: tuple[str, FakeGitHub], waits: list[float]) -> Iterator[GitHubClient]:
    base_url, state = github
    with GitHubClient(state.token, base_url=base_url, timeout=5.0, sleep=waits.append) as client:
        yield client
