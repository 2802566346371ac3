"""Term coverage: the share of a question's information a sentence holds word for word."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.lexicon import Lexicon
from bot.text import terms

# Four sentences: "tiktok" is in three of them, "india" in one, "pizza" in none.
LEXICON = Lexicon.of(terms(s) for s in (
    "TikTok is doing well.",
    "TikTok now has over 1.4 billion installs.",
    "It's growing really quickly in India.",
    "Facebook built a TikTok clone.",
))


def test_rare_terms_weigh_more_than_common_ones() -> None:
    assert LEXICON.sentences == 4 and LEXICON.df["tiktok"] == 3
    assert LEXICON.idf("pizza") > LEXICON.idf("india") > LEXICON.idf("tiktok") > 0


def test_coverage_is_the_weighted_share_of_the_question_found() -> None:
    asked = terms("Where is TikTok growing really quickly?")
    assert asked == {"tiktok", "grow", "realli", "quick"}  # question words are not terms
    pronoun = LEXICON.coverage(asked, terms("It's growing really quickly in India."))
    topic_only = LEXICON.coverage(asked, terms("TikTok is doing well."))
    assert pronoun > 0.8 > 0.2 > topic_only > 0
    assert LEXICON.coverage(asked, asked) == 1.0
    assert LEXICON.coverage(frozenset(), asked) == 0.0


@given(st.text(max_size=80), st.text(max_size=80))
def test_coverage_stays_between_zero_and_one(question: str, sentence: str) -> None:
    assert 0.0 <= LEXICON.coverage(terms(question), terms(sentence)) <= 1.0 + 1e-9


def test_a_hashtag_counts_as_the_words_it_joins() -> None:
    assert terms("#BreakUpBigTech.") >= {"breakupbigtech", "break", "big", "tech"}
    asked = terms("What is the hashtag about breaking up big tech?")
    assert LEXICON.coverage(asked, terms("#BreakUpBigTech.")) > 0.5
