"""Build, save, load and validate the index folder.

Layout: ``index/CURRENT`` names a generation folder holding ``manifest.json``,
``passages.jsonl``, ``passages.faiss``, ``sentences.npy``, ``lexicon.json``,
``vocabulary.json`` (the corpus's words and the synonyms that mean them, for answerability)
and ``bm25/``.
A build writes a new generation in a temporary folder, renames it into place and only then
replaces ``CURRENT`` (write to a temp file, then ``os.replace``), so an interrupted build
leaves the previous index untouched and loadable."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.answerability.vocabulary import Vocabulary, build_vocabulary
from bot.encoding import Embedder
from bot.errors import IndexCorrupt
from bot.ingest import Document, SeedProblem, load_documents, seeds_unchanged
from bot.lexicon import Lexicon
from bot.passages import ChunkParams, Passage, split_passages
from bot.text import stemmer, terms

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

FORMAT_VERSION = 10  # bump when ingestion, chunking or the file layout changes
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
VECTORS = "passages.faiss"
SENTENCES = "sentences.npy"
LEXICON = "lexicon.json"
VOCABULARY = "vocabulary.json"
BM25_DIR = "bm25"
# Above this many passages, exact search (IndexFlatIP, a full scan per question) gives way
# to an inverted-file index that scans ``NPROBE`` of its lists: see vector_index. At 20,000
# a full scan costs about 0.4 ms, a tenth of a question, and grows with the corpus; IVF
# stays near 0.1 ms. NPROBE lists, or as many as hold SCANNED vectors if that is more:
# recall@10 >= 0.95 against exact search on clustered vectors from 20k to 1M (32 probes
# alone give 0.94 at 60k), faster at 1M than HNSW for that recall (docs/benchmark.md, "Scale").
APPROX_ABOVE = 20_000
NPROBE = 32
SCANNED = 8_000  # what 32 of 4,000 lists hold at 1M: about 0.15 ms of dot products


def index_kind(n: int, approx_above: int) -> str:
    return "IndexFlatIP" if n <= approx_above else "IndexIVFFlat"


def vector_index(vectors: NDArray[np.float32], approx_above: int) -> Any:
    """Exact inner-product search for small corpora; IVF (4·sqrt(n) k-means lists, trained
    on 40 vectors a list, ``probes`` of them scanned) above ``approx_above``, where a full scan
    would dominate the time per question. Recall against exact search is measured by the
    benchmark (sqrt(n) lists gave 0.80 at 100k on clustered vectors; 4·sqrt(n), 0.98)."""
    import faiss

    data = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = data.shape
    if index_kind(n, approx_above) == "IndexFlatIP":
        flat = faiss.IndexFlatIP(dim)
        flat.add(data)
        return flat
    lists = int(4 * np.sqrt(n))
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
    sample = data[np.random.default_rng(0).choice(n, size=min(n, 40 * lists), replace=False)]
    ivf.train(sample)
    ivf.add(data)
    ivf.nprobe = probes(n, lists)
    return ivf


def probes(n: int, lists: int) -> int:
    """Lists an IVF of ``n`` vectors in ``lists`` lists scans per question."""
    return max(NPROBE, min(lists, -(-SCANNED * lists // n)))

# Called as progress(done, total) while passages and sentences are embedded.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DocumentInfo:
    id: str
    title: str
    file: str
    sha256: str
    passages: int
    url: str | None = None
    author: str | None = None
    date: str | None = None
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model: str
    dimension: int
    chunking: dict[str, int]
    documents: tuple[DocumentInfo, ...]
    passages: int
    sentences: int
    built_at: str
    faiss_index: str
    # What made the vectors (``Embedder.label``): the OpenVINO export, by fingerprint, or
    # sentence-transformers on torch. Informational: both give the same vectors (cosine
    # ≥ 0.9999, tested), so a change of encoder does not make an index stale.
    encoder: str = ""

    def describes(self, documents: list[Document], model: str, chunking: ChunkParams) -> bool:
        """True when this index was built from exactly these seeds, model and chunking."""
        return (
            self.matches(model, chunking)
            and sorted((d.id, d.sha256) for d in self.documents)
            == sorted((d.id, d.sha256) for d in documents)
        )

    def matches(self, model: str, chunking: ChunkParams) -> bool:
        """True when this index was built by this program version, model and chunking."""
        return (self.format_version == FORMAT_VERSION and self.model == model
                and self.chunking == chunking.as_dict())

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        data["documents"] = tuple(
            DocumentInfo(**{**d, "examples": tuple(d.get("examples", ()))})
            for d in data["documents"]
        )
        return cls(**data)


@dataclass(frozen=True)
class Index:
    """A loaded index. ``sentence_rows[i]`` lists the rows of ``sentence_vectors`` for the
    sentences of ``passages[i]``, in order. Sentence vectors are pooled from the tokens of
    the passage they appear in (see ``Embedder.encode_passages``)."""

    manifest: Manifest
    passages: tuple[Passage, ...]
    sentence_rows: tuple[tuple[int, ...], ...]
    vectors: Any  # faiss.Index over passage vectors
    sentence_vectors: NDArray[np.float32]
    bm25: Any  # bm25s.BM25
    tokenizer: Any  # bm25s.tokenization.Tokenizer
    lexicon: Lexicon  # term frequencies over the unique sentences
    vocabulary: Vocabulary  # the corpus's words, and the words people may ask with instead
    folder: Path | None

    def document(self, doc_id: str) -> DocumentInfo:
        return self._documents[doc_id]

    @cached_property
    def _documents(self) -> dict[str, DocumentInfo]:
        """By id: a question's excerpts look their documents up without a scan."""
        return {d.id: d for d in self.manifest.documents}

    def block_text(self, passage: Passage) -> str:
        """The text of the passage's whole block (every window of a long paragraph)."""
        return " ".join(p.text for p in self._blocks[(passage.doc_id, passage.block)])

    def sentence_before(self, passage: Passage, i: int) -> str:
        """The sentence before sentence ``i`` of ``passage`` in its block (its paragraph,
        with the paragraph introducing it), or "" for the block's first: what the reader
        reads beside a sentence, to know what its "it" or "they" is."""
        return self._before.get(self.sentence_rows[self._rows[passage.id]][i], "")

    @cached_property
    def _before(self) -> dict[int, str]:
        """Sentence row → the text of the sentence before it in its block."""
        found: dict[int, str] = {}
        for members in self._blocks.values():
            spans: dict[int, tuple[int, str]] = {}  # row: (start, text)
            for p in members:
                rows = self.sentence_rows[self._rows[p.id]]
                for (s, e), row in zip(p.sentences, rows, strict=True):
                    spans[row] = (s, p.text[s - p.start : e - p.start])
            ordered = sorted(spans.items(), key=lambda item: item[1][0])
            for (row, _), (_, (_, text)) in zip(ordered[1:], ordered, strict=False):
                found[row] = text
        return found

    def passage_row(self, passage_id: str) -> int | None:
        """The position of the passage with this id, or None when the index has none."""
        return self._rows.get(passage_id)

    @cached_property
    def _rows(self) -> dict[str, int]:
        return {p.id: i for i, p in enumerate(self.passages)}

    def centroid(self, doc_id: str) -> NDArray[np.float32]:
        """The mean of the document's sentence vectors: its topic, which similarities are
        also measured without (see ``bot.retriever``)."""
        return self._centroids[doc_id]

    @cached_property
    def _centroids(self) -> dict[str, NDArray[np.float32]]:
        return {doc: self.sentence_vectors[rows].mean(axis=0)
                for doc, rows in self._document_rows.items()}

    @cached_property
    def centring(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Per sentence row: its dot product with its document's mean vector, and its
        distance from it (what a centred similarity needs besides the question's own)."""
        dots = np.zeros(len(self.sentence_vectors))
        norms = np.ones(len(self.sentence_vectors))
        for doc, rows in self._document_rows.items():
            centre = self._centroids[doc]
            vectors = self.sentence_vectors[rows]
            dots[rows] = vectors @ centre
            norms[rows] = np.linalg.norm(vectors - centre, axis=1)
        return dots, norms

    @cached_property
    def _document_rows(self) -> dict[str, NDArray[np.int64]]:
        rows: dict[str, set[int]] = {}
        for passage, sentence_rows in zip(self.passages, self.sentence_rows, strict=True):
            rows.setdefault(passage.doc_id, set()).update(sentence_rows)
        return {doc: np.array(sorted(r), dtype=np.int64) for doc, r in rows.items()}

    @cached_property
    def _blocks(self) -> dict[tuple[str, int], list[Passage]]:
        members: dict[tuple[str, int], list[Passage]] = {}
        for p in self.passages:
            members.setdefault((p.doc_id, p.block), []).append(p)
        return members


@dataclass(frozen=True)
class LoadReport:
    """How ``ensure_index`` got its index, for front ends to mention."""

    action: str  # "loaded", "built", "rebuilt-stale", "rebuilt-corrupt"
    reason: str = ""
    problems: tuple[SeedProblem, ...] = ()


def ensure_index(
    seeds_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    chunking: ChunkParams | None = None,
    progress: Progress | None = None,
) -> tuple[Index, LoadReport]:
    """The index for the current seeds: loaded when fresh, else (re)built and saved."""
    chunking = chunking or ChunkParams()
    index: Index | None = None
    try:
        index = load_index(index_dir)
    except FileNotFoundError:
        action, reason = "built", ""
    except IndexCorrupt as err:
        logger.warning("index at %s is unreadable (%s); rebuilding", index_dir, err)
        action, reason = "rebuilt-corrupt", str(err)
    else:
        action, reason = "rebuilt-stale", "the seeds, model or chunking changed"
        if index.manifest.matches(embedder.name, chunking):
            # The common case, decided by hashing the seed files without parsing them.
            unchanged, problems = seeds_unchanged(
                seeds_dir, {(d.id, d.sha256) for d in index.manifest.documents})
            if unchanged:
                return index, LoadReport("loaded", problems=tuple(problems))
    documents, problems = load_documents(seeds_dir)
    if index is not None:
        if index.manifest.describes(documents, embedder.name, chunking):
            return index, LoadReport("loaded", problems=tuple(problems))
        logger.info("index at %s is stale; rebuilding", index_dir)
    index = build_index(documents, index_dir, embedder, chunking, progress)
    return index, LoadReport(action, reason, tuple(problems))


def build_index(
    documents: list[Document],
    index_dir: Path,
    embedder: Embedder,
    chunking: ChunkParams | None = None,
    progress: Progress | None = None,
) -> Index:
    """Embed the documents' passages and sentences, then save the index atomically. If the
    folder cannot be written, the index is still returned (and a warning logged)."""
    chunking = chunking or ChunkParams()
    passages: list[Passage] = []
    doc_infos: list[DocumentInfo] = []
    for doc in documents:
        doc_passages = split_passages(doc, chunking)
        passages.extend(doc_passages)
        doc_infos.append(
            DocumentInfo(doc.id, doc.title, doc.path.name, doc.sha256, len(doc_passages),
                         doc.url, doc.author, doc.date, doc.examples)
        )
    sentence_rows, owners = _sentence_table(passages)

    total = len(passages)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    passage_vectors, per_passage = embedder.encode_passages(
        [p.text for p in passages],
        [[(s - p.start, e - p.start) for s, e in p.sentences] for p in passages],
        progress=step)
    sentence_vectors = np.zeros((len(owners), passage_vectors.shape[1]), dtype=np.float32)
    for pid, rows in enumerate(sentence_rows):
        for j, row in enumerate(rows):
            if owners[row] == pid:  # a sentence shared by two windows: the first one's
                sentence_vectors[row] = per_passage[pid][j]
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model=embedder.name,
        dimension=int(passage_vectors.shape[1]),
        chunking=chunking.as_dict(),
        documents=tuple(doc_infos),
        passages=len(passages),
        sentences=len(owners),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        faiss_index="",
        encoder=embedder.label,
    )
    manifest = replace(manifest, faiss_index=index_kind(len(passages), APPROX_ABOVE))
    index = assemble(manifest, passages, sentence_rows, passage_vectors, sentence_vectors,
                     cache_dir=index_dir / "models")
    try:
        folder = save_index(index, index_dir)
    except OSError as err:
        logger.warning("could not save the index to %s (%s); using it from memory", index_dir,
                       err.strerror or err)
        return index
    return replace(index, folder=folder)


def assemble(
    manifest: Manifest,
    passages: list[Passage],
    sentence_rows: list[tuple[int, ...]],
    passage_vectors: NDArray[np.float32],
    sentence_vectors: NDArray[np.float32],
    cache_dir: Path | None = None,
) -> Index:
    """An in-memory index from embedded passages: the FAISS index, BM25 and the vocabulary
    are made here (``cache_dir`` keeps what the vocabulary reads from WordNet)."""
    vectors = vector_index(passage_vectors, APPROX_ABOVE)
    bm25, tokenizer = _lexical([p.search_text for p in passages])
    return Index(manifest, tuple(passages), tuple(sentence_rows), vectors,
                 sentence_vectors, bm25, tokenizer, _sentence_lexicon(passages),
                 build_vocabulary((p.text for p in passages), cache_dir), None)


def save_index(index: Index, index_dir: Path) -> Path:
    import faiss

    index_dir.mkdir(parents=True, exist_ok=True)
    with _build_lock(index_dir):
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=index_dir))
        try:
            (tmp / PASSAGES).write_text(
                "".join(json.dumps(_passage_row(p, r), ensure_ascii=False) + "\n"
                        for p, r in zip(index.passages, index.sentence_rows, strict=True)),
                encoding="utf-8",
            )
            faiss.write_index(index.vectors, str(tmp / VECTORS))
            np.save(tmp / SENTENCES, index.sentence_vectors)
            index.bm25.save(str(tmp / BM25_DIR), show_progress=False)
            index.tokenizer.save_vocab(str(tmp / BM25_DIR))
            (tmp / LEXICON).write_text(
                json.dumps(index.lexicon.to_json()),
                encoding="utf-8")
            (tmp / VOCABULARY).write_text(
                json.dumps(index.vocabulary.to_json(), ensure_ascii=False), encoding="utf-8")
            (tmp / MANIFEST).write_text(index.manifest.to_json(), encoding="utf-8")
            _fsync_tree(tmp)
            generation = index_dir / f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{tmp.name[5:]}"
            os.rename(tmp, generation)
            _replace_text(index_dir / CURRENT, generation.name + "\n")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _remove_old_generations(index_dir, keep=generation.name)
    return generation


