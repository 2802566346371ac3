"""Cost per question as the corpus grows, stage by stage.

Each size is a generated corpus fed through the same FAISS and BM25 code as a real build:
passages of three sentences drawn from WordNet's glosses and examples (real English, so
the question's words have realistic postings), and clustered unit vectors around 1,000
topics and the questions' own directions (so dense search has neighbourhoods to find, and
approximate search a recall to measure). Questions are answered by the real ``Answerer``;
the stages are timed by wrapping the retriever's own methods on that instance, so the split
is of the code that runs, not of a copy of it:

- encode: ``Retriever.encode`` (the question's embedding)
- dense: ``Retriever._dense`` (FAISS)
- lexical: ``Retriever._lexical`` (tokenising, BM25 top-k)
- fusion: the rest of ``Retriever.search`` (the two candidate lists merged)
- evidence: every candidate sentence judged: ``Retriever.hits`` (their similarities), the
  answerability features (``sentence_rows``) and the model (``judge``: scoring, ranking,
  de-duplication, the confidence)
- answer: the rest of ``Answerer.ask`` (the question's analysis, excerpts)"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bot.answer import Answerer
from bot.answerability.vocabulary import Vocabulary, build_vocabulary
from bot.bench import corpus
from bot.index import APPROX_ABOVE, DocumentInfo, Index, Manifest, index_kind, vector_index
from bot.lexicon import Lexicon
from bot.passages import Passage
from bot.retriever import Retriever
from bot.text import normalize, stemmer, terms

Log = Callable[[str], None]
STAGES = ("encode", "dense", "lexical", "evidence", "fusion", "answer")
SENTENCES_PER_PASSAGE = 3


def scale(answerer: Answerer, texts: Sequence[str], sizes: Sequence[int],
          log: Log) -> list[dict[str, Any]]:
    """Milliseconds per question, per stage, on the article and on generated corpora of
    ``sizes`` passages; ``ratio`` is the whole question's cost against the article's,
    measured in alternating passes with it."""
    embedder = answerer.retriever.embedder
    article = stage_ms(replace(answerer, retriever=Retriever(answerer.index, embedder)), texts)
    rows: list[dict[str, Any]] = [
        {"passages": len(answerer.index.passages), **article, "ratio": 1.0,
         "faiss_index": type(answerer.index.vectors).__name__}]
    log(f"  {rows[0]['passages']:>9,}: {_line(article)}")
    questions = embedder.encode(list(texts))
    source = Source.of(corpus.sentences())
    rng = np.random.default_rng(3)
    for n in sizes:
        started = time.perf_counter()
        index, vectors = synthetic_index(n, questions, source, rng)
        built = time.perf_counter() - started
        # The article again, in passes alternating with this corpus's: the ratio compares
        # the two under the same load, even when the machine's load drifts during the run.
        base, ms = paired_stage_ms(
            [replace(answerer, retriever=Retriever(answerer.index, embedder)),
             replace(answerer, retriever=Retriever(index, embedder))], texts)
        row = {"passages": n, **ms, "ratio": ms["total_ms"] / base["total_ms"],
               "article_total_ms": base["total_ms"],
               "faiss_index": type(index.vectors).__name__, "build_s": built}
        if row["faiss_index"] != "IndexFlatIP":
            row["recall_at_10"] = recall(index.vectors, vectors, questions, rng)
        log(f"  {n:>9,}: {_line(ms)} ({row['faiss_index']}, built in {built:.0f} s)")
        rows.append(row)
        del index, vectors
    return rows


def stage_ms(answerer: Answerer, texts: Sequence[str], rounds: int = 3) -> dict[str, float]:
    """Median milliseconds per question of each stage and of the whole ``ask``, over
    ``rounds`` passes after a warm-up pass. Wraps methods of ``answerer.retriever``, which
    should be a retriever of the benchmark's own."""
    return paired_stage_ms([answerer], texts, rounds)[0]


