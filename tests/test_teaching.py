"""Teaching: taught answers and how questions match them, learning from votes, staleness,
export and import, and the operator's commands, over the real model, index and SQLite."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer import Answerer
from bot.answerability.model import Outcome
from bot.cli import main
from bot.config import Settings
from bot.errors import BotError
from bot.service import QAService
from bot.store import Store
from bot.teaching import OPERATOR, VOTES, Taught, TaughtPassage, question_key
from bot.teaching.teacher import Teacher, export_lines, passage_ref

US_PASSAGE_TEXT = "It’s starting to do well in the US, especially with young folks."


@pytest.fixture()
def fresh(answerer: Answerer) -> Answerer:
    """The session's answerer with a taught set of its own."""
    from bot.teaching import TaughtHolder

    return replace(answerer, taught=TaughtHolder())


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path)
    yield opened  # type: ignore[misc]
    opened.close()


def us_passage(answerer: Answerer) -> str:
    return next(p.id for p in answerer.index.passages if US_PASSAGE_TEXT in p.text)


def test_a_taught_question_and_its_paraphrase_get_the_taught_passage(
    fresh: Answerer, store: Store,
) -> None:
    teacher = Teacher(store, lambda: fresh)
    before = fresh.ask("How's TikTok doing in America?")
    teacher.teach("How is TikTok doing in the US?", [us_passage(fresh)])
    for question in ("How is TikTok doing in the US?", "How's TikTok doing in America?"):
        answer = fresh.ask(question)
        assert answer.taught and answer.status is Outcome.ANSWERED, question
        assert US_PASSAGE_TEXT in answer.excerpts[0].text
        assert "US" in answer.excerpts[0].parts()[1]  # marked as usual
        assert answer.to_dict()["taught"] is True
    assert not before.taught


def test_a_close_question_asking_for_something_else_is_not_given_the_taught_answer(
    fresh: Answerer, store: Store,
) -> None:
    revenue = next(p.id for p in fresh.index.passages if "$7 billion" in p.text)
    Teacher(store, lambda: fresh).teach(
        "How much revenue did TikTok make in the first half of the year?", [revenue])
    assert fresh.ask("How much revenue did TikTok make in the first half of the year?").taught
    # 0.96 similar, but another period: the taught answer would be wrong.
    assert not fresh.ask("How much revenue did TikTok make in the second half of the "
                         "year?").taught


def test_teaching_an_unknown_passage_is_refused(fresh: Answerer, store: Store) -> None:
    with pytest.raises(BotError, match="no passage nope:1"):
        Teacher(store, lambda: fresh).teach("What is Lasso?", ["nope:1"])
    assert store.taught() == []


@pytest.mark.any_outcome("a stale taught answer is not used, whatever the model answers")
def test_a_stale_taught_answer_is_not_used_and_is_listed(fresh: Answerer, store: Store) -> None:
    passage = us_passage(fresh)
    store.teach(Taught("How is TikTok doing in the US?",
                       (TaughtPassage(passage, "0" * 16),), OPERATOR))  # the text changed
    teacher = Teacher(store, lambda: fresh)
    teacher.refresh(force=True)
    assert not fresh.ask("How is TikTok doing in the US?").taught
    assert [(t.question, stale) for t, stale in teacher.taught()] == [
        ("How is TikTok doing in the US?", True)]


def _answer_id(store: Store, fresh: Answerer, question: str) -> str:
    answer = fresh.ask(question)
    assert answer.excerpts
    return store.record_answer(answer.question, answer.status.value,
                               [e.passage_id for e in answer.excerpts], taught=answer.taught)


def test_three_distinct_thumbs_up_teach_one_user_clicking_twenty_times_does_not(
    fresh: Answerer, store: Store,
) -> None:
    teacher = Teacher(store, lambda: fresh, votes_needed=3)
    answer_id = _answer_id(store, fresh, "Who leaked the recordings?")
    for _ in range(20):
        store.record_vote(answer_id, 42, 1)
        assert teacher.learn(answer_id).change == ""
    store.record_vote(answer_id, 43, 1)
    assert teacher.learn(answer_id).change == ""
    store.record_vote(answer_id, 44, 1)
    assert teacher.learn(answer_id).change == "taught"
    assert [(t.question, t.source) for t in store.taught()] == [
        ("Who leaked the recordings?", VOTES)]
    assert fresh.ask("Who leaked the recordings?").taught