def load_index(index_dir: Path) -> Index:
    """The current index. Raises FileNotFoundError when there is none, IndexCorrupt when
    what is there is incomplete or inconsistent."""
    import faiss

    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise FileNotFoundError(pointer)
    try:
        folder = index_dir / pointer.read_text(encoding="utf-8").strip()
        manifest = Manifest.from_json((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise IndexCorrupt(f"{Path(err.filename or '').name or 'a file'} is missing") from None
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise IndexCorrupt(f"manifest unreadable: {type(err).__name__}") from None
    if manifest.format_version != FORMAT_VERSION:
        raise IndexCorrupt(
            f"format version {manifest.format_version}, this program reads {FORMAT_VERSION}"
        )
    try:
        rows = [json.loads(line) for line in
                (folder / PASSAGES).read_text(encoding="utf-8").splitlines()]
        passages = [_passage_from_row(r) for r in rows]
        sentence_rows = [tuple(int(i) for i in r["sentence_rows"]) for r in rows]
        vectors = faiss.read_index(str(folder / VECTORS))
        sentence_vectors = np.load(folder / SENTENCES, allow_pickle=False)
        bm25, tokenizer = _load_lexical(folder / BM25_DIR)
        table = json.loads((folder / LEXICON).read_text(encoding="utf-8"))
        lexicon = Lexicon.from_json(table)
        vocabulary = Vocabulary.from_json(
            json.loads((folder / VOCABULARY).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, AttributeError) as err:
        raise IndexCorrupt(f"{_describe(err)}") from None
    _validate(manifest, passages, sentence_rows, vectors, sentence_vectors, bm25, lexicon)
    return Index(manifest, tuple(passages), tuple(sentence_rows), vectors,
                 sentence_vectors.astype(np.float32, copy=False), bm25, tokenizer, lexicon,
                 vocabulary, folder)


def _validate(
    manifest: Manifest,
    passages: list[Passage],
    sentence_rows: list[tuple[int, ...]],
    vectors: Any,
    sentence_vectors: NDArray[Any],
    bm25: Any,
    lexicon: Lexicon,
) -> None:
    n = manifest.passages
    checks = [
        (len(passages) == n, f"{len(passages)} passages, manifest says {n}"),
        (vectors.ntotal == n, f"{vectors.ntotal} vectors for {n} passages"),
        (vectors.d == manifest.dimension, f"vectors of dimension {vectors.d}, "
                                          f"manifest says {manifest.dimension}"),
        (sentence_vectors.shape == (manifest.sentences, manifest.dimension),
         f"sentence vectors of shape {sentence_vectors.shape}"),
        (all(0 <= i < manifest.sentences for r in sentence_rows for i in r),
         "a passage points at a sentence that is not there"),
        (int(bm25.scores.get("num_docs", n)) == n, "the BM25 index does not match the passages"),
        (lexicon.sentences == manifest.sentences,
         f"term counts for {lexicon.sentences} sentences, manifest says {manifest.sentences}"),
        (sum(d.sentences for d in lexicon.documents.values()) == lexicon.sentences
         and set(lexicon.documents) <= {d.id for d in manifest.documents},
         "the term counts per document do not add up to the index's"),
    ]
    for ok, problem in checks:
        if not ok:
            raise IndexCorrupt(problem)


def _sentence_table(passages: list[Passage]) -> tuple[list[tuple[int, ...]], list[int]]:
    """Unique sentences (overlapping windows share some): each passage's rows, and for each
    sentence the first passage that holds it."""
    row_of: dict[tuple[str, int, int], int] = {}
    owners: list[int] = []
    passage_rows = []
    for pid, p in enumerate(passages):
        rows = []
        for s, e in p.sentences:
            key = (p.doc_id, s, e)
            if key not in row_of:
                row_of[key] = len(owners)
                owners.append(pid)
            rows.append(row_of[key])
        passage_rows.append(tuple(rows))
    return passage_rows, owners


def _sentence_lexicon(passages: list[Passage]) -> Lexicon:
    """Term frequencies over the unique sentences (overlapping windows share some)."""
    seen: set[tuple[str, int, int]] = set()
    found = []
    for p in passages:
        for s, e in p.sentences:
            if (p.doc_id, s, e) not in seen:
                seen.add((p.doc_id, s, e))
                found.append((p.doc_id, terms(p.text[s - p.start : e - p.start])))
    return Lexicon.by_document(found)


def _lexical(texts: list[str]) -> tuple[Any, Any]:
    import bm25s
    from bm25s.tokenization import Tokenizer

    tokenizer = Tokenizer(stemmer=stemmer(), stopwords="en")
    # As a Tokenized tuple, so BM25's vocabulary has string keys: bm25s saves it with orjson
    # when that is installed, and orjson refuses the integer keys of an id-only corpus.
    tokens = tokenizer.tokenize(texts, show_progress=False, return_as="tuple")
    bm25 = bm25s.BM25()
    bm25.index(tokens, show_progress=False)
    return bm25, tokenizer


def _load_lexical(folder: Path) -> tuple[Any, Any]:
    import bm25s
    from bm25s.tokenization import Tokenizer

    if not folder.is_dir():
        raise FileNotFoundError(2, "missing", str(folder))
    bm25 = bm25s.BM25.load(str(folder), show_progress=False)
    tokenizer = Tokenizer(stemmer=stemmer(), stopwords="en")
    tokenizer.load_vocab(str(folder))
    return bm25, tokenizer


def _passage_row(p: Passage, rows: tuple[int, ...]) -> dict[str, Any]:
    return {**asdict(p), "sentence_rows": list(rows)}


def _passage_from_row(row: dict[str, Any]) -> Passage:
    return Passage(
        id=row["id"], doc_id=row["doc_id"], paragraph=int(row["paragraph"]),
        start=int(row["start"]), end=int(row["end"]), text=row["text"],
        sentences=tuple((int(s), int(e)) for s, e in row["sentences"]),
        block=int(row["block"]),
    )


def _describe(err: BaseException) -> str:
    if isinstance(err, FileNotFoundError):
        return f"{Path(err.filename or '').name or 'a file'} is missing"
    if isinstance(err, RuntimeError):  # faiss reports truncated or foreign files this way
        return "the FAISS file is unreadable"
    return f"{type(err).__name__}: {str(err)[:120]}"


@contextlib.contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time across processes (the CLI and a running bot may both build)."""
    with open(index_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_old_generations(index_dir: Path, keep: str) -> None:
    for path in index_dir.iterdir():
        if path.is_dir() and path.name != keep and path.name.startswith(("gen-", ".tmp-")):
            shutil.rmtree(path, ignore_errors=True)
