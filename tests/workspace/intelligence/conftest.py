"""Services with a chosen embedder; the real local model is loaded once per session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pilothouse.core.settings import Settings
from pilothouse.workspace.intelligence.embedders import Embedder
from pilothouse.workspace.intelligence.minilm import LocalMiniLM
from pilothouse.workspace.service import WorkspaceService

MakeService = Callable[..., WorkspaceService]


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    if not LocalMiniLM.available():
        pytest.skip("the 'semantic' extra (torch, sentence-transformers) is not installed")
    model = LocalMiniLM()
    model.embed(["warm up"])
    return model


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[MakeService]:
    opened: list[WorkspaceService] = []

    def make(embedder: Embedder | None, *, home: str = "home", **settings: Any) -> WorkspaceService:
        service = WorkspaceService(Settings(home=tmp_path / home, **settings), embedder=embedder)
        opened.append(service)
        return service

    yield make
    for service in opened:
        service.close()
