"""Answer typing and the names a question gives: the rules that keep a similar sentence
from answering a question it does not answer."""

from __future__ import annotations

import pytest

from bot.qtype import (
    AnswerType,
    expected_type,
    mentions_names,
    mentions_role,
    names_asked,
    supplies,
)


@pytest.mark.parametrize("question, kind", [
    ("How many installs does it have?", AnswerType.NUMBER),
    ("What is Instagram's revenue?", AnswerType.NUMBER),
    ("What was the company's valuation in 2019?", AnswerType.NUMBER),
    ("In which year was it founded?", AnswerType.YEAR),
    ("When did it turn a profit?", AnswerType.TIME),
    ("Who leaked the recordings?", AnswerType.NAME),
    ("Where is it growing?", AnswerType.NAME),
    ("What is Lasso?", AnswerType.ANY),
    ("What is TikTok's parent company?", AnswerType.ANY),
])
def test_questions_are_typed_by_what_they_ask_for(question: str, kind: AnswerType) -> None:
    assert expected_type(question) is kind


def test_a_sentence_supplies_only_what_the_question_lacks() -> None:
    assert supplies("It booked more than $7 billion.", AnswerType.NUMBER, "How much?")
    assert not supplies("It booked a lot.", AnswerType.NUMBER, "How much?")
    assert supplies("Published by the Verge.", AnswerType.NAME, "Who published it?")
    # The only name in the sentence is the one the question already gives.
    assert not supplies("And it has Facebook paying attention.", AnswerType.NAME,
                        "Who runs Facebook?")


def test_a_role_must_be_mentioned() -> None:
    assert not mentions_role("TikTok is built by ByteDance.", "Who is TikTok's CEO?")
    assert mentions_role("Its CEO spoke today.", "Who is the CEO of TikTok?")


@pytest.mark.parametrize("question, names", [
    ("What is Instagram's revenue?", [{"instagram"}]),
    ("What did Mark Zuckerberg say about TikTok?", [{"mark", "zuckerberg"}, {"tiktok"}]),
    ("Is it big in the U.S.?", [{"us"}]),  # capitals keep a stopword ("us") a name
    ("Tell me more. Who built it?", []),  # a sentence's first word is not a name
    ("what is instagram's revenue?", []),  # nothing capitalised, nothing required
])
def test_names_asked(question: str, names: list[set[str]]) -> None:
    assert [set(n) for n in names_asked(question)] == names


def test_every_name_must_be_mentioned_in_the_paragraph() -> None:
    paragraph = "I think it's past Instagram now in India. Mark Zuckerberg said so."
    assert mentions_names(paragraph, names_asked("Where did Zuckerberg say Instagram lost?"))
    assert not mentions_names(paragraph, names_asked("What is Instagram's share in Europe?"))
    assert mentions_names(paragraph, ())
