from __future__ import annotations

import itertools
from pathlib import Path

from bot.ingest import load_document
from bot.passages import ChunkParams, split_passages
from tests.conftest import SEED


def test_passages_are_exact_spans_of_the_source() -> None:
    doc = load_document(SEED)
    passages = split_passages(doc)
    assert passages
    for p in passages:
        assert doc.text[p.start : p.end] == p.text
        assert all(p.start <= s < e <= p.end for s, e in p.sentences)


def test_introducing_paragraph_joins_the_quote() -> None:
    doc = load_document(SEED)
    passages = split_passages(doc)
    first = next(p for p in passages if p.text.startswith("Here’s an excerpt"))
    assert "TikTok is doing well" in first.text  # the quote it introduces is in the same passage
    # Every window of the quote belongs to the block the introduction opens, and no other.
    block = [p for p in passages if p.block == first.block]
    assert any("growing really quickly in India" in p.text for p in block)
    assert not any("1.4 billion installs" in p.text for p in block)


def test_long_paragraphs_become_overlapping_windows() -> None:
    params = ChunkParams()
    doc = load_document(SEED)
    passages = split_passages(doc, params)
    long_paragraph = max(doc.paragraphs, key=lambda span: span[1] - span[0])
    assert long_paragraph[1] - long_paragraph[0] > params.max_chars
    inside = [p for p in passages if long_paragraph[0] <= p.start < long_paragraph[1]]
    assert len(inside) >= 3
    for p in inside:
        assert len(p.text) <= params.window_chars or len(p.sentences) == 1
    for a, b in itertools.pairwise(inside):
        assert a.start < b.start and a.end < b.end  # no window lies inside another
    covered = {s for p in inside for s in p.sentences}
    assert max(e for _, e in covered) == long_paragraph[1]


def test_ids_are_stable_and_local(tmp_path: Path) -> None:
    text = "Title\n\nFirst paragraph stays.\n\nSecond paragraph changes.\n"
    path = tmp_path / "doc.txt"
    path.write_text(text, encoding="utf-8")
    before = {p.text: p.id for p in split_passages(load_document(path))}
    path.write_text(text.replace("changes", "changed a lot"), encoding="utf-8")
    after = {p.text: p.id for p in split_passages(load_document(path))}
    assert after["First paragraph stays."] == before["First paragraph stays."]
    assert len(set(after.values())) == len(after)
