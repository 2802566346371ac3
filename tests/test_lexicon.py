"""Term rarity over the index's sentences: the weights of term coverage."""

from __future__ import annotations

import json

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


@given(st.text(max_size=80))
def test_idf_is_never_negative(term: str) -> None:
    assert LEXICON.idf(term) > 0


def test_a_hashtag_counts_as_the_words_it_joins() -> None:
    assert terms("#BreakUpBigTech.") >= {"breakupbigtech", "break", "big", "tech"}


def test_counts_are_kept_per_document_too() -> None:
    lexicon = Lexicon.by_document([
        ("a", terms("TikTok is doing well.")),
        ("a", terms("It's growing really quickly in India.")),
        ("b", terms("India is a country in Asia.")),
    ])
    assert lexicon.sentences == 3 and lexicon.df["india"] == 2
    assert lexicon.of_document("a").sentences == 2 and lexicon.of_document("a").df["india"] == 1
    assert lexicon.of_document("b").df == Lexicon.of([terms("India is a country in Asia.")]).df
    assert lexicon.of_document("a").idf("india") > lexicon.idf("india")
    assert lexicon.of_document("no such document") is lexicon
    assert Lexicon.from_json(json.loads(json.dumps(lexicon.to_json()))) == lexicon
