"""Teaching the bot from Discord, end to end: the real client, model, index and SQLite
against the strict stand-in. "Teach this" and its select, /teach and its autocompletes,
votes that teach and an operator's 👎 that unteaches, and restarts that keep all of it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.discord_app.views import teach_view
from bot.teaching import OPERATOR, VOTES, Taught, TaughtPassage
from bot.teaching.teacher import PassageChoice, passage_ref
from tests.discord_app.harness import Harness, button, custom_ids, is_private, text_of
from tests.standin import (
    BOT_PERMISSIONS,
    CHANNEL_ID,
    EMBED_LINKS,
    MANAGE_GUILD,
    CommandUnavailable,
    rules,
)
from tests.standin.errors import DiscordError, FormErrors

# Each with a wide margin (tests/conftest.py, the guard): the model's confidence, or its
# on-topic probability, more than 0.05 from every threshold that decides; a paraphrase's
# cosine to its taught question well above the taught threshold.
UNANSWERED = "What do US teenagers use?"  # the model says the article doesn't say
UNANSWERED_PARAPHRASE = "What do American teenagers use?"
TENTATIVE = "Is TikTok popular with teenagers in the US?"  # the wrong passage, unsure
PARAPHRASE = "Is TikTok popular with American teens?"
US_TEXT = "It’s starting to do well in the US"
OPERATOR_PERMISSIONS = int(MANAGE_GUILD)
ALICE, BOB, CAROL, DAVE = ("731918273645546470", "731918273645546471", "731918273645546472",
                           "731918273645546473")


def the_select(message: dict[str, Any]) -> dict[str, Any]:
    selects = [c for row in message.get("components", []) for c in row["components"]
               if c["type"] == 3]
    assert len(selects) == 1, message.get("components")
    found: dict[str, Any] = selects[0]
    return found


def us_option(offered: dict[str, Any]) -> str:
    """The value of the option for the US passage: the message numbers the passages it
    quotes, and the options' labels start with the same numbers."""
    quoted = offered["content"].split("\n**")[1:]
    number = next(q.split(".**")[0] for q in quoted if US_TEXT in q)
    return str(next(o["value"] for o in the_select(offered)["options"]
                    if o["label"].startswith(f"{number}. ")))


def taught(message: dict[str, Any]) -> bool:
    return "taught answer" in text_of(message)