def test_an_operators_thumbs_down_blocks_teaching_and_unteaches(
    fresh: Answerer, store: Store,
) -> None:
    teacher = Teacher(store, lambda: fresh, votes_needed=2)
    blocked = _answer_id(store, fresh, "Who leaked the recordings?")
    store.record_vote(blocked, 1, -1, operator=True)
    for user in (2, 3, 4):
        store.record_vote(blocked, user, 1)
    assert teacher.learn(blocked).change == "" and store.taught() == []

    teacher.teach("What is Lasso?", [next(p.id for p in fresh.index.passages
                                         if "Lasso" in p.text)])
    taught_answer = _answer_id(store, fresh, "What is Lasso?")
    assert store.answer(taught_answer).taught  # type: ignore[union-attr]
    store.record_vote(taught_answer, 9, -1)  # not an operator: no effect
    assert teacher.learn(taught_answer).change == ""
    store.record_vote(taught_answer, 10, -1, operator=True)
    assert teacher.learn(taught_answer).change == "untaught"
    assert store.taught() == [] and not fresh.ask("What is Lasso?").taught


def test_an_operators_thumbs_down_on_a_paraphrase_unteaches_what_it_matched(
    fresh: Answerer, store: Store,
) -> None:
    """The answer to a paraphrase came from the taught question it matched: that is the
    taught answer the operator voted down."""
    teacher = Teacher(store, lambda: fresh)
    teacher.teach("How is TikTok doing in the US?", [us_passage(fresh)])
    answer_id = _answer_id(store, fresh, "How's TikTok doing in America?")
    assert store.answer(answer_id).taught  # type: ignore[union-attr]
    store.record_vote(answer_id, 10, -1, operator=True)
    assert teacher.learn(answer_id).change == "untaught"
    assert store.taught() == [] and not fresh.ask("How's TikTok doing in America?").taught


def test_what_operators_pick_from(fresh: Answerer, store: Store) -> None:
    teacher = Teacher(store, lambda: fresh)
    us = us_passage(fresh)
    for question, status in (("What do US teenagers use?", "none"),
                             ("what do US teenagers use", "none"),
                             ("How is TikTok doing in the US?", "tentative"),
                             ("What is Lasso?", "answered")):
        store.record_answer(question, status, [] if status == "none" else [us])
    assert [(s.question, s.status, s.times) for s in teacher.suggestions()] == [
        ("What do US teenagers use?", "none", 2), ("How is TikTok doing in the US?",
                                                   "tentative", 1)]
    assert [s.question for s in teacher.suggestions("tiktok US")] == [
        "How is TikTok doing in the US?"]
    teacher.teach("What do US teenagers use?", [us])
    assert [s.question for s in teacher.suggestions()] == ["How is TikTok doing in the US?"]

    assert us in [c.passage_id for c in teacher.passage_choices("What do US teenagers use?",
                                                                 "")]
    assert [c.passage_id for c in teacher.passage_choices("What do US teenagers use?",
                                                          "young folks")] == [us]
    found = teacher.passage_choices("", "young fol")  # the start of a word, as it is typed
    assert [c.passage_id for c in found] == [us] and "young folks" in found[0].sentence
    assert teacher.passage_choices("", "zebra") == []
    refs = [passage_ref(p.id) for p in fresh.index.passages]
    assert len(set(refs)) == len(refs) and all(len(r) == 12 for r in refs)

    for given in (passage_ref(us), us, "young folks"):
        assert teacher.resolve_passage(given).passage_id == us
    with pytest.raises(BotError, match="no passage"):
        teacher.resolve_passage("zebra crossing")
    with pytest.raises(BotError, match="more than one"):
        teacher.resolve_passage("TikTok")


def test_what_is_taught_survives_a_restart(fresh: Answerer, tmp_path: Path) -> None:
    first = Store.open(tmp_path)
    Teacher(first, lambda: fresh).teach("How is TikTok doing in the US?", [us_passage(fresh)])
    first.close()
    from bot.teaching import TaughtHolder

    restarted = replace(fresh, taught=TaughtHolder())
    again = Store.open(tmp_path)
    try:
        Teacher(again, lambda: restarted).refresh(force=True)
        assert restarted.ask("How is TikTok doing in the US?").taught
    finally:
        again.close()


def test_export_then_import_restores_every_taught_answer(
    fresh: Answerer, store: Store, tmp_path: Path,
) -> None:
    teacher = Teacher(store, lambda: fresh)
    teacher.teach("How is TikTok doing in the US?", [us_passage(fresh)])
    lines = list(export_lines(store))
    assert json.loads(lines[0])["question"] == "How is TikTok doing in the US?"
    other = Store.open(tmp_path / "other")
    try:
        assert Teacher(other, lambda: fresh).import_lines(lines).stored == 1
        assert [t.key for t in other.taught()] == [question_key("How is TikTok doing in "
                                                                "the US?")]
    finally:
        other.close()


