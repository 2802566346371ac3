"""The reader's data (the converter, the split by article, the kept articles' absence), how a
question and a sentence are paired, and the exported reader itself: its manifest, its
readings of a clear answer and a clear miss, and its validation figures as floors."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.config import PROJECT_ROOT
from bot.encoding import Embedder
from bot.errors import IndexUnavailable
from bot.reader.data import KEPT, SQUAD_FILE, Paragraph, by_article, load, roles
from bot.reader.examples import examples, figures, sample
from bot.reader.pairs import CONTEXT_WORDS, Pair, PairTokenizer, answer_span, token_span
from bot.reader.runtime import MODEL_DIR, Reader, read_manifest
from bot.reader.squad import parse_page
from bot.text import fold

KEPT_HASHES = Path(__file__).parent / "data" / "kept-paragraphs.sha256"

PAGE = b"""<html><body><h1 id="title">Tiny</h1>
<div class="para-wrap"><div class="row"><div class="col-md-6"><pre>The Vistula flows
through Warsaw. It is 1,047 km long &amp; wide.</pre></div><div class="col-md-6">
<div class="qas-wrap">
<div class="qa-wrap" data-id="q1"><p><strong class="question">How long is the Vistula?</strong></p>
<span class="answer">1,047 km</span><span class="answer">1,047 km long</span>
<span class="answer">1,047 km</span></div>
<div class="qa-wrap" data-id="q2"><p><strong class="question">How wide is the Oder?</strong></p>
<span class="no-answer">&lt;No Answer&gt;</span></div>
<div class="qa-wrap" data-id="q3"><p><strong class="question">Who named it?</strong></p>
<span class="answer">Nobody at all</span></div>
</div></div></div></div></body></html>"""


# --- data ------------------------------------------------------------------------------------

def test_the_kept_articles_are_nowhere_in_the_training_data() -> None:
    """Neither by name nor by any of their paragraphs' text (hashes of them are kept in
    tests/data; the texts are not in the repository)."""
    paragraphs = load()
    assert not {p.article for p in paragraphs} & set(KEPT)
    kept = {line.split()[0] for line in KEPT_HASHES.read_text().splitlines()
            if line and not line.startswith("#")}
    assert len(kept) > 100
    present = {hashlib.sha256(fold(p.text).encode()).hexdigest() for p in paragraphs}
    assert not kept & present


def test_articles_are_split_by_article_by_a_fixed_rule() -> None:
    paragraphs = load()
    assigned = {a: {p.role for p in group} for a, group in by_article(paragraphs)}
    assert all(len(r) == 1 for r in assigned.values())  # never split by question
    assert {a: r.pop() for a, r in assigned.items()} == roles(assigned)
    counts = {role: sum(p.role == role for p in {a: g[0] for a, g in
                                                 by_article(paragraphs)}.values())
              for role in ("train", "calibrate", "validation")}
    assert counts["validation"] >= 5 and counts["calibrate"] >= 5 and counts["train"] >= 20
    assert set(roles([*assigned, *KEPT])) == set(assigned)  # kept articles get no role


def test_training_data_offsets_are_exact_and_labels_consistent() -> None:
    paragraphs = load()
    questions = [q for p in paragraphs for q in p.questions]
    assert len(questions) > 10_000
    assert 0.4 < sum(q.unanswerable for q in questions) / len(questions) < 0.6
    for p in paragraphs:
        assert [p.text[s:e].strip() for s, e in p.sentences] == [p.sentence(i) for i in
                                                               range(len(p.sentences))]
        for q in p.questions:
            assert q.unanswerable == (not q.answers)
            for g in q.answers:
                assert p.text[g.start : g.start + len(g.text)] == g.text
            assert bool(p.answering(q)) != q.unanswerable


def test_a_page_converts_with_offsets_and_unanswerable_flags() -> None:
    paragraphs, dropped = parse_page("Tiny", PAGE, "train")
    assert dropped == 1  # "Nobody at all" is nowhere in the paragraph
    [p] = paragraphs
    assert p.text.endswith("1,047 km long & wide.")
    first, second = p.questions
    assert first.answers[0].text == "1,047 km"  # the answer most workers gave comes first
    assert p.text[first.answers[0].start:].startswith("1,047 km")
    assert p.answering(first) == {1} and second.unanswerable and not p.answering(second)
    assert Paragraph.from_json(p.to_json()) == p


def test_the_converter_command_reports_bad_sources(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "bot", "reader-data", str(tmp_path / "no"),
                          "--out", str(tmp_path / "x.jsonl")], capture_output=True, text=True,
                         cwd=PROJECT_ROOT)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "Tiny.html").write_bytes(PAGE)
    run = subprocess.run([sys.executable, "-m", "bot", "reader-data", str(pages),
                          "--out", str(tmp_path / "x.jsonl")], capture_output=True, text=True,
                         cwd=PROJECT_ROOT)
    assert run.returncode == 0, run.stderr
    assert "2 questions (1 unanswerable; 1 dropped" in run.stdout
    assert Paragraph.from_json((tmp_path / "x.jsonl").read_text().splitlines()[0]).article \
        == "Tiny"
    converted = (tmp_path / "x.jsonl").read_bytes()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "Junk.html").write_bytes(b"\x00\xff not a page")
    for nothing in (tmp_path / "empty", tmp_path):  # no page with a paragraph, or no page
        run = subprocess.run([sys.executable, "-m", "bot", "reader-data", str(nothing),
                              "--out", str(tmp_path / "x.jsonl")], capture_output=True,
                             text=True, cwd=PROJECT_ROOT)
        assert run.returncode == 2 and "no SQuAD 2.0 paragraphs found" in run.stderr, run.stderr
        assert (tmp_path / "x.jsonl").read_bytes() == converted  # what was there is kept


# --- pairing ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tokenizer() -> PairTokenizer:
    return PairTokenizer(MODEL_DIR / "tokenizer.json")


def test_a_pair_reads_the_sentence_then_the_start_of_the_one_before(
        tokenizer: PairTokenizer) -> None:
    before = " ".join(f"w{i}" for i in range(CONTEXT_WORDS + 5))
    pair = Pair("How long is it?", "It is 1,047 km long.", before)
    assert pair.second.startswith("It is 1,047 km long. [SEP] w0 w1")
    assert f"w{CONTEXT_WORDS}" not in pair.second.split()
    batch = tokenizer.batch([pair, Pair("Why?", "Because.")])
    spans = batch.spans[0]
    marked = [pair.sentence[a:b] for a, b in spans if a >= 0]
    assert "".join(marked) == "Itis1,047kmlong."  # the sentence, no more
    assert batch.ids.shape[0] == 2 and batch.mask[1].sum() < batch.mask[0].sum()


def test_the_likeliest_span_stays_inside_the_sentence(tokenizer: PairTokenizer) -> None:
    pair = Pair("How long is the river?", "The river is 1,047 km long.", "Warsaw is big.")
    batch = tokenizer.batch([pair])
    spans = batch.spans[0]
    first, last = token_span(spans, pair.sentence.index("1,047"), pair.sentence.index(" long"))
    start = np.full(len(spans), -5.0, dtype=np.float32)
    end = np.full(len(spans), -5.0, dtype=np.float32)
    start[first], end[last] = 5.0, 5.0
    start[-2] = end[-2] = 50.0  # a context token: never part of an answer
    found = answer_span(spans, start, end)
    assert found is not None and pair.sentence[found[0]:found[1]] == "1,047 km"


# --- the exported reader ---------------------------------------------------------------------

def test_the_reader_ships_with_a_manifest_that_matches_it() -> None:
    manifest = read_manifest(MODEL_DIR)
    size = sum(f.stat().st_size for f in MODEL_DIR.iterdir()) / 1e6
    assert size < 30
    assert manifest["training_data"]["sha256"] == hashlib.sha256(
        SQUAD_FILE.read_bytes()).hexdigest()
    assert "CC BY-SA 4.0" in manifest["licence"]
    assert manifest["validation"]["best_right"] > 0.5


def test_a_damaged_reader_is_refused_in_one_line(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(MODEL_DIR, copy)
    with open(copy / "reader.bin", "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\0" * 64)
    with pytest.raises(IndexUnavailable, match="cannot be used") as caught:
        Reader(copy)
    assert "\n" not in str(caught.value)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["format"] = 99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexUnavailable, match="format 99"):
        read_manifest(copy)


def test_the_reader_tells_an_answer_from_a_near_miss(reader: Reader) -> None:
    question = "How much revenue did TikTok book in the first half of the year?"
    answer, miss = reader.read([
        Pair(question, "And in the first half of this year, it supposedly booked more than "
             "$7 billion in revenue (though most of it came from China).",
             "TikTok now has over 1.4 billion installs outside of China."),
        Pair(question, "TikTok now has over 1.4 billion installs outside of China according "
             "to TechCrunch."),
    ])
    assert answer.logit > miss.logit + 1  # a wide margin (1.8 here): no last digit decides
    assert answer.span is not None
    assert "7 billion" in answer_text(question, answer)


def answer_text(_: str, reading) -> str:  # type: ignore[no-untyped-def]
    sentence = ("And in the first half of this year, it supposedly booked more than "
                "$7 billion in revenue (though most of it came from China).")
    return sentence[reading.span[0]:reading.span[1]]


def test_reading_in_batches_gives_what_reading_one_by_one_gives(reader: Reader) -> None:
    pairs = [Pair(q, s) for q in ("Who built TikTok?", "What is Lasso?")
             for s in ("TikTok is built by Beijing ByteDance.", "Lasso is not popular.",
                       "These meetings have historically always been private.")]
    together = reader.logits(pairs)
    alone = [reader.logits([p])[0] for p in pairs]
    assert np.allclose(together, alone, atol=1e-3)


# --- its validation figures, as floors --------------------------------------------------------

def test_the_exported_reader_holds_its_validation_figures(reader: Reader,
                                                          embedder: Embedder) -> None:
    """Every pair of 120 questions of the validation articles (never trained on), read by
    the shipped int8 export through the runtime the question path uses. Measured on 250
    questions when exported (the manifest): best sentence right 0.66 (cosine 0.58), pair
    AUC 0.76, span F1 0.56; the floors leave room for a smaller sample, not for a worse
    reader."""
    found = sample(examples(load(role="validation"), embedder.encode), 120)
    readings = reader.read([e.pair for e in found])
    scored = figures(found, [r.logit for r in readings], [r.span for r in readings])
    questions = embedder.encode([e.pair.question for e in found])
    sentences = embedder.encode([e.pair.sentence for e in found])
    cosine = figures(found, np.sum(questions * sentences, axis=1).tolist(), [None] * len(found))
    assert scored["best_right"] >= 0.58, scored
    assert scored["best_right"] > cosine["best_right"] + 0.04, (scored, cosine)
    assert scored["pair_auc"] >= 0.72, scored
    assert scored["span_f1"] >= 0.45, scored


# --- one OpenVINO Core per process ------------------------------------------------------------

_ALTERNATE_STACK = """
import ctypes, gc
from bot.reader.runtime import Reader

class Stack(ctypes.Structure):
    _fields_ = [("sp", ctypes.c_void_p), ("flags", ctypes.c_int), ("size", ctypes.c_size_t)]

def current():
    found = Stack()
    assert ctypes.CDLL(None).sigaltstack(None, ctypes.byref(found)) == 0
    return found.sp, found.flags, found.size

first = Reader()
before = current()
readers = [Reader() for _ in range(3)]
del readers[0]; gc.collect()
del readers[-1]; gc.collect()
del readers; gc.collect()
print(before == current())
"""


def test_readers_opened_and_dropped_leave_the_signal_stack_alone() -> None:
    """OpenVINO's CPU plugin pushes an alternate signal stack on the thread that compiles
    with a new Core and pops it when the Core goes; Cores dropped out of order left the
    main thread on a freed stack, where Python runs its signal handlers, and a SIGTERM
    crashed the test run (1 run in 2). One Core per process: the stack stays put. (A Core
    per reader prints False here.)"""
    result = subprocess.run([sys.executable, "-c", _ALTERNATE_STACK], capture_output=True,
                            text=True, timeout=300, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
