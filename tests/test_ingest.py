from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.errors import SeedError
from bot.ingest import is_furniture, load_document, load_documents, opens_comments
from bot.text import fold
from tests.conftest import SEED

FURNITURE_PHRASES = ("comment 0", "Leave a Reply", "You are commenting using",
                     "Connecting to %s", "Fill in your details below", "Log Out")


def test_seed_boilerplate_is_not_article() -> None:
    doc = load_document(SEED)
    article = "\n".join(doc.text[s:e] for s, e in doc.paragraphs)
    for phrase in FURNITURE_PHRASES:
        assert fold(phrase) in fold(doc.text), f"the seed should hold {phrase!r} for this test"
        assert fold(phrase) not in fold(article)
    assert "their version of TikTok is called Lasso" in article
    assert doc.title == "TikTok’s revenue is apparently over $7 billion"  # NBSP folded
    assert fold(doc.title) not in fold(article)  # the title is the citation, not a passage


def test_offsets_point_into_the_exact_source() -> None:
    doc = load_document(SEED)
    source = SEED.read_text(encoding="utf-8")
    assert doc.text == source
    for s, e in doc.paragraphs:
        assert source[s:e] == doc.text[s:e] and source[s:e].strip() == source[s:e]


def test_non_breaking_space_matches_ascii() -> None:
    source = SEED.read_text(encoding="utf-8")
    title = source.split("\n\n")[1]
    assert "$7\u00a0billion" in title and "TikTok’s" in title  # the seed really has them
    assert fold("TikTok's revenue is apparently over $7 billion") == fold(title)
    assert load_document(SEED).title == "TikTok’s revenue is apparently over $7 billion"


OTHER_BLOG = """My trip to Lisbon

Share this:

3 Comments

Lisbon has seven hills, and I climbed all of them in one week.

The comments on my last post asked about food: the pastries are the best part.

Like this:

Like Loading...

Related

5 thoughts on “My trip to Lisbon”

Anna says: lovely post!

Post Comment
"""


def test_general_rules_hold_for_another_blog_export(tmp_path: Path) -> None:
    path = tmp_path / "lisbon.txt"
    path.write_text(OTHER_BLOG, encoding="utf-8")
    doc = load_document(path)
    kept = [doc.text[s:e] for s, e in doc.paragraphs]
    assert doc.title == "My trip to Lisbon"
    assert kept == [
        "Lisbon has seven hills, and I climbed all of them in one week.",
        "The comments on my last post asked about food: the pastries are the best part.",
    ]


@pytest.mark.parametrize("line", ["comment 0", "12 Comments", "Comments (4)", "Share this:",
                                  "Connecting to %s", "Like Loading…", "Post Comment"])
def test_furniture_lines(line: str) -> None:
    assert is_furniture(line)


@pytest.mark.parametrize("line", ["He left a comment about revenue.", "Comments matter.",
                                  "Share this with your friends, he said."])
def test_article_sentences_are_not_furniture(line: str) -> None:
    assert not is_furniture(line) and not opens_comments(line)


def test_markdown_front_matter_and_heading(tmp_path: Path) -> None:
    path = tmp_path / "post.md"
    path.write_text("---\ntitle: Front Title\nurl: https://example.com/post\n"
                    "author: Ada\n---\n# Heading\n\nBody paragraph one.\n", encoding="utf-8")
    doc = load_document(path)
    assert (doc.title, doc.url, doc.author) == ("Front Title", "https://example.com/post", "Ada")
    assert [doc.text[s:e] for s, e in doc.paragraphs] == ["Body paragraph one."]


def test_sidecar_metadata(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("A title\n\nSome body text here.\n", encoding="utf-8")
    (tmp_path / "a.meta.json").write_text(json.dumps({"url": "https://x.test/a"}))
    assert load_document(path).url == "https://x.test/a"


def test_html_goes_through_an_extractor(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    body = " ".join(["The harbour opened in 1902 and handled grain and timber."] * 3)
    path.write_text(
        "<html><head><title>Harbour history</title><style>p{color:red}</style>"
        "<script>var secret = 'tracking';</script></head><body><nav>Home | About</nav>"
        f"<article><h1>Harbour history</h1><p>{body}</p><p>It closed in 1990.</p></article>"
        "</body></html>", encoding="utf-8")
    doc = load_document(path)
    article = " ".join(doc.text[s:e] for s, e in doc.paragraphs)
    assert doc.title == "Harbour history"
    assert "opened in 1902" in article and "closed in 1990" in article
    assert "tracking" not in doc.text and "color:red" not in doc.text


def test_bad_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Title\n\nA real paragraph.\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "empty.md").write_text("")
    (tmp_path / "notes.csv").write_text("ignored,because,suffix")
    documents, problems = load_documents(tmp_path)
    assert [d.id for d in documents] == ["good"]
    reasons = {p.path.name: p.reason for p in problems}
    assert set(reasons) == {"latin1.txt", "blob.txt", "empty.md"}
    assert "UTF-8" in reasons["latin1.txt"] and "binary" in reasons["blob.txt"]


def test_empty_or_missing_seeds_folder(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="no article"):
        load_documents(tmp_path)
    with pytest.raises(SeedError, match="does not exist"):
        load_documents(tmp_path / "nope")


def test_ten_megabyte_article_is_ingested_with_exact_offsets(tmp_path: Path) -> None:
    from bot.passages import split_passages

    paragraph = ("TikTok booked revenue in many markets, and analysts wrote about it at length "
                 "in reports that ran for pages. ") * 6
    path = tmp_path / "big.txt"
    path.write_text("Big report\n\n" + "\n\n".join([paragraph] * 16_000), encoding="utf-8")
    assert path.stat().st_size > 10_000_000
    doc = load_document(path)
    passages = split_passages(doc)
    assert len(passages) >= 16_000
    for passage in passages[:: len(passages) // 50]:
        assert doc.text[passage.start : passage.end] == passage.text


def test_seed_that_disappears_while_loading_is_skipped(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.txt").write_text("A\n\nStays here.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("B\n\nVanishes.\n", encoding="utf-8")
    real = Path.read_bytes

    def vanish(self: Path) -> bytes:
        if self.name == "b.txt":
            self.unlink()
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", vanish)
    documents, problems = load_documents(tmp_path)
    assert [d.id for d in documents] == ["a"]
    assert [(p.path.name, p.reason) for p in problems] == [("b.txt",
                                                            "file disappeared while reading")]
