"""Questions about the whole article are answered from the passages closest to its title."""

from __future__ import annotations

import pytest

from bot.answer import Answerer
from bot.evaluate import is_hit
from bot.overview import is_overview


@pytest.mark.parametrize("question", [
    "What is this article about?", "What's the post about?", "What does the article say?",
    "Summarize the article", "Sum up this post for me", "tl;dr", "TLDR?", "Give me the gist",
    "What is the main point?",
])
def test_questions_about_the_whole_article(question: str) -> None:
    assert is_overview(question)


@pytest.mark.parametrize("question", [
    "What is TikTok?", "What does the article say about Lasso?", "Summarize TikTok's revenue",
    "What is the summary of TikTok revenue?", "What is this app about?",
])
def test_questions_about_something_in_it(question: str) -> None:
    assert not is_overview(question)


def test_an_overview_quotes_what_the_title_announces(answerer: Answerer) -> None:
    answer = answerer.ask("What is this article about?")
    assert answer.answered and answer.question == "What is this article about?"
    # The title is "TikTok's revenue is apparently over $7 billion".
    assert is_hit(answer.excerpts[0].parts()[1], ["$7 billion"])
