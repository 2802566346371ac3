"""Test-only: the embedder's vectors nudged by Gaussian noise, to show that the suite does not
depend on the last digits of the model's floating-point results (which differ from one CPU
to another). Off unless ``TEST_EMBED_NOISE`` holds the noise's standard deviation, e.g.

    TEST_EMBED_NOISE=1e-4 .venv/bin/python -m pytest tests/discord_app

Every vector ``Embedder.encode`` and ``Embedder.encode_passages`` return (questions,
passages, sentences) gets noise of that size in each component and is scaled back to its
length (unit vectors stay unit vectors). As on another CPU, the same text always gets the
same nudge (its noise is drawn from the text and the seed): a question asked twice is asked
alike, and two pipelines over one text move together. ``TEST_EMBED_NOISE_SEED`` repeats a
run's draws (the pytest header and summary print the seed); without it every run draws
afresh. tests/conftest.py installs it in the test process,
tests/discord_app/standin_site/sitecustomize.py in the bot processes tests start."""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from collections.abc import Sequence
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

    def nudge(vectors: NDArray[np.float32], keys: list[str]) -> NDArray[np.float32]:
        """Each row moved by noise drawn from its key (a text), then scaled back."""
        if vectors.size == 0:
            return vectors
        rows = np.atleast_2d(vectors).astype(np.float64)
        noise = np.vstack([_draws(seed, key, scale, rows.shape[1]) for key in keys])
        lengths = np.linalg.norm(rows, axis=1, keepdims=True)
        moved = rows + noise
        moved *= lengths / np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-12)
        return moved.reshape(vectors.shape).astype(vectors.dtype)

    encode, encode_passages = cls.encode, cls.encode_passages

    @functools.wraps(encode)
    def noisy_encode(self: Any, texts: Sequence[str], *args: Any, **kwargs: Any) -> Any:
        return nudge(encode(self, texts, *args, **kwargs), [f"q\0{t}" for t in texts])

    @functools.wraps(encode_passages)
    def noisy_passages(self: Any, texts: Sequence[str], *args: Any, **kwargs: Any) -> Any:
        passages, sentences = encode_passages(self, texts, *args, **kwargs)
        return (nudge(passages, [f"p\0{t}" for t in texts]),
                [nudge(rows, [f"s\0{i}\0{t}" for i in range(len(rows))])
                 for t, rows in zip(texts, sentences, strict=True)])

    cls.encode = noisy_encode  # type: ignore[method-assign]
    cls.encode_passages = noisy_passages  # type: ignore[method-assign]
    cls._noisy = True  # type: ignore[attr-defined]


def _draws(seed: int, key: str, scale: float, size: int) -> NDArray[np.float64]:
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    rng = np.random.default_rng([seed, int.from_bytes(digest, "big")])
    return rng.normal(0.0, scale, size)
