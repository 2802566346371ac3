"""The question-time runtime against sentence-transformers itself (the reference), the
export cache (fingerprint, corruption, rebuild) and the fallback to torch. Real model,
real OpenVINO, real torch."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.answer import Answerer, Excerpt
from bot.answerability.model import AnswerModel
from bot.config import Settings
from bot.encoding import Embedder, model_location
from bot.encoding.export import Export, ensure_export, export_fingerprint
from bot.encoding.spec import UnsupportedModel, read_spec
from bot.evaluate import load_questions
from bot.index import Index, ensure_index
from bot.retriever import Retriever
from tests.conftest import QUESTION_SETS

pytestmark = pytest.mark.model

MODEL = Path(model_location(""))


@pytest.fixture(scope="session")
def torch_embedder() -> Embedder:
    return Embedder(backend="torch")


@pytest.fixture(scope="session")
def torch_index(tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path,
                torch_embedder: Embedder) -> Index:
    return ensure_index(seeds_dir, tmp_path_factory.mktemp("torch-index"), torch_embedder)[0]


def _export_of(embedder: Embedder) -> Export:
    import openvino

    return ensure_export(MODEL, embedder.cache_dir, openvino.__version__)


def _cosines(a: Any, b: Any) -> Any:
    return np.sum(np.asarray(a) * np.asarray(b), axis=1)


def test_the_spec_is_read_from_either_layout_of_the_models_files(embedder: Embedder) -> None:
    """The bundled model (sentence-transformers 2.x layout: the limit in
    sentence_bert_config.json) and its export (6.x layout: the limit as the tokenizer's
    model_max_length) describe the same recipe; tokenizer.json's own 128 is not it."""
    bundled = read_spec(MODEL)
    exported = read_spec(_export_of(embedder).folder)
    assert bundled == exported
    assert (bundled.max_seq_length, bundled.pooling, bundled.dimension) == (256, ("mean",), 384)
    assert json.loads((MODEL / "tokenizer.json").read_text())["truncation"]["max_length"] == 128


def test_a_pipeline_the_runtime_cannot_reproduce_is_refused(tmp_path: Path) -> None:
    for name in ("modules.json", "config_sentence_transformers.json"):
        shutil.copy(MODEL / name, tmp_path / name)
    shutil.copytree(MODEL / "1_Pooling", tmp_path / "1_Pooling")
    modules = json.loads((tmp_path / "modules.json").read_text())
    dense = {"idx": 2, "name": "2", "path": "2_Dense",
             "type": "sentence_transformers.models.Dense"}
    (tmp_path / "modules.json").write_text(json.dumps([*modules[:2], dense]))
    with pytest.raises(UnsupportedModel, match="Dense"):
        read_spec(tmp_path)
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": {"query": "query: "}, "default_prompt_name": "query"}))
    with pytest.raises(UnsupportedModel, match="prompt"):
        read_spec(tmp_path)


def test_runtime_vectors_match_sentence_transformers(embedder: Embedder,
                                                     torch_embedder: Embedder,
                                                     index: Index) -> None:
    """Every dev and check question, every passage and every late-chunked sentence of the
    article: cosine ≥ 0.9999 to sentence-transformers on torch."""
    assert embedder.label.startswith("openvino-")
    questions = [q.q for path in QUESTION_SETS[:2] for q in load_questions(path)]
    assert _cosines(embedder.encode(questions), torch_embedder.encode(questions)).min() >= 0.9999
    texts = [p.text for p in index.passages]
    spans = [[(s - p.start, e - p.start) for s, e in p.sentences] for p in index.passages]
    ours, our_sentences = embedder.encode_passages(texts, spans)
    theirs, their_sentences = torch_embedder.encode_passages(texts, spans)
    assert _cosines(ours, theirs).min() >= 0.9999
    assert len(our_sentences) == len(texts)
    for mine, reference in zip(our_sentences, their_sentences, strict=True):
        assert mine.shape == reference.shape
        assert _cosines(mine, reference).min() >= 0.9999
    # Batching (padding, length sorting) must not change a vector.
    alone = np.vstack([embedder.encode([q]) for q in questions[:8]])
    assert _cosines(alone, embedder.encode(questions[:8])).min() >= 0.99999


