"""The question-time encoder: the exported graph run by the OpenVINO runtime, text
tokenised by the `tokenizers` library from the export's ``tokenizer.json``, pooling and
normalisation done here in numpy, every setting read from the export's own files
(``bot.encoding.spec``). Imports neither torch, transformers nor sentence-transformers:
loading it costs about a tenth of what importing them does."""

from __future__ import annotations

import functools
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.encoding.export import OV_CONFIG, Export
from bot.encoding.pooling import normalize_rows, pool, pool_spans
from bot.encoding.spec import ModelSpec, UnsupportedModel, read_spec

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

COMPILED = "compiled"  # OpenVINO's cache of the compiled graph, inside the export folder


@functools.cache
def openvino_core() -> Any:
    """The process's one OpenVINO ``Core``, kept for its lifetime and shared by every graph
    compiled here (the embedder's, the reader's). Each Core's CPU plugin pushes an
    alternate signal stack (about 10 kB) on the thread that first compiles with it, and pops
    back to the previous one when destroyed; Cores destroyed out of order leave that thread
    on a freed stack. Python runs its signal handlers there (``SA_ONSTACK``), so the next
    SIGTERM crashed the process (seen in the tests, which open several readers)."""
    import openvino

    return openvino.Core()


@dataclass(frozen=True)
class TokenBatch:
    """One forward pass: token vectors (batch, length, dim), the attention mask, and each
    text's token character offsets (empty for special and padding tokens)."""

    tokens: NDArray[np.float32]
    mask: NDArray[np.int64]
    offsets: list[list[tuple[int, int]]]


class OpenVINOEncoder:
    """Not thread-safe on its own (one infer request): ``Embedder`` serialises calls."""

    def __init__(self, export: Export) -> None:
        from tokenizers import Tokenizer

        self.label = export.label
        self.spec: ModelSpec = read_spec(export.folder)
        tokenizer = Tokenizer.from_file(str(export.folder / "tokenizer.json"))
        # tokenizer.json carries its own truncation and fixed padding (128 for MiniLM);
        # sentence-transformers overrides both: the model's limit, padding to the longest.
        tokenizer.enable_truncation(max_length=self.spec.max_seq_length)
        # Padding is done per batch in ``forward``, after batching texts of similar length.
        tokenizer.no_padding()
        pad_id = tokenizer.token_to_id(self.spec.pad_token)
        self._pad_id = 0 if pad_id is None else pad_id
        self._tokenizer = tokenizer
        core = openvino_core()
        cache = export.folder / COMPILED
        try:
            compiled = core.compile_model(str(export.graph), "CPU",
                                          {**OV_CONFIG, "CACHE_DIR": str(cache)})
        except RuntimeError:  # a damaged compile cache: drop it and compile from the graph
            shutil.rmtree(cache, ignore_errors=True)
            compiled = core.compile_model(str(export.graph), "CPU", OV_CONFIG)
        self._inputs = [port.get_any_name() for port in compiled.inputs]
        unknown = set(self._inputs) - {"input_ids", "attention_mask", "token_type_ids"}
        if unknown:
            raise UnsupportedModel(f"the graph takes inputs {sorted(unknown)}")
        names = [port.get_names() for port in compiled.outputs]
        self._output = next((i for i, n in enumerate(names) if "last_hidden_state" in n), 0)
        self._request: Any = compiled.create_infer_request()

    @property
    def dimension(self) -> int:
        return self.spec.dimension

    def tokenize(self, texts: Sequence[str]) -> list[Any]:
        """``tokenizers`` Encodings, truncated to the model's limit, not padded."""
        if self.spec.lowercase:
            texts = [t.lower() for t in texts]
        return list(self._tokenizer.encode_batch(list(texts)))

    def forward(self, encodings: Sequence[Any]) -> TokenBatch:
        """Run a batch of encodings, padded to the longest of them."""
        length = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), length), self._pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        result = self._request.infer({name: feed[name] for name in self._inputs})
        tokens = np.array(result[self._output], dtype=np.float32)  # a copy: the request reuses
        return TokenBatch(tokens, mask, [list(e.offsets) for e in encodings])

    def embed(self, batch: TokenBatch) -> NDArray[np.float32]:
        """The texts' vectors from a forward pass: pooled as the model pools, normalised
        (as the model's Normalize module does; the index needs it either way)."""
        return normalize_rows(pool(batch.tokens, batch.mask, self.spec.pooling))

    def vectors(self, texts: Sequence[str], batch_size: int) -> NDArray[np.float32]:
        """Normalised vectors, one row per text, in order."""
        encodings = self.tokenize(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for rows in _length_batches(encodings, batch_size):
            out[rows] = self.embed(self.forward([encodings[i] for i in rows]))
        return out

    def passages(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                 batch_size: int) -> tuple[NDArray[np.float32], list[NDArray[np.float32]]]:
        """Passage vectors and, from the same forward pass, each sentence's (late chunking:
        ``bot.encoding.pooling.pool_spans``); ``spans[i]`` are character spans in
        ``texts[i]``, and token offsets come from the tokenizer."""
        encodings = self.tokenize(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sentences: list[NDArray[np.float32]] = [out[:0]] * len(texts)
        for rows in _length_batches(encodings, batch_size):
            batch = self.forward([encodings[i] for i in rows])
            vectors = self.embed(batch)
            for j, i in enumerate(rows):
                out[i] = vectors[j]
                sentences[i] = pool_spans(batch.tokens[j], batch.offsets[j], spans[i],
                                          vectors[j])
        return out, sentences


def _length_batches(encodings: Sequence[Any], batch_size: int) -> list[list[int]]:
    """Row numbers in batches of similar token counts, longest first (as
    sentence-transformers batches), so little of a batch is padding."""
    order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