async def offer(harness: Harness, answer: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """An operator clicks "Teach this"; the private message with the select."""
    kwargs.setdefault("permissions", OPERATOR_PERMISSIONS)
    return await harness.reply(await harness.standin.click(answer, button(answer, "teach"),
                                                           **kwargs))


async def choose(harness: Harness, offered: dict[str, Any], value: str,
                 **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("permissions", OPERATOR_PERMISSIONS)
    choice = await harness.standin.choose(offered, the_select(offered)["custom_id"], [value],
                                          **kwargs)
    return await harness.reply(choice)


async def test_an_unanswered_question_taught_with_teach_this_is_answered_next_time(
    harness: Harness,
) -> None:
    _, answer = await harness.ask(UNANSWERED)
    assert "doesn't cover" in text_of(answer) and not taught(answer)
    actions = [i.split(":")[1] for i in custom_ids(answer)]
    assert "teach" in actions and "up" not in actions  # nothing quoted to vote on
    offered = await offer(harness, answer)
    assert is_private(offered) and UNANSWERED in offered["content"]
    options = the_select(offered)["options"]
    assert 1 < len(options) <= 5
    done = await choose(harness, offered, us_option(offered))
    assert done["id"] == offered["id"] and not done["components"]  # the select is replaced
    assert "Taught" in done["content"] and "¶4" in done["content"]
    for question in (UNANSWERED, UNANSWERED_PARAPHRASE):
        _, again = await harness.ask(question)
        assert US_TEXT in text_of(again) and taught(again), question
        assert not any(i.startswith("ab:teach:") for i in custom_ids(again))
    assert harness.store is not None
    assert [(t.question, t.source) for t in harness.store.taught()] == [(UNANSWERED, OPERATOR)]


async def test_a_tentative_answer_taught_across_restarts(harness: Harness) -> None:
    """The select outlives a restart (a DynamicItem), and so does what it taught."""
    _, answer = await harness.ask(TENTATIVE)
    assert "not sure" in text_of(answer) and US_TEXT not in text_of(answer)
    offered = await offer(harness, answer)
    await harness.restart()
    done = await choose(harness, offered, us_option(offered))
    assert "Taught" in done["content"]
    await harness.restart()
    _, again = await harness.ask(PARAPHRASE)
    assert US_TEXT in text_of(again) and taught(again)
    footer = again["embeds"][0]["footer"]["text"]
    assert footer.startswith("🎓 A taught answer") and "From “" in footer


async def test_teaching_is_for_operators_only(harness: Harness) -> None:
    _, answer = await harness.ask(TENTATIVE)
    click = await harness.standin.click(answer, button(answer, "teach"), user_id=BOB)
    refused = await harness.reply(click)
    assert is_private(refused) and "Manage Server" in refused["content"]
    # refused before acknowledging: the response itself is the private line
    assert (await harness.callback(click))["type"] == 4
    offered = await offer(harness, answer, user_id=ALICE)
    # the select is Alice's alone (ephemeral); if she loses Manage Server before choosing,
    # the bot checks again
    with pytest.raises(AssertionError, match="cannot see"):
        await harness.standin.choose(offered, the_select(offered)["custom_id"],
                                     [us_option(offered)], user_id=BOB)
    refused = await choose(harness, offered, us_option(offered), user_id=ALICE,
                           permissions=0)
    assert "Manage Server" in refused["content"]
    assert harness.store is not None and harness.store.taught() == []
    _, in_dm = await harness.ask(UNANSWERED, dm=True)  # nobody can teach from a DM
    assert not any(i.startswith("ab:teach:") for i in custom_ids(in_dm))
    await harness.standin.say(UNANSWERED, mention_bot=True)  # a mention answer can be taught
    posted = await harness.posted(answer["channel_id"])
    assert any(i.startswith("ab:teach:") for i in custom_ids(posted[-1]))


async def test_three_distinct_thumbs_up_teach_and_an_operators_thumbs_down_unteaches(
    harness: Harness,
) -> None:
    assert harness.settings.teach_votes == 3
    _, answer = await harness.ask(TENTATIVE)
    up = button(answer, "up")
    clicks = await asyncio.gather(*[harness.standin.click(answer, up, user_id=ALICE)
                                    for _ in range(20)])  # one mischievous user, fast
    replies = [await harness.reply(c) for c in clicks]
    assert all(r["content"] == "Thanks, noted 👍" for r in replies)
    await harness.reply(await harness.standin.click(answer, up, user_id=BOB))
    assert harness.store is not None and harness.store.taught() == []
    assert not taught((await harness.ask(TENTATIVE))[1])
    await harness.restart()  # the votes so far count after a restart
    third = await harness.reply(await harness.standin.click(answer, up, user_id=CAROL))
    assert "now taught" in third["content"]
    assert [(t.question, t.source) for t in harness.store.taught()] == [(TENTATIVE, VOTES)]
    _, paraphrased = await harness.ask(PARAPHRASE)
    assert taught(paraphrased)  # the passage the voters agreed on, for a paraphrase too
    await harness.restart()
    assert taught((await harness.ask(TENTATIVE))[1])
    # An operator's 👎 on the paraphrase's taught answer (a button from before the restart)
    down = await harness.reply(await harness.standin.click(
        paraphrased, button(paraphrased, "down"), user_id=DAVE,
        permissions=OPERATOR_PERMISSIONS))
    assert "untaught" in down["content"]
    assert harness.store.taught() == []
    await harness.restart()
    assert not taught((await harness.ask(TENTATIVE))[1])


async def test_an_ordinary_thumbs_down_does_not_unteach(harness: Harness) -> None:
    assert harness.service is not None
    us = next(p.id for p in harness.service.answerer.index.passages if US_TEXT in p.text)
    await asyncio.to_thread(harness.service.teacher.teach, TENTATIVE, [us])
    _, answer = await harness.ask(TENTATIVE)
    assert taught(answer)
    reply = await harness.reply(await harness.standin.click(answer, button(answer, "down"),
                                                            user_id=BOB))
    assert "the operator will look at it" in reply["content"]
    assert taught((await harness.ask(TENTATIVE))[1])


async def test_teach_command_with_its_autocompletes(harness: Harness) -> None:
    standin = harness.standin
    commands = {c["name"]: c for c in standin.commands[None]}
    teach = commands["teach"]
    assert teach["default_member_permissions"] == str(OPERATOR_PERMISSIONS)
    assert teach["contexts"] == [0]  # servers only
    assert all(o["autocomplete"] for o in teach["options"])
    with pytest.raises(CommandUnavailable):
        await standin.slash("teach", {"question": "q", "passage": "p"}, dm=True)
    for question in (UNANSWERED, UNANSWERED, TENTATIVE):
        await harness.ask(question)

    async def choices(typed: str, option: str = "question", permissions: int =
                      OPERATOR_PERMISSIONS, **filled: str) -> list[dict[str, Any]]:
        interaction = await standin.autocomplete(typed, command="teach", option=option,
                                                 filled=filled, permissions=permissions)
        await standin.wait_for(lambda: standin.state(interaction).callback)
        found: list[dict[str, Any]] = standin.state(interaction).choices or []
        return found

    suggested = await choices("use")
    assert [c["value"] for c in suggested] == ["use", UNANSWERED]
    assert suggested[1]["name"] == f"{UNANSWERED} (unanswered, 2×)"
    assert [c["value"] for c in await choices("tiktok popular")] == ["tiktok popular",
                                                                    TENTATIVE]
    assert await choices("use", permissions=0) == []  # nobody else sees others' questions

    closest = await choices("", option="passage", question=UNANSWERED)
    assert 1 < len(closest) <= 25
    assert any(US_TEXT.replace("’", "'") in c["name"].replace("’", "'") for c in closest)
    searched = await choices("young folks", option="passage")
    assert len(searched) == 1 and searched[0]["name"].startswith("¶4 · ")
    assert await choices("", option="passage", permissions=0) == []

    refused = await harness.reply(await standin.slash(
        "teach", {"question": UNANSWERED, "passage": searched[0]["value"]}))
    assert is_private(refused) and "Manage Server" in refused["content"]
    standin_nothing = await harness.reply(await standin.slash(
        "teach", {"question": UNANSWERED, "passage": "zebra crossing"},
        permissions=OPERATOR_PERMISSIONS))
    assert is_private(standin_nothing) and "no passage" in standin_nothing["content"]
    done = await harness.reply(await standin.slash(
        "teach", {"question": UNANSWERED, "passage": searched[0]["value"]},
        permissions=OPERATOR_PERMISSIONS))
    assert is_private(done) and "Taught" in done["content"]
    _, answer = await harness.ask(UNANSWERED_PARAPHRASE)
    assert US_TEXT in text_of(answer) and taught(answer)
    # a taught question is no longer suggested
    assert [c["value"] for c in await choices("use")] == ["use"]


async def test_about_counts_taught_and_stale_answers_and_plain_text_says_taught(
    harness: Harness,
) -> None:
    assert harness.service is not None and harness.store is not None
    about = await harness.reply(await harness.standin.slash("about"))
    assert "0 taught answers" in text_of(about)
    us = next(p.id for p in harness.service.answerer.index.passages if US_TEXT in p.text)
    await asyncio.to_thread(harness.service.teacher.teach, TENTATIVE, [us])
    harness.store.teach(Taught("Who uses the app?", (TaughtPassage(us, "0" * 16),), OPERATOR))
    about = await harness.reply(await harness.standin.slash("about"))
    assert "2 taught answers (1 stale" in text_of(about)
    await harness.standin.set_bot_permissions(BOT_PERMISSIONS & ~EMBED_LINKS)
    await harness.standin.say(PARAPHRASE, mention_bot=True)
    posted = await harness.posted(CHANNEL_ID)
    assert not posted[-1]["embeds"] and "🎓 A taught answer" in posted[-1]["content"]


def test_select_values_stay_within_100_characters_for_long_document_ids() -> None:
    """A passage id holds its document's id, which may be long; the select's values and
    the autocomplete's are a 12-character reference instead."""
    long_id = "a-" + "very-long-document-name-" * 12 + ":4543ca2d2996"
    choices = [PassageChoice(passage_ref(long_id), long_id, 4, "T" * 300, "S" * 300, "x")]
    components = teach_view("0123456789abcdef", choices).to_components()
    problems = FormErrors()
    rules.check_components(problems, ("components",), components, 0)
    assert not problems, problems.errors
    assert components[0]["components"][0]["options"][0]["value"] == "4543ca2d2996"
    # what the stand-in would have refused: the passage id itself as the value
    components[0]["components"][0]["options"][0]["value"] = long_id
    rules.check_components(problems, ("components",), components, 0)
    with pytest.raises(DiscordError):
        problems.raise_if_any()