@pytest.mark.any_outcome("compares two pipelines' answers with each other, whatever they are")
def test_answers_are_identical_to_the_torch_pipelines(answerer: Answerer, index: Index,
                                                      torch_index: Index,
                                                      torch_embedder: Embedder) -> None:
    """The whole answer (answered or not, the excerpts in order, the sentence marked) on
    every dev and check question, from the runtime's index and questions and from
    sentence-transformers' own. Two exceptions, which sentence-transformers shows against
    itself (batched or one at a time), where noise in the last digits decides: two
    overlapping windows whose best sentence is the one they share score exactly alike, and
    a confidence at a threshold (the two confidences agree and straddle it)."""
    assert index.manifest.encoder.startswith("openvino-")
    assert torch_index.manifest.encoder == "sentence-transformers-torch"
    defaults = Settings()
    reference = Answerer(Retriever(torch_index, torch_embedder), top_k=defaults.top_k,
                         max_question_chars=defaults.max_question_chars,
                         reader=answerer.reader)
    questions = [q.q for path in QUESTION_SETS[:2] for q in load_questions(path)]
    ties = 0
    for question in questions:
        mine, theirs = answerer.ask(question), reference.ask(question)
        assert mine.confidence == pytest.approx(theirs.confidence, abs=1e-3), question
        if mine.status != theirs.status:
            assert _straddled(answerer.model, mine.confidence, theirs.confidence), question
            continue
        assert len(mine.excerpts) == len(theirs.excerpts), question
        for a, b in zip(mine.excerpts, theirs.excerpts, strict=True):
            assert a.score == pytest.approx(b.score, abs=1e-3), question
            if (a.passage_id, a.highlight) != (b.passage_id, b.highlight):
                assert _tied_windows(a, b), (question, a.passage_id, b.passage_id)
                ties += 1
    assert ties <= len(questions) // 20  # rare; a real difference would show everywhere


def _straddled(model: AnswerModel, a: float, b: float) -> bool:
    """Whether a threshold of ``model``'s lies between two confidences (on topic, both)."""
    low, high = sorted((a, b))
    return any(low < t <= high for t in (model.answered_at, model.tentative_at))


def _tied_windows(a: Excerpt, b: Excerpt) -> bool:
    return (a.doc == b.doc and a.start < b.end and b.start < a.end
            and a.score == pytest.approx(b.score, abs=1e-4))


def test_the_export_is_made_once_and_found_by_its_fingerprint(
        embedder: Embedder, caplog: pytest.LogCaptureFixture) -> None:
    export = _export_of(embedder)
    assert export.graph.is_file() and (export.folder / "export.json").is_file()
    caplog.set_level(logging.WARNING)
    again = Embedder(cache_dir=embedder.cache_dir)
    assert again.label == embedder.label == export.label
    assert not [r for r in caplog.records if "exporting" in r.getMessage()]
    # Another OpenVINO version (or model) is another export.
    other = export_fingerprint(MODEL, embedder.cache_dir, "0.0.0")
    assert other != export.fingerprint


@pytest.mark.parametrize("damage", ["truncate-weights", "missing-graph", "changed-tokenizer",
                                    "garbage-export-info"])
def test_a_corrupt_export_is_rebuilt_with_one_line(
        embedder: Embedder, tmp_path: Path, damage: str,
        caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "models"
    shutil.copytree(_export_of(embedder).folder.parent, cache)
    folder = cache / _export_of(embedder).folder.name  # not an older export kept beside it
    if damage == "truncate-weights":
        weights = folder / "openvino" / "openvino_model.bin"
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "missing-graph":
        (folder / "openvino" / "openvino_model.xml").unlink()
    elif damage == "changed-tokenizer":  # same size, another vocabulary: only the hash tells
        path = folder / "tokenizer.json"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('"the"', '"teh"', 1), encoding="utf-8")
    else:
        (folder / "export.json").write_text("{not json")
    caplog.set_level(logging.WARNING)
    rebuilt = Embedder(cache_dir=cache)
    question = ["How much revenue did TikTok make?"]
    assert _cosines(rebuilt.encode(question), embedder.encode(question)).min() >= 0.99999
    lines = [r.getMessage() for r in caplog.records if "exporting" in r.getMessage()]
    assert len(lines) == 1 and "corrupt" in lines[0]
    assert rebuilt.label == embedder.label


def test_a_copied_export_is_hashed_once_not_rebuilt(
        embedder: Embedder, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Copying the index elsewhere moves every modification time: the files are hashed,
    found intact and remembered, not exported again."""
    cache = tmp_path / "models"
    shutil.copytree(_export_of(embedder).folder.parent, cache, copy_function=shutil.copyfile)
    folder = cache / _export_of(embedder).folder.name  # not an older export kept beside it
    caplog.set_level(logging.WARNING)
    assert Embedder(cache_dir=cache).label == embedder.label
    assert not [r for r in caplog.records if "exporting" in r.getMessage()]
    info = json.loads((folder / "export.json").read_text())
    weights = folder / "openvino" / "openvino_model.bin"
    assert info["files"]["openvino/openvino_model.bin"]["mtime_ns"] == weights.stat().st_mtime_ns


def test_when_the_runtime_cannot_run_torch_answers_with_a_warning(
        embedder: Embedder, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import openvino

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Exception from src/inference: CPU plug-in cannot run here")

    monkeypatch.setattr(openvino.Core, "compile_model", refuse)
    caplog.set_level(logging.WARNING)
    fallback = Embedder(cache_dir=embedder.cache_dir)
    question = ["How much revenue did TikTok make?"]
    vectors = fallback.encode(question)
    assert fallback.label == "sentence-transformers-torch"
    messages = [r.getMessage() for r in caplog.records]
    assert any("using sentence-transformers on torch" in m for m in messages)
    assert not any("exporting" in m for m in messages)  # the export was fine: kept
    assert _cosines(vectors, embedder.encode(question)).min() >= 0.9999
