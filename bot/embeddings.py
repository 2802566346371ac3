"""Kept so ``from bot.embeddings import Embedder`` keeps working: the code lives in
``bot.encoding``."""

from bot.encoding import BUNDLED, Backend, Embedder, model_location

__all__ = ["BUNDLED", "Backend", "Embedder", "model_location"]
