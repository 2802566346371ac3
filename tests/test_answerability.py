"""The answerability model's parts, each on its own: WordNet's synonyms, the vocabulary's
matches, every feature, the model's decision, and how fitting picks its thresholds."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answerability.features import (
    ANSWER_FEATURES,
    READING_FEATURES,
    SENTENCE_FEATURES,
    TOPIC_FEATURES,
    Candidate,
    analyse,
    sentence_rows,
    times_in,
)
from bot.answerability.fit import (
    COSTS,
    Costs,
    Judgement,
    figures,
    reliability,
    thresholds,
    total_cost,
)
from bot.answerability.model import AnswerModel, Linear, Outcome, load_model
from bot.answerability.vocabulary import ALIAS, EXACT, SPELLING, build_vocabulary
from bot.answerability.wordnet import synonyms
from bot.evaluate import EvalQuestion
from bot.lexicon import Lexicon
from bot.text import terms

SENTENCES = [
    "Facebook built a copycat app called Lasso.",
    "TikTok is growing quickly in India.",
    "It is starting to do well in the US, especially with young folks.",
    "In the first half of this year it booked $7 billion in revenue.",
    "Here is what Zuckerberg said about it:",
]
ARTICLE = " ".join(SENTENCES)


@pytest.fixture(scope="module")
def vocabulary():  # type: ignore[no-untyped-def]
    return build_vocabulary([ARTICLE])


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.of(terms(s) for s in SENTENCES)


def features(question: str, sentence: str, vocabulary, lexicon: Lexicon,  # type: ignore[no-untyped-def]
             block: str | None = None, similarity: float = 0.5) -> dict[str, float]:
    asked = analyse(question, vocabulary, lexicon)
    rows = sentence_rows(asked, [Candidate([sentence], [similarity], [similarity], 1.0,
                                           block or sentence)])
    return dict(zip(SENTENCE_FEATURES, rows[0][0], strict=True))


# --- WordNet and the vocabulary ----------------------------------------------------------

def test_wordnet_joins_demonyms_countries_and_their_short_names() -> None:
    table = synonyms()
    assert "india" in table["indian"]
    assert {"us", "usa", "united states"} <= table["america"]
    assert "china" in table["prc"]
    # Only a word's most frequent sense: "population" is not "universe" here.
    assert "universe" not in table.get("population", frozenset())


def test_vocabulary_matches_what_people_ask_with(vocabulary) -> None:  # type: ignore[no-untyped-def]
    assert vocabulary.matches("India") == {"india": EXACT}
    assert vocabulary.matches("Indian")["india"] == ALIAS
    assert vocabulary.matches("America")["us"] == ALIAS
    assert vocabulary.matches("United", "States")["us"] == ALIAS
    assert vocabulary.matches("FB")["facebook"] == SPELLING  # letters spell the name
    assert vocabulary.matches("Zuck")["zuckerberg"] == SPELLING  # a short form
    assert vocabulary.matches("Zuckerburg")["zuckerberg"] == SPELLING  # a typo
    assert vocabulary.matches("tik", "tok")["tiktok"] == SPELLING  # written apart
    assert vocabulary.matches("pizza") == {}


def test_vocabulary_survives_a_round_trip(vocabulary) -> None:  # type: ignore[no-untyped-def]
    from bot.answerability.vocabulary import Vocabulary

    again = Vocabulary.from_json(vocabulary.to_json())
    assert again.forms == vocabulary.forms and again.aliases == vocabulary.aliases
    assert again.matches("Indian") == vocabulary.matches("Indian")


# --- each feature on its own ---------------------------------------------------------------

def test_coverage_counts_the_words_and_their_aliases(vocabulary, lexicon) -> None:  # type: ignore[no-untyped-def]
    same = features("Is TikTok growing quickly in India?", SENTENCES[1], vocabulary, lexicon)
    alias = features("Is TikTok growing quickly among Indian users?", SENTENCES[1],
                     vocabulary, lexicon)
    other = features("Is TikTok growing quickly in India?", SENTENCES[0], vocabulary, lexicon)
    assert same["coverage"] == pytest.approx(1.0)
    assert alias["coverage"] < alias["coverage_expanded"]  # "Indian" counts only as an alias
    assert other["coverage_expanded"] < same["coverage_expanded"]


def test_a_sentence_leaning_on_a_pronoun_is_covered_by_its_rare_words(
    vocabulary, lexicon,  # type: ignore[no-untyped-def]
) -> None:
    question = "Where is TikTok growing quickly?"
    pronoun = features(question, "It's growing quickly in India.", vocabulary, lexicon)
    topic_only = features(question, "TikTok is doing well.", vocabulary, lexicon)
    assert pronoun["coverage"] > 0.6 > topic_only["coverage"] > 0


def test_a_sentence_is_weighed_by_its_own_documents_counts(vocabulary) -> None:  # type: ignore[no-untyped-def]
    # Another document full of the question's words makes them common in the corpus, and
    # would move the coverage of this article's sentence; counted within the sentence's
    # own document, it stays what it was with the article alone.
    sentence = "It's growing quickly in India."
    article = [("article", terms(s)) for s in [*SENTENCES, sentence]]
    other = [("other", terms(f"Plant {i} is growing quickly.")) for i in range(50)]
    alone, among = Lexicon.by_document(article), Lexicon.by_document([*article, *other])

    def coverage(lexicon: Lexicon, own: Lexicon | None) -> float:
        asked = analyse("Where is TikTok growing quickly?", vocabulary, lexicon)
        rows = sentence_rows(asked, [Candidate([sentence], [0.5], [0.5], 1.0, sentence, own)])
        return float(rows[0][0][SENTENCE_FEATURES.index("coverage")])

    assert coverage(among, among.of_document("article")) == pytest.approx(
        coverage(alone, alone.of_document("article")))
    assert coverage(among, None) < coverage(alone, None) - 0.1


def test_a_hashtag_covers_the_words_it_joins() -> None:
    corpus = [*SENTENCES, "#BreakUpBigTech."]
    found = features("Which hashtag is about breaking up big tech?", "#BreakUpBigTech.",
                     build_vocabulary(corpus), Lexicon.of(terms(s) for s in corpus))
    assert found["coverage"] > 0.4


@given(st.text(max_size=60), st.text(max_size=60))
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_coverage_stays_between_zero_and_one(vocabulary, lexicon,  # type: ignore[no-untyped-def]
                                             question: str, sentence: str) -> None:
    found = features(question, sentence or "x", vocabulary, lexicon)
    for name in ("coverage", "coverage_expanded", "block_coverage"):
        assert 0.0 <= found[name] <= 1.0 + 1e-9


def test_a_missing_kind_of_answer_is_evidence_against(vocabulary, lexicon) -> None:  # type: ignore[no-untyped-def]
    question = "How much revenue did TikTok book?"
    assert features(question, SENTENCES[3], vocabulary, lexicon)["type_missing"] == 0.0
    assert features(question, SENTENCES[1], vocabulary, lexicon)["type_missing"] == 1.0


def test_a_name_the_paragraph_never_mentions(vocabulary, lexicon) -> None:  # type: ignore[no-untyped-def]
    assert features("How much revenue did Instagram book?", SENTENCES[3], vocabulary,
                    lexicon)["names_missing"] == 1.0
    # An alias of a name it does mention is a mention.
    assert features("Is the app popular in America?", SENTENCES[2], vocabulary,
                    lexicon)["names_missing"] == 0.0


@pytest.mark.parametrize("question, names", [
    ("What is Instagram's revenue?", ["Instagram's"]),
    ("What did Mark Zuckerberg say about TikTok?", ["Mark Zuckerberg", "TikTok"]),
    ("Is it big in the U.S.?", ["U.S."]),  # capitals keep a stopword ("us") a name
    ("Tell me more. Who built it?", []),  # a sentence's first word is not a name
    ("what is instagram's revenue?", []),  # nothing capitalised: no names to look for
])
def test_the_names_a_question_gives(question: str, names: list[str]) -> None:
    from bot.answerability.features import _names

    assert _names(question) == names


def test_a_time_the_paragraph_does_not_give(vocabulary, lexicon) -> None:  # type: ignore[no-untyped-def]
    assert times_in("revenue in the second half of 2018") == {"second half", "2018"}
    assert features("What was the revenue in 2018?", SENTENCES[3], vocabulary,
                    lexicon)["time_conflict"] == 1.0
    assert features("What was the revenue in the first half?", SENTENCES[3], vocabulary,
                    lexicon)["time_conflict"] == 0.0


def test_a_role_the_passage_never_names(vocabulary, lexicon) -> None:  # type: ignore[no-untyped-def]
    assert features("Who is the CEO of TikTok?", SENTENCES[1], vocabulary,
                    lexicon)["role_missing"] == 1.0
    assert features("Where is TikTok growing?", SENTENCES[1], vocabulary,
                    lexicon)["role_missing"] == 0.0


def test_an_introducing_sentence_is_flagged(vocabulary, lexicon) -> None:  # type: ignore[no-untyped-def]
    assert features("What did Zuckerberg say?", SENTENCES[4], vocabulary,
                    lexicon)["introduces"] == 1.0
    assert features("What did Zuckerberg say?", SENTENCES[1], vocabulary,
                    lexicon)["introduces"] == 0.0


def test_gaps_are_measured_against_the_best_candidate(vocabulary, lexicon) -> None:  # type: ignore[no-untyped-def]
    asked = analyse("Where is TikTok growing quickly?", vocabulary, lexicon)
    rows = sentence_rows(asked, [
        Candidate([SENTENCES[1]], [0.7], [0.4], 2.0, SENTENCES[1]),
        Candidate([SENTENCES[0]], [0.5], [0.1], 1.0, SENTENCES[0]),
    ])
    at = SENTENCE_FEATURES.index
    assert rows[0][0, at("similarity_gap")] == 0.0
    assert rows[1][0, at("similarity_gap")] == pytest.approx(-0.2)
    assert rows[1][0, at("centred_gap")] == pytest.approx(-0.3)
    assert rows[0][0, at("lexical")] == 1.0 and rows[1][0, at("lexical")] == 0.5


# --- the model -------------------------------------------------------------------------------

def test_the_shipped_model_matches_the_features_this_code_computes() -> None:
    model = load_model()
    assert model.sentence.features == SENTENCE_FEATURES
    assert model.reading.features == READING_FEATURES
    assert model.answer.features == ANSWER_FEATURES
    assert model.topic.features == TOPIC_FEATURES
    assert 0.0 <= model.tentative_at <= model.answered_at <= 1.0
    assert 1 <= model.read <= 12
    assert AnswerModel.from_json(model.to_json()) == model


def test_the_reader_counts_for_an_answer() -> None:
    """What the shipped model learnt: a sentence the reader says answers is likelier to, and
    a question the reader finds an answer to is likelier on topic and answered."""
    model = load_model()
    weight = dict(zip(model.reading.features, model.reading.weights, strict=True))
    assert weight["reader"] > 0 and weight["prior"] > 0
    assert dict(zip(model.answer.features, model.answer.weights, strict=True))["reader"] > 0


def test_outcomes_follow_the_thresholds() -> None:
    model = replace(AnswerModel.blank(), answered_at=0.7, tentative_at=0.3, topic_at=0.5)
    assert model.outcome(0.8, on_topic=0.9) is Outcome.ANSWERED
    assert model.outcome(0.5, on_topic=0.9) is Outcome.TENTATIVE
    assert model.outcome(0.2, on_topic=0.9) is Outcome.NONE
    assert model.outcome(0.95, on_topic=0.1) is Outcome.NONE  # off-topic: never quoted


def test_a_linear_model_is_a_dot_product() -> None:
    linear = Linear(("a", "b"), (2.0, -1.0), 0.5)
    assert linear.logit(np.array([[1.0, 3.0]]))[0] == pytest.approx(-0.5)


def test_answering_never_imports_scikit_learn(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = ("import sys; from bot.answerability.model import load_model; "
            "from bot.answer import judge; load_model(); "
            "print('sklearn' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def test_a_model_fitted_on_other_features_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.errors import IndexUnavailable

    stale = load_model().to_json().replace('"similarity"', '"cosine"', 1)
    (tmp_path / "model.json").write_text(stale)
    with pytest.raises(IndexUnavailable, match="python -m bot fit"):
        load_model(tmp_path / "model.json")


# --- fitting: thresholds and figures -------------------------------------------------------

def _judged(confidence: float, answerable: bool, right: bool = False,
            kind: str = "", on_topic: float = 1.0) -> Judgement:
    question = EvalQuestion("q", ("x",) if answerable else (), kind or (
        "fact" if answerable else "ontopic"))
    return Judgement(question, confidence, on_topic, right)


def test_thresholds_are_where_the_stated_costs_are_lowest() -> None:
    judged = ([_judged(c / 100, False) for c in range(0, 100, 5)]  # 20 unanswerable
              + [_judged(0.5 + c / 100, True, right=True) for c in range(0, 40)]
              + [_judged(0.3, False, kind="offtopic", on_topic=0.2)])
    answered_at, tentative_at, topic_at = thresholds(judged)
    best = total_cost(judged, answered_at, tentative_at, topic_at)
    for a, t, o in [(0.5, 0.2, 0.1), (0.9, 0.5, 0.5), (0.99, 0.01, 0.01),
                    (answered_at + 0.05, tentative_at, topic_at),
                    (answered_at - 0.05, tentative_at, topic_at)]:
        assert total_cost(judged, a, min(t, a), o) >= best  # no line does better
    result = figures(judged, answered_at, tentative_at, topic_at)
    assert result["offtopic_quoted"] == 0
    assert result["right_on_top"] == 1.0  # right answers are worth quoting, unsure or not
    assert tentative_at <= answered_at


def test_dearer_confident_mistakes_raise_the_confident_line() -> None:
    judged = ([_judged(c / 100, False) for c in range(0, 100, 2)]
              + [_judged(c / 100, True, right=c > 40) for c in range(0, 100, 2)])
    cheap, _, _ = thresholds(judged, Costs(confident_wrong=1.5))
    dear, _, _ = thresholds(judged, Costs(confident_wrong=20.0))
    assert cheap < dear
    assert COSTS.of(True, False, True, "answered") == 0.0
    assert COSTS.of(False, True, False, "tentative") == COSTS.offtopic_quoted


def test_reliability_bins_compare_predicted_and_observed() -> None:
    judged = [_judged(0.9, True, right=True)] * 9 + [_judged(0.9, True, right=False)]
    rows = reliability(judged)
    assert rows == [{"from": 0.8, "to": 1.0, "questions": 10, "predicted": pytest.approx(0.9),
                     "observed": pytest.approx(0.9)}]
