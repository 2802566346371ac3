"""Test-only: the embedder's vectors nudged by Gaussian noise, to show that the suite does not
depend on the last digits of the model's floating-point results (which differ from one CPU
to another). Off unless ``TEST_EMBED_NOISE`` holds the noise's standard deviation, e.g.

    TEST_EMBED_NOISE=1e-4 .venv/bin/python -m pytest tests/discord_app

Every vector ``Embedder.encode`` and ``Embedder.encode_passages`` return (questions,
passages, sentences) gets noise of that size in each component and is scaled back to its
length (unit vectors stay unit vectors). ``TEST_EMBED_NOISE_SEED`` fixes the draws (the
pytest header prints the seed used); without it every run draws afresh. tests/conftest.py
installs it in the test process, tests/discord_app/standin_site/sitecustomize.py in the bot
processes tests start."""

from __future__ import annotations

import functools
import os
import secrets
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

NOISE = "TEST_EMBED_NOISE"
SEED = "TEST_EMBED_NOISE_SEED"


def install_from_env() -> tuple[float, int] | None:
    """Wraps the Embedder's encode methods when ``TEST_EMBED_NOISE`` is set; returns the
    noise and seed used (the seed is put in the environment, so that processes started
    later draw from the same seed), or None when it is off."""
    text = os.environ.get(NOISE, "").strip()
    if not text:
        return None
    try:
        scale = float(text)
    except ValueError:
        raise SystemExit(f"{NOISE}={text!r}: expected a number, e.g. 1e-4") from None
    if not 0 < scale < 0.1:
        raise SystemExit(f"{NOISE}={text!r}: expected a small positive number, e.g. 1e-4")
    seed = int(os.environ.get(SEED) or secrets.randbits(32))
    os.environ[SEED] = str(seed)
    _install(scale, seed)
    return scale, seed


def _install(scale: float, seed: int) -> None:
    from bot.encoding import embedder

    cls = embedder.Embedder
    if getattr(cls, "_noisy", False):
        return
    rng = np.random.default_rng(seed)
    lock = threading.Lock()  # a Generator is not thread-safe; encodes run in threads

    def nudge(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        if vectors.size == 0:
            return vectors
        rows = np.atleast_2d(vectors).astype(np.float64)
        with lock:
            noise = rng.normal(0.0, scale, rows.shape)
        lengths = np.linalg.norm(rows, axis=1, keepdims=True)
        moved = rows + noise
        moved *= lengths / np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-12)
        return moved.reshape(vectors.shape).astype(vectors.dtype)

    def wrap(method: Callable[..., Any], after: Callable[[Any], Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def noisy(self: Any, *args: Any, **kwargs: Any) -> Any:
            return after(method(self, *args, **kwargs))
        return noisy

    cls.encode = wrap(cls.encode, nudge)  # type: ignore[method-assign]
    cls.encode_passages = wrap(  # type: ignore[method-assign]
        cls.encode_passages,
        lambda result: (nudge(result[0]), [nudge(s) for s in result[1]]))
    cls._noisy = True  # type: ignore[attr-defined]
