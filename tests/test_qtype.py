"""Answer typing: what kind of answer a question asks for, and whether a sentence has it."""

from __future__ import annotations

import pytest

from bot.qtype import AnswerType, expected_type, role_word, supplies


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


def test_the_role_a_who_question_asks_about() -> None:
    assert role_word("Who is TikTok's CEO?") == "ceo"
    assert role_word("Who is the founder of ByteDance?") == "founder"
    assert role_word("Who leaked the recordings?") is None