@pytest.mark.parametrize("bad", [
    "{not json", "[1, 2]", '"a string"',
    json.dumps({"question": None, "passages": [{"id": "a:1", "sha256": "x"}]}),
    json.dumps({"question": "q?", "passages": [{"id": None, "sha256": None}]}),
    json.dumps({"question": "q?", "passages": []}),
    json.dumps({"question": "q?", "passages": [{"id": "a:1", "sha256": "x"}],
                "source": "someone"}),
])
def test_a_bad_import_line_stores_nothing(fresh: Answerer, store: Store, bad: str) -> None:
    good = json.dumps({"question": "q?", "passages": [{"id": "a:1", "sha256": "x"}]})
    with pytest.raises(BotError, match="line 2 is not a taught answer"):
        Teacher(store, lambda: fresh).import_lines([good, bad])
    assert store.taught() == []


def test_an_import_never_swaps_a_working_answer_for_a_stale_one(
    fresh: Answerer, store: Store,
) -> None:
    """An export from another version of the articles names passages this index lacks: the
    answer taught here, which still works, stays; a question new here is imported."""
    teacher = Teacher(store, lambda: fresh)
    teacher.teach("How is TikTok doing in the US?", [us_passage(fresh)])
    working = store.taught()
    gone = [{"id": "tiktok-revenue:000000000000", "sha256": "0" * 64}]
    imported = teacher.import_lines([
        json.dumps({"question": "How is TikTok doing in the US?", "passages": gone}),
        json.dumps({"question": "Who copied TikTok?", "passages": gone}),
    ])
    assert imported.kept == ("How is TikTok doing in the US?",) and imported.stored == 1
    assert [t for t in store.taught() if t.key == working[0].key] == working
    assert {t.question: stale for t, stale in teacher.taught()} == {
        "How is TikTok doing in the US?": False, "Who copied TikTok?": True}


# --- the operator's commands -----------------------------------------------------------------

def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), input=stdin)


@pytest.mark.any_outcome("once forgotten, only whether the answer is taught matters",
                         among=("tentative", "none"))
def test_report_teach_taught_forget_export_import_from_the_command_line(
    cli_env: Path, answerer: Answerer,
) -> None:
    assert run("ask", "What is the best pizza topping?").exit_code == 0  # not remembered
    data = cli_env / "data"
    store = Store.open(data)
    store.record_answer("Who uses the app in the States?", "tentative", [us_passage(answerer)])
    store.record_answer("What is the weather in Paris?", "none", [])
    store.close()

    report = run("report")
    assert report.exit_code == 0, report.output
    assert "Answered tentatively" in report.stdout and "Who uses the app" in report.stdout
    assert us_passage(answerer) in report.stdout  # the closest passages, with their ids

    assert run("teach", "Who uses the app in the States?", "nope:1").exit_code == 2
    undecodable = run("teach", "\udcff Who uses the app?", us_passage(answerer))  # argv bytes
    assert undecodable.exit_code == 2 and "not valid UTF-8" in undecodable.stderr
    taught = run("teach", "Who uses the app in the States?", us_passage(answerer))
    assert taught.exit_code == 0, taught.output
    listed = run("taught")
    assert "Who uses the app in the States?" in listed.stdout and "operator" in listed.stdout
    asked = json.loads(run("ask", "--json", "Who uses the app in the States?").stdout)
    assert asked["taught"] is True and asked["status"] == "answered"
    assert "A taught answer" in run("ask", "Who uses the app in the States?").stdout

    backup = run("export").stdout
    assert run("forget", "who uses the app in the states").exit_code == 0
    assert run("forget", "who uses the app in the states").exit_code == 2
    assert json.loads(run("ask", "--json", "Who uses the app in the States?").stdout)[
        "taught"] is False
    imported = run("import", "-", stdin=backup)
    assert imported.exit_code == 0 and "imported 1" in imported.stdout
    assert run("import", "-", stdin="nonsense\n").exit_code == 2


def test_a_burst_of_questions_looks_for_taught_answers_once(
    fresh: Answerer, store: Store, monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = QAService(Settings(), fresh, store)
    looked: list[int] = []
    revision = store.taught_revision
    monkeypatch.setattr(store, "taught_revision", lambda: looked.append(1) or revision())
    service.teacher._checked = 0.0  # the last look is long past: this burst must look

    async def burst() -> list[object]:
        try:
            return list(await asyncio.gather(*(
                service.ask_async("How much revenue did TikTok make?") for _ in range(16))))
        finally:
            await service.batcher.close()

    assert len(asyncio.run(burst())) == 16
    assert len(looked) == 1
    assert not service.teacher.claim()  # and the next look waits its turn
