"""Follow-up resolution in the core (the Discord thread test relies on the same path)."""

from __future__ import annotations

import pytest

from bot.answer import Answerer
from bot.evaluate import is_hit
from bot.followup import is_followup, search_text


@pytest.mark.parametrize("question, expected", [
    ("and how much of it came from China?", True),
    ("What about Facebook?", True),
    ("Is it profitable?", True),
    ("How much revenue did TikTok make?", False),
    ("What is Lasso?", False),
    ("Did Zuckerberg say that?", False),  # names something new: stands alone
])
def test_what_counts_as_a_follow_up(question: str, expected: bool) -> None:
    assert is_followup(question) is expected


def test_search_text_joins_the_previous_question() -> None:
    history = ["Who leaked the recordings?", "How much revenue did TikTok make?"]
    assert search_text("and how much of it came from China?", history) == (
        "How much revenue did TikTok make? and how much of it came from China?")
    assert search_text("What is Lasso?", history) == "What is Lasso?"
    assert search_text("and what else?", []) == "and what else?"


@pytest.mark.any_outcome("the follow-up quotes the China passage, sure or not",
                         among=("answered", "tentative"))
def test_follow_up_is_answered_in_context(answerer: Answerer) -> None:
    question = "and how much of it came from China?"
    followed = answerer.ask(question, history=["How much revenue did TikTok make?"])
    assert followed.excerpts and followed.question == question
    assert is_hit(followed.excerpts[0].text, ["most of it came from China"])


@pytest.mark.any_outcome("with its history it quotes the livestream passage, sure or not; "
                         "alone it is off topic by far", among=("answered", "tentative"))
def test_history_is_what_answers_a_pronoun_question(answerer: Answerer) -> None:
    question = "What did they do next?"
    assert not answerer.ask(question).answered  # alone, "they" means nothing
    followed = answerer.ask(question, history=["Who leaked the Facebook Q&A recordings?"])
    assert followed.excerpts and is_hit(followed.excerpts[0].text, ["livestream"])
