"""A local stand-in for an OpenAI-compatible ``POST /v1/embeddings`` endpoint.

Shape as documented by OpenAI (and served by Ollama, TEI, vLLM): request
``{"model", "input": [str]}``, response ``{"object": "list", "model",
"data": [{"object": "embedding", "index", "embedding": [float]}], "usage"}``.
Vectors are deterministic bag-of-words hashes, so equal words give close vectors.
"""

from __future__ import annotations

import hashlib
import json
import re

import httpx

DIM = 64


def vector(text: str) -> list[float]:
    out = [0.0] * DIM
    for word in re.findall(r"\w+", text.lower()):
        out[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
    return out


def transport(*, model_seen: list[str] | None = None, fail: bool = False) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v1/embeddings" or request.method != "POST":
            return httpx.Response(404, json={"error": {"message": "not found"}})
        if fail:
            return httpx.Response(503, json={"error": {"message": "overloaded"}})
        body = json.loads(request.content)
        if model_seen is not None:
            model_seen.append(body["model"])
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return httpx.Response(
            200,
            json={
                "object": "list",
                "model": body["model"],
                "data": [
                    {"object": "embedding", "index": i, "embedding": vector(text)}
                    for i, text in enumerate(inputs)
                ],
                "usage": {"prompt_tokens": 0, "total_tokens": 0},
            },
        )

    return httpx.MockTransport(handle)
