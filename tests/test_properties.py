"""Property-based tests: whatever text arrives, no exception escapes, every excerpt maps
back to the exact source text, and every rendered reply keeps Discord's limits."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answer import Answer, Answerer, Excerpt, clean_question
from bot.discord_app.format import (
    DESCRIPTION_MAX,
    EMBEDS_TOTAL_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    TITLE_MAX,
    answer_embed,
)
from bot.errors import InvalidQuestion
from bot.ingest import load_document
from bot.passages import split_passages
from tests.conftest import SEED

# Text as people paste it: any code point, plus the awkward ones on purpose.
AWKWARD = st.sampled_from(["\x00", "\u200b", "\u200f", "\u202e", "\u00a0", "\r\n", "\n\n",
                           "@everyone", "<@&123>", "**", "```", "# ", "Leave a Reply", ":",
                           "👍🏽", "é", "\ufeff", ". ", "? "])
TEXT = st.lists(st.one_of(st.text(max_size=40), AWKWARD), max_size=40).map("".join)
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(body=TEXT, suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_ingesting_any_text_keeps_exact_offsets(body: str, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"doc{suffix}"
        path.write_bytes(body.encode("utf-8", "surrogatepass"))
        try:
            doc = load_document(path)
        except ValueError:
            return  # skipped with a reason: allowed
        for s, e in doc.paragraphs:
            assert 0 <= s < e <= len(doc.text)
        for passage in split_passages(doc):
            assert doc.text[passage.start : passage.end] == passage.text
            assert all(passage.start <= s < e <= passage.end for s, e in passage.sentences)


@pytest.mark.any_outcome("any question: excerpts, if any, locate and fit Discord's limits")
@FAST
@given(raw=TEXT)
def test_any_question_is_answered_or_refused_cleanly(answerer: Answerer, raw: str) -> None:
    try:
        clean_question(raw, answerer.max_question_chars)
    except InvalidQuestion as err:
        assert str(err) and "\n" not in str(err)
        return
    answer = answerer.ask(raw)
    source = SEED.read_text(encoding="utf-8")
    for excerpt in answer.excerpts:
        assert source[excerpt.start : excerpt.end] == excerpt.text
        assert excerpt.start <= excerpt.highlight[0] < excerpt.highlight[1] <= excerpt.end
    _assert_within_discord_limits(answer)


@FAST
@given(question=TEXT.filter(str.strip), texts=st.lists(TEXT.filter(str.strip), min_size=1,
                                                         max_size=12),
       title=TEXT, repeat=st.integers(1, 300))
def test_rendered_replies_keep_discord_limits(question: str, texts: list[str], title: str,
                                              repeat: int) -> None:
    excerpts = []
    for i, text in enumerate(texts):
        long = (text + " ") * repeat
        cut = max(1, len(long) // 2)
        excerpts.append(Excerpt(f"d:{i}", "d", title or "t", i + 1, 0, len(long), long, 0.5,
                                (0, cut), "https://example.com/a"))
    _assert_within_discord_limits(Answer(question * repeat, True, tuple(excerpts)))


def _assert_within_discord_limits(answer: Answer) -> None:
    embed = answer_embed(answer, ["An example question?"])
    assert len(embed.title or "") <= TITLE_MAX
    assert len(embed.description or "") <= DESCRIPTION_MAX
    assert len(embed) <= EMBEDS_TOTAL_MAX and len(embed.fields) <= 25
    for field in embed.fields:
        assert len(field.name or "") <= FIELD_NAME_MAX
        assert 0 < len(field.value or "") <= FIELD_VALUE_MAX


def test_truncate_never_exceeds_tiny_limits() -> None:
    from bot.discord_app.format import truncate

    for limit in range(-2, 6):
        assert len(truncate("many words here", limit)) <= max(limit, 0)
