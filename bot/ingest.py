"""Seed files → documents: the source text, its title and metadata, and the spans of the
paragraphs that are the article (page furniture such as comment forms left out).

Furniture is never cut out of the text; its paragraphs are only left out of the span list,
so every offset stays an exact index into ``Document.text``."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bot.errors import SeedError
from bot.text import fold, has_word, tidy, trim

logger = logging.getLogger(__name__)

SEED_SUFFIXES = (".txt", ".md", ".html", ".htm")
MAX_SEED_BYTES = 20_000_000

# Whole-paragraph patterns (matched after NFKC, whitespace folding and case folding) for the
# furniture blog platforms put around a post. A pattern must match the entire paragraph, so an
# article sentence that merely mentions comments is never dropped.
_FURNITURE = [
    re.compile(p)
    for p in (
        r"\d+ comments?|comments? \(?\d+\)?|no comments( yet)?\.?",
        r"(share|like) this:?|(like )?loading(\.\.\.|…)|related( posts| articles)?:?",
        r"(you are|you're) commenting using your .{0,40}account\..{0,40}",
        r"fill in your details below or click an icon to log in:?.{0,20}",
        r"connecting to %s\.?",
        r"notify me of (new|follow-up) (comments|posts).{0,40}",
        r"(post|submit) comment|cancel reply|log out /? ?change \)?",
        r"(twitter|facebook|google|wordpress\.com) (picture|photo)",
        r"(posted|published|filed) (in|under|on|by) .{1,80}",
        r"tags?: .{1,200}|categor(y|ies): .{1,200}",
    )
]
# Headings that open the comment section: everything from one of them on is not the article.
_COMMENTS_START = re.compile(
    r"leave a (reply|comment)( to .{1,120})?|(post|add) a comment|comments are closed\.?"
    r"|\d+ (comments|responses|replies|thoughts) (on|to) .{1,200}|join the discussion"
)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?\r?\n---[ \t]*(\r?\n|\Z)", re.DOTALL)
_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Document:
    id: str
    path: Path
    title: str
    text: str
    paragraphs: tuple[tuple[int, int], ...]
    sha256: str
    url: str | None = None
    author: str | None = None
    date: str | None = None
    # Questions the article answers, offered when the bot cannot answer one (metadata).
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeedProblem:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.path.name}: {self.reason}"


def seed_files(seeds_dir: Path) -> list[Path]:
    if seeds_dir.exists() and not seeds_dir.is_dir():
        raise SeedError(f"seeds folder {seeds_dir} is a file: set BOT_SEEDS_DIR to a folder "
                        "of articles")
    if not seeds_dir.is_dir():
        raise SeedError(f"seeds folder {seeds_dir} does not exist: create it and add articles")
    return sorted(
        p for p in seeds_dir.iterdir() if p.is_file() and p.suffix.lower() in SEED_SUFFIXES
    )


def load_documents(seeds_dir: Path) -> tuple[list[Document], list[SeedProblem]]:
    """Every readable seed as a document, and a problem for each seed that was skipped."""
    documents: list[Document] = []
    problems: list[SeedProblem] = []
    for path in seed_files(seeds_dir):
        try:
            doc = load_document(path)
        except (OSError, ValueError) as err:
            problems.append(SeedProblem(path, _reason(err)))
            continue
        if doc.paragraphs:
            documents.append(doc)
        else:
            problems.append(SeedProblem(path, "no article text found"))
    for problem in problems:
        logger.warning("%s", problem)
    if not documents:
        skipped = "; ".join(str(p) for p in problems[:3])
        raise SeedError(
            f"no article to index in {seeds_dir}: "
            + (skipped if skipped else "add .txt, .md or .html files with text")
        )
    return documents, problems


def load_document(path: Path) -> Document:
    raw = path.read_bytes()
    if len(raw) > MAX_SEED_BYTES:
        raise ValueError(f"larger than {MAX_SEED_BYTES // 1_000_000} MB")
    if b"\x00" in raw[:8192]:
        raise ValueError("binary file, not text")
    meta, sidecar_bytes = _sidecar(path)
    if path.suffix.lower() in (".html", ".htm"):
        text, extracted = _extract_html(raw)
        meta = {**extracted, **meta}
        body_start = 0
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise ValueError(f"not valid UTF-8 (byte {err.start})") from None
        text, body_start, front = _front_matter(text)
        meta = {**front, **meta}
    spans = _article_paragraphs(text, body_start)
    title = meta.get("title")
    if spans and _is_heading(text, spans[0]):
        title = title or _heading_text(text, spans[0])
        spans = spans[1:]
    return Document(
        id=_slug(path.stem),
        path=path,
        title=tidy(str(title or path.stem.replace("-", " ").replace("_", " ").capitalize())),
        text=text,
        paragraphs=tuple(spans),
        sha256=_sha256(raw, sidecar_bytes),
        url=_opt(meta.get("url") or meta.get("source")),
        author=_opt(meta.get("author")),
        date=_opt(meta.get("date")),
        examples=_examples(meta.get("examples")),
    )


def seeds_unchanged(seeds_dir: Path,
                    indexed: set[tuple[str, str]]) -> tuple[bool, list[SeedProblem]]:
    """Whether the seeds are still exactly the ``indexed`` (document id, SHA-256) pairs,
    decided by hashing files, not parsing them (no HTML extraction, no segmentation), so
    a start with an up-to-date index stays cheap. A seed that is not indexed is parsed on
    its own: if it cannot be indexed it is a problem to report, not a change."""
    seen: list[tuple[str, str]] = []
    problems: list[SeedProblem] = []
    for path in seed_files(seeds_dir):
        try:
            raw = path.read_bytes()
            sidecar = path.with_name(path.stem + ".meta.json")
            key = (_slug(path.stem), _sha256(raw, sidecar.read_bytes()
                                             if sidecar.is_file() else b""))
        except OSError:
            return False, []
        if key not in indexed:
            try:
                if load_document(path).paragraphs:
                    return False, []
                problems.append(SeedProblem(path, "no article text found"))
            except (OSError, ValueError) as err:
                problems.append(SeedProblem(path, _reason(err)))
            continue
        seen.append(key)
    if sorted(seen) != sorted(indexed):
        return False, []
    for problem in problems:
        logger.warning("%s", problem)
    return True, problems


def is_furniture(paragraph: str) -> bool:
    folded = fold(paragraph)
    return any(p.fullmatch(folded) for p in _FURNITURE) or not has_word(folded)


def opens_comments(paragraph: str) -> bool:
    return _COMMENTS_START.fullmatch(fold(paragraph)) is not None


def paragraph_spans(text: str, start: int = 0) -> list[tuple[int, int]]:
    """Blank-line separated blocks of ``text[start:]``, whitespace trimmed."""
    spans = []
    pos = start
    for sep in _BLANK_LINES.finditer(text, start):
        spans.append(trim(text, pos, sep.start()))
        pos = sep.end()
    spans.append(trim(text, pos, len(text)))
    return [(s, e) for s, e in spans if s < e]


def _article_paragraphs(text: str, start: int) -> list[tuple[int, int]]:
    kept: list[tuple[int, int]] = []
    for s, e in paragraph_spans(text, start):
        paragraph = text[s:e]
        if kept and opens_comments(paragraph):
            break
        if not is_furniture(paragraph) and not opens_comments(paragraph):
            kept.append((s, e))
    return kept


def _is_heading(text: str, span: tuple[int, int]) -> bool:
    s, e = span
    block = text[s:e]
    return block.startswith("#") or ("\n" not in block and len(block) <= 150
                                      and not block.rstrip().endswith((".", ":", "?", "!")))


def _heading_text(text: str, span: tuple[int, int]) -> str:
    return text[span[0] : span[1]].lstrip("#").strip()


def _front_matter(text: str) -> tuple[str, int, dict[str, object]]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, 0, {}
    import frontmatter  # python-frontmatter: YAML parsing of the header only

    try:
        meta = frontmatter.loads(match.group(0) + "\n").metadata
    except Exception as err:  # the YAML library raises its own error types
        raise ValueError(f"front matter is not valid YAML ({type(err).__name__})") from None
    return text, match.end(), dict(meta)


def _extract_html(raw: bytes) -> tuple[str, dict[str, object]]:
    import trafilatura

    extracted = trafilatura.bare_extraction(
        raw, with_metadata=True, include_comments=False, include_tables=True
    )
    result = cast("dict[str, Any] | None", extracted.as_dict() if extracted else None)  # type: ignore[union-attr]
    if not result or not result.get("text"):
        raise ValueError("no article text found in the HTML")
    lines = [line.strip() for line in str(result["text"]).splitlines()]
    text = "\n\n".join(line for line in lines if line)
    title = result.get("title")
    if title:
        text = f"{title}\n\n{text}"
    meta = {k: result[k] for k in ("title", "url", "author", "date") if result.get(k)}
    return text, meta


def _sidecar(path: Path) -> tuple[dict[str, object], bytes]:
    """Metadata from ``<stem>.meta.json`` beside the seed, if present, and its bytes (part
    of the document's hash, so editing it refreshes the index)."""
    sidecar = path.with_name(path.stem + ".meta.json")
    if not sidecar.is_file():
        return {}, b""
    try:
        raw = sidecar.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError):
        raise ValueError(f"{sidecar.name} is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError(f"{sidecar.name} must hold a JSON object")
    return data, raw


def _examples(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())


def _reason(err: Exception) -> str:
    if isinstance(err, PermissionError):
        return "permission denied"
    if isinstance(err, FileNotFoundError):
        return "file disappeared while reading"
    if isinstance(err, OSError):
        return err.strerror or type(err).__name__
    return str(err)


def _sha256(raw: bytes, sidecar: bytes) -> str:
    """A document's version: its bytes and its metadata sidecar's."""
    return hashlib.sha256(raw + sidecar).hexdigest()


def _slug(stem: str) -> str:
    return _SLUG.sub("-", stem.lower()).strip("-") or "document"


def _opt(value: object) -> str | None:
    return str(value) if value else None