def paired_stage_ms(answerers: Sequence[Answerer], texts: Sequence[str],
                    rounds: int = 3) -> list[dict[str, float]]:
    """``stage_ms`` for several answerers, measured in alternating passes, so a change in
    the machine's load during the run hits each of them alike."""
    timers = [_StageTimer(a.retriever) for a in answerers]
    with _timed_judging() as judging:
        return _paired(answerers, timers, judging, texts, rounds)


def _paired(answerers: Sequence[Answerer], timers: Sequence[_StageTimer],
            judging: defaultdict[str, float], texts: Sequence[str],
            rounds: int) -> list[dict[str, float]]:
    for answerer in answerers:
        for text in texts:
            answerer.ask(text)
    samples: list[dict[str, list[float]]] = [
        {s: [] for s in (*STAGES, "total")} for _ in answerers]
    for _ in range(rounds):
        for answerer, timer, per_stage in zip(answerers, timers, samples, strict=True):
            for text in texts:
                timer.spent.clear()
                judging.clear()
                started = time.perf_counter()
                answerer.ask(text)
                total = time.perf_counter() - started
                spent = timer.spent
                judged = judging["sentence_rows"] + judging["judge"]
                split = {
                    "encode": spent["encode"], "dense": spent["_dense"],
                    "lexical": spent["_lexical"],
                    "fusion": (spent["search"] - spent["_dense"] - spent["_lexical"]
                               - spent["hits"]),
                    "evidence": spent["hits"] + judged,
                    "answer": total - spent["encode"] - spent["search"] - judged,
                    "total": total,
                }
                for stage, seconds in split.items():
                    per_stage[stage].append(seconds * 1000)
    return [{f"{stage}_ms": float(np.median(values)) for stage, values in per_stage.items()}
            for per_stage in samples]


class _StageTimer:
    """Adds the time spent in some of a retriever's methods, by name, to ``spent``."""

    METHODS = ("encode", "search", "_dense", "_lexical", "hits")

    def __init__(self, retriever: Retriever) -> None:
        self.spent: defaultdict[str, float] = defaultdict(float)
        for name in self.METHODS:
            setattr(retriever, name, _timed(self.spent, name, getattr(retriever, name)))


