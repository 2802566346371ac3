"""The benchmark's scale machinery: WordNet read from the real package files, documents that
go through the real ingestion, the per-stage timer on the real answerer, and approximate
dense search meeting its recall bar on clustered vectors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.answer import Answerer
from bot.bench import corpus
from bot.bench.scale import (
    STAGES,
    Source,
    _StageTimer,
    clustered_vectors,
    recall,
    stage_ms,
    synthetic_index,
)
from bot.index import NPROBE, _lexical, probes, vector_index
from bot.ingest import load_documents
from bot.passages import split_passages
from bot.retriever import Retriever
from bot.text import normalize
from tests.conftest import QUESTION_SETS


def test_a_wordnet_line_is_parsed_with_its_examples() -> None:
    line = ('02128925 05 n 03 lasso 0 lariat 0 riata 0 001 @ 03111690 n 0000 | a long noose '
            'of rope; "he caught it with a lasso"; "the lariat hung"  \r\n')
    found = corpus.parse_line(line, {5: "noun.artifact"})
    assert found == corpus.Synset("noun.artifact", ("lasso", "lariat", "riata"),
                                  "a long noose of rope",
                                  ("he caught it with a lasso", "the lariat hung"))
    assert found.sentence() == ('Lasso, lariat, riata: a long noose of rope. Example: "he '
                                'caught it with a lasso". Example: "the lariat hung".')
    assert corpus.parse_line("  1 This software and database is licensed\r\n", {}) is None


def test_the_whole_of_wordnet_is_read() -> None:
    synsets = list(corpus.synsets())
    assert len(synsets) > 117_000  # WordNet 3.0 has 117,659
    assert {s.lexfile for s in synsets} >= {"noun.artifact", "verb.motion", "adj.all"}
    assert not any("\r" in s.definition or "|" in s.definition for s in synsets)
    assert sum(len(s.examples) for s in synsets) > 45_000


def test_written_documents_go_through_the_real_ingestion(tmp_path: Path) -> None:
    written = corpus.write_documents(tmp_path, every=40)
    documents, problems = load_documents(tmp_path)
    assert problems == []
    assert len(documents) == 45  # one per lexicographer file
    assert sum(len(d.paragraphs) for d in documents) == written
    artifact = next(d for d in documents if d.id == "wordnet-noun-artifact")
    assert artifact.title == "WordNet 3.0 glossary: noun.artifact"
    passages = split_passages(artifact)
    assert len(passages) >= len(artifact.paragraphs)
    assert all(p.text == artifact.text[p.start:p.end] for p in passages)


@pytest.mark.any_outcome("timing must not change answers: compares them with themselves")
def test_stages_are_timed_on_the_real_answerer(answerer: Answerer) -> None:
    questions = [line.split('"q": "')[1].split('"')[0]
                 for line in QUESTION_SETS[0].read_text().splitlines()[:6]]
    own = replace(answerer, retriever=Retriever(answerer.index, answerer.retriever.embedder))
    before = [own.ask(q) for q in questions]
    ms = stage_ms(own, questions, rounds=1)
    assert set(ms) == {f"{s}_ms" for s in (*STAGES, "total")}
    for stage in ("encode", "dense", "lexical", "evidence", "total"):
        assert ms[f"{stage}_ms"] > 0, stage
    assert ms["encode_ms"] < ms["total_ms"]
    assert [own.ask(q) for q in questions] == before  # timing changes nothing


def test_every_timed_method_is_on_the_question_path(answerer: Answerer) -> None:
    # A method the answerer no longer calls would time nothing and move its cost into
    # another stage (it once did: ``hit`` after search moved to ``hits``).
    own = replace(answerer, retriever=Retriever(answerer.index, answerer.retriever.embedder))
    timer = _StageTimer(own.retriever)
    own.ask("How much revenue did TikTok make?")
    assert {name for name in _StageTimer.METHODS if timer.spent[name] <= 0} == set()


@pytest.mark.any_outcome("answer assembly runs on a generated corpus, whatever it answers")
def test_a_generated_corpus_answers_through_the_same_code(answerer: Answerer) -> None:
    rng = np.random.default_rng(1)
    sentences = corpus.sentences(limit=3000)
    source = Source.of(sentences)
    questions = answerer.retriever.encode(["What is a lasso?", "Where is Paris?"])
    index, vectors = synthetic_index(2000, questions, source, rng)
    assert len(index.passages) == vectors.shape[0] == index.vectors.ntotal == 2000
    # term counts as the index's own lexicon would count them: over every sentence copy
    assert index.lexicon.sentences == 6000
    some = index.passages[7]
    for s, e in some.sentences:
        sentence = some.text[s:e]
        assert sentence in sentences
    # BM25 over the passages as the index's own builder makes it, to the last bit
    reference, _ = _lexical([p.search_text for p in index.passages])
    for question in ("a long noose of rope", "an animal of the sea", "a sea animal"):
        words = normalize(question)
        ours = index.tokenizer.tokenize([words], update_vocab=False, return_as="string",
                                        show_progress=False)
        assert ours[0]
        a = index.bm25.retrieve(ours, k=20, show_progress=False)
        b = reference.retrieve(ours, k=20, show_progress=False)
        assert np.array_equal(a.scores, b.scores)
    big = replace(answerer, retriever=Retriever(index, answerer.retriever.embedder))
    hits = big.retriever.search("a long noose of rope", 3)
    assert hits and all(0 < len(h.similarity) == len(h.passage.sentences) for h in hits)
    big.ask("What is a long noose of rope called?")  # answer assembly works on it


def test_approximate_search_keeps_recall_on_clustered_vectors(answerer: Answerer) -> None:
    rng = np.random.default_rng(2)
    questions = answerer.retriever.encode(["How much revenue did TikTok make?"])
    for n in (25_000, 60_000):  # fewer vectors a list: more lists probed
        vectors = clustered_vectors(n, questions, rng)
        ivf = vector_index(vectors, approx_above=0)
        assert type(ivf).__name__ == "IndexIVFFlat" and ivf.nprobe > NPROBE
        assert recall(ivf, vectors, questions, rng) >= 0.95, n
    assert probes(1_000_000, 4_000) == NPROBE  # at 1M, as measured (docs/benchmark.md, "Scale")
