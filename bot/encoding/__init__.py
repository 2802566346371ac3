"""Text → vectors. Two times, two sets of libraries:

- export time (index building, first setup): sentence-transformers loads the model and
  exports it to OpenVINO once, cached beside the index (``export``);
- question time: the export runs in the OpenVINO runtime with the `tokenizers` library,
  pooling and normalising in numpy (``runtime``, ``pooling``), configured from the model's
  own files (``spec``), so answering imports no torch.

``Embedder`` chooses, and falls back to sentence-transformers on torch (``reference``)
when the runtime cannot run."""

from bot.encoding.embedder import BUNDLED, Backend, Embedder, Encoder, model_location

__all__ = ["BUNDLED", "Backend", "Embedder", "Encoder", "model_location"]
