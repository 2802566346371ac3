"""Retrieval and answers with the real model over the real seed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.answer import Answerer, clean_question
from bot.answerability.model import Outcome
from bot.errors import InvalidQuestion
from bot.evaluate import (
    EvalQuestion,
    Report,
    answerer_system,
    evaluate,
    has_boilerplate,
    is_hit,
    load_questions,
    split,
)
from bot.index import Index
from tests.conftest import BANK, DEV_SET, EXTRA_SET, HOLDOUT_SET, NEAR


# Its confidence (0.72) is 0.02 over the confident line: quoted either way, and what is
# tested is what is quoted and marked.
@pytest.mark.any_outcome("quoted, sure or not", among=("answered", "tentative"))
def test_revenue_question_quotes_the_seven_billion_sentence(answerer: Answerer) -> None:
    answer = answerer.ask("How much revenue did TikTok book in the first half of the year?")
    assert answer.status is not Outcome.NONE
    top = answer.excerpts[0]
    assert is_hit(top.text, ["$7 billion"])
    before, sentence, after = top.parts()
    assert "$7 billion" in sentence  # the answering sentence is the one marked
    assert before + sentence + after == top.text
    assert top.citation.startswith(f"¶{top.paragraph} · TikTok")


def test_a_sentence_that_leans_on_a_pronoun_is_found_by_its_wording(
    answerer: Answerer,
) -> None:
    # "It's growing really quickly in India." never names TikTok, so its embedding is far
    # from the question's; the question's rarer words, all in that sentence, carry it to
    # the top. (Ranking only: the decision says "doesn't say" at 0.24, a miss in
    # docs/answering.md; with no line at all, the first passage shows what ranks first.)
    anything = replace(answerer, model=replace(answerer.model, tentative_at=0.0, topic_at=0.0))
    answer = anything.ask("Where is TikTok growing really quickly?")
    assert "India" in answer.excerpts[0].parts()[1]


# The revenue sentence is close to both kinds of question; only one is about its subject.
# The name the paragraph lacks is evidence against, not a veto: at most a tentative quote.
@pytest.mark.any_outcome("quoted, sure or not", among=("answered", "tentative"))
def test_the_subject_of_a_sentence_is_quoted(answerer: Answerer) -> None:
    assert answerer.ask("How much revenue did TikTok book this year?").status is not \
        Outcome.NONE


@pytest.mark.any_outcome("at most a tentative quote", among=("tentative", "none"))
def test_another_company_is_not_answered_with_confidence(answerer: Answerer) -> None:
    for question in ("How much revenue did Instagram make?",
                     "How many installs does Lasso have?"):
        assert not answerer.ask(question).answered, question


def test_excerpts_come_most_likely_first(answerer: Answerer) -> None:
    first = answerer.ask("How is TikTok doing?", limit=5)  # unsure: the closest passage,
    more = answerer.ask("How is TikTok doing?", offset=len(first.excerpts), limit=5)  # more
    scores = [e.score for e in first.excerpts + more.excerpts]
    assert len(scores) > 1 and scores == sorted(scores, reverse=True)
    assert all(0.0 < s < 1.0 for s in scores)


@pytest.mark.any_outcome("what every tentative answer looks like, whichever questions are")
def test_a_tentative_answer_quotes_only_the_closest_passage(answerer: Answerer) -> None:
    answers = answerer.ask_many([q.q for q in load_questions(HOLDOUT_SET)])
    tentative = [a for a in answers if a.status is Outcome.TENTATIVE]
    assert tentative, "no held-out question got a tentative answer"
    for answer in tentative:
        assert not answer.answered and len(answer.excerpts) == 1
        assert answerer.model.tentative_at <= answer.confidence < answerer.model.answered_at


def test_json_gives_status_and_confidence(answerer: Answerer) -> None:
    for question in ("What is Lasso?", "Who leaked the recordings?", "hi"):
        answer = answerer.ask(question)
        data = answer.to_dict()
        assert data["status"] == answer.status.value
        assert data["answered"] is (answer.status is Outcome.ANSWERED)
        assert 0.0 <= data["confidence"] <= 1.0
        assert bool(data["excerpts"]) is (answer.status is not Outcome.NONE)


def test_an_introducing_sentence_is_not_marked_when_the_next_one_answers(
    answerer: Answerer,
) -> None:
    answer = answerer.ask("What did Zuckerberg say about TikTok?")
    assert answer.excerpts
    marked = answer.excerpts[0].parts()[1]
    assert not marked.rstrip().endswith(":"), marked


def test_excerpts_locate_exactly_in_the_source(answerer: Answerer, index: Index) -> None:
    source = (answerer.index.manifest.documents[0].file, )
    assert source
    from tests.conftest import SEED

    text = SEED.read_text(encoding="utf-8")
    for question in ("Who leaked the recordings?", "What is Lasso?", "Where is TikTok growing?"):
        for excerpt in answerer.ask(question).excerpts:
            assert text[excerpt.start : excerpt.end] == excerpt.text
            assert excerpt.start <= excerpt.highlight[0] < excerpt.highlight[1] <= excerpt.end


@pytest.mark.parametrize("question", [
    "What is the weather in Paris?", "What is the best pizza topping?", "hi",
    "How do I reverse a list in Python?",
])
def test_off_topic_questions_are_never_quoted(answerer: Answerer, question: str) -> None:
    answer = answerer.ask(question)
    assert answer.status is Outcome.NONE and answer.excerpts == ()


@pytest.mark.parametrize("question", [
    "Who is TikTok's CEO?", "What year did TikTok launch in the United States?",
    "Who founded Facebook?",
])
def test_on_topic_questions_the_article_does_not_answer_are_not_answered(
    answerer: Answerer, question: str,
) -> None:
    assert not answerer.ask(question).answered


def test_overlapping_windows_are_not_both_returned(answerer: Answerer) -> None:
    answer = answerer.ask("What did Zuckerberg say about TikTok and Chinese companies?", limit=5)
    spans = [(e.start, e.end) for e in answer.excerpts]
    for i, (s1, e1) in enumerate(spans):
        for s2, e2 in spans[i + 1:]:
            assert e1 <= s2 or e2 <= s1


def test_more_excerpts_continue_where_the_first_page_ended(answerer: Answerer) -> None:
    first = answerer.ask("How is TikTok doing?", limit=1)
    second = answerer.ask("How is TikTok doing?", offset=1, limit=1)
    assert first.has_more and second.excerpts
    assert first.excerpts[0].passage_id != second.excerpts[0].passage_id


def test_no_passage_is_page_furniture(index: Index) -> None:
    assert not [p.text for p in index.passages if has_boilerplate(p.text)]


@pytest.mark.parametrize("raw, problem", [
    ("", "empty"), ("   \t ", "empty"), ("\u200b\u200f", "empty"), ("?!…", "no words"),
    ("x" * 501, "limit is 500"),
])
def test_unsearchable_questions(raw: str, problem: str) -> None:
    with pytest.raises(InvalidQuestion, match=problem):
        clean_question(raw, 500)


def test_question_is_normalised() -> None:
    assert clean_question("  How\u00a0much\x00 did\u200b TikTok make? ", 500) == \
        "How much did TikTok make?"


def worst_case(questions: list[EvalQuestion], answerer: Answerer) -> tuple[Report, Report]:
    """The report with the answerability model's thresholds moved ``NEAR`` against each
    figure: raised (``high``: fewer answers quoted, for the figures that should be high),
    and lowered (``low``: more quoted, for those that should be low). A floor that holds on
    these holds whichever way a decision within ``NEAR`` of a threshold goes, as it may on
    another CPU (tests/conftest.py, the guard): every outcome moves the same way as its
    thresholds, and the ranking does not depend on them."""
    def moved(by: float) -> Answerer:
        model = answerer.model
        return replace(answerer, model=replace(
            model, answered_at=model.answered_at + by, tentative_at=model.tentative_at + by,
            topic_at=model.topic_at + by))

    return (evaluate(questions, answerer_system(moved(NEAR))),
            evaluate(questions, answerer_system(moved(-NEAR))))


# Regression floors at the worst case of the figures measured when the model was fitted
# (docs/answering.md, "Answer quality"; the measured ones are in each docstring): a change
# that makes answers worse fails here, a CPU that rounds differently does not.
FLOORS = "aggregate floors, checked on the worst case within the guard's margin (worst_case)"


@pytest.mark.skipif(not DEV_SET.is_file(), reason="needs ../shared/eval/dev.jsonl")
@pytest.mark.any_outcome(FLOORS)
def test_dev_set_quality_floor(answerer: Answerer) -> None:
    """Measured: right on top 0.87 (0.87 to 0.93 in the worst cases), none unanswerable
    answered, no off-topic question quoted."""
    high, low = worst_case(load_questions(DEV_SET), answerer)
    assert high.right_on_top >= 0.86, high.failures
    assert low.unanswerable_confident == 0.0, low.failures  # none answered
    assert low.offtopic_quoted <= 1, low.failures
    assert high.median_excerpt_chars <= 350 and low.median_excerpt_chars <= 350
    assert not high.boilerplate_returned and not low.boilerplate_returned


@pytest.mark.any_outcome(FLOORS)
def test_bank_validation_quality_floor(answerer: Answerer) -> None:
    """The bank's validation part, never fitted on. Measured: right on top 0.68 (0.63 in
    the worst case), right and answered 0.19 (0.12), unanswerable answered 0.03 (0.10), no
    off-topic question quoted."""
    high, low = worst_case(split(load_questions(BANK), "val"), answerer)
    assert high.right_on_top >= 0.62, high.failures
    assert high.right_confident >= 0.11, high.failures
    assert low.unanswerable_confident <= 0.10, low.failures
    assert low.offtopic_quoted <= 1, low.failures


@pytest.mark.any_outcome(FLOORS)
def test_held_out_set_quality_floor(answerer: Answerer) -> None:
    """The questions never fitted on: paraphrases and near-topic questions the article
    does not answer, the hardest kind. Measured: right on top 0.875 (0.81 in the worst
    case), no unanswerable question answered."""
    high, low = worst_case(load_questions(HOLDOUT_SET), answerer)
    assert high.right_on_top >= 0.80, high.failures
    assert low.unanswerable_confident <= 0.05, low.failures


@pytest.mark.any_outcome(FLOORS)
def test_check_set_quality_floor(answerer: Answerer) -> None:
    """The same floor on the questions written apart from the dev set. Measured: right on
    top 0.885 (0.85 in the worst case), none unanswerable answered, no off-topic question
    quoted."""
    high, low = worst_case(load_questions(EXTRA_SET), answerer)
    assert high.right_on_top >= 0.84, high.failures
    assert low.unanswerable_confident <= 0.05, low.failures
    assert low.offtopic_quoted == 0, low.failures