def _timed(spent: defaultdict[str, float], name: str,
           function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, adding the seconds each call takes to ``spent[name]``."""
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - started
    return timed


@contextmanager
def _timed_judging() -> Iterator[defaultdict[str, float]]:
    """Time ``bot.answer``'s feature rows and model judgement (module functions, shared by
    every answerer) for as long as the block runs."""
    import bot.answer

    spent: defaultdict[str, float] = defaultdict(float)
    originals = {name: getattr(bot.answer, name) for name in ("sentence_rows", "judge")}
    for name, function in originals.items():
        setattr(bot.answer, name, _timed(spent, name, function))
    try:
        yield spent
    finally:
        for name, function in originals.items():
            setattr(bot.answer, name, function)


@dataclass(frozen=True)
class Source:
    """WordNet sentences, each stemmed once: its content terms (for the sentence term
    counts) and its BM25 token ids (``bot.index._lexical``'s tokenizer, whose vocabulary
    the questions are then tokenized with)."""

    sentences: tuple[str, ...]
    terms: tuple[frozenset[str], ...]
    token_ids: tuple[list[int], ...]
    tokenizer: Any
    vocab: dict[str, int]
    vocabulary: Vocabulary  # the answerability's, over every sentence (a superset)

    @classmethod
    def of(cls, sentences: Sequence[str]) -> Source:
        from bm25s.tokenization import Tokenizer

        tokenizer = Tokenizer(stemmer=stemmer(), stopwords="en")
        tokens = tokenizer.tokenize([normalize(s) for s in sentences], show_progress=False,
                                    return_as="tuple")
        return cls(tuple(sentences), tuple(terms(s) for s in sentences), tuple(tokens.ids),
                   tokenizer, dict(tokens.vocab), build_vocabulary(sentences))


def synthetic_index(n: int, questions: Any, source: Source, rng: Any) -> tuple[Index, Any]:
    """An index of ``n`` generated passages, and its passage vectors. Each passage is
    three WordNet sentences; its sentences' vectors are the passage's own (three rows, as
    for a real passage, without three times the memory). FAISS is built by the index's
    own ``vector_index`` and BM25 by ``bm25s`` as ``bot.index._lexical`` builds it, from
    the same tokenizer's output; a passage's tokens are its sentences' tokens, each
    sentence tokenized once rather than once per copy. The sentence term counts are those
    ``_sentence_lexicon`` would count, summed per source sentence."""
    import bm25s
    from bm25s.tokenization import Tokenized

    vectors = clustered_vectors(n, questions, rng)
    picks = rng.integers(0, len(source.sentences), (n, SENTENCES_PER_PASSAGE))
    passages, token_ids = [], []
    for i, row in enumerate(picks):
        spans, text, ids = [], "", []
        for j in row:
            start = len(text) + (1 if text else 0)
            text = f"{text} {source.sentences[j]}" if text else source.sentences[j]
            spans.append((start, len(text)))
            ids.extend(source.token_ids[j])
        passages.append(Passage(f"syn:{i}", "syn", i + 1, 0, len(text), text, tuple(spans), i))
        token_ids.append(ids)
    df: Counter[str] = Counter()
    for j, times in zip(*np.unique(picks, return_counts=True), strict=True):
        for term in source.terms[j]:
            df[term] += int(times)
    bm25 = bm25s.BM25()
    bm25.index(Tokenized(ids=token_ids, vocab=source.vocab), show_progress=False)
    manifest = Manifest(0, "synthetic", vectors.shape[1], {},
                        (DocumentInfo("syn", "Generated from WordNet", "syn.txt", "", n),),
                        n, n, "", index_kind(n, APPROX_ABOVE))
    rows = tuple((i,) * SENTENCES_PER_PASSAGE for i in range(n))
    index = Index(manifest, tuple(passages), rows, vector_index(vectors, APPROX_ABOVE),
                  vectors, bm25, source.tokenizer,
                  Lexicon(n * SENTENCES_PER_PASSAGE, dict(df)), source.vocabulary, None)
    return index, vectors


def clustered_vectors(n: int, questions: Any, rng: Any, topics: int = 1000) -> Any:
    """Unit vectors around ``topics`` random centres, the questions' directions among
    them, with noise of about 0.6 of a centre's length."""
    dim = questions.shape[1]
    centres = rng.normal(size=(topics, dim)).astype(np.float32)
    centres[: len(questions)] = questions * np.linalg.norm(centres[0])
    vectors = centres[rng.integers(0, topics, n)]
    vectors += rng.normal(scale=0.6, size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def probes(vectors: Any, questions: Any, rng: Any, count: int = 200) -> Any:
    """The questions, and ``count`` stored vectors buried in noise six times their length
    (cosine about 0.17 to where they started). Queries that close to the data (a question
    to its answer is about 0.7) find all ten neighbours in the cluster they start in, and
    every setting scores 1.0; these land between clusters, the hard case for IVF and
    HNSW alike, so recall here is a floor."""
    near = vectors[rng.integers(0, len(vectors), count)]
    near = near + rng.normal(scale=0.3, size=near.shape)
    found = np.vstack([questions, near]).astype(np.float32)
    found /= np.linalg.norm(found, axis=1, keepdims=True)
    return np.ascontiguousarray(found)


def exact_neighbours(vectors: Any, queries: Any, k: int = 10) -> Any:
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    _, ids = flat.search(queries, k)
    return ids


def recall(approximate: Any, vectors: Any, questions: Any, rng: Any, k: int = 10) -> float:
    """Recall@k of an approximate index against exact search, over the questions and
    queries near the stored vectors."""
    queries = probes(vectors, questions, rng)
    exact = exact_neighbours(vectors, queries, k)
    _, found = approximate.search(queries, k)
    return overlap(exact, found)


def overlap(exact: Any, found: Any) -> float:
    k = exact.shape[1]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(exact, found, strict=True)]))


def _line(ms: dict[str, float]) -> str:
    split = " + ".join(f"{s} {ms[f'{s}_ms']:.2f}" for s in STAGES)
    return f"{ms['total_ms']:.2f} ms per question ({split})"
