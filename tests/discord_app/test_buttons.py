"""The buttons under an answer: more excerpts, votes, the follow-up thread. Every click ends
in a message to the user, whatever fails (defect 1); paging never skips an excerpt
(defect 5)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.discord_app.harness import Harness, custom_ids, harness_over, is_private, text_of
from tests.standin import (
    BOT_PERMISSIONS,
    CHANNEL_ID,
    CREATE_PUBLIC_THREADS,
    FORUM_POST_ID,
    DiscordStandIn,
)


def button(message: dict[str, Any], action: str) -> str:
    return next(i for i in custom_ids(message) if i.startswith(f"ab:{action}:"))


def numbers(message: dict[str, Any]) -> list[int]:
    return [int(f["name"].split(".")[0]) for f in message["embeds"][0]["fields"]]


async def test_more_excerpts_continue_the_numbering(harness: Harness) -> None:
    _, answer = await harness.ask("How is TikTok doing?")  # unsure: one passage, then more
    shown = len(answer["embeds"][0]["fields"])
    page = await harness.reply(await harness.standin.click(answer, button(answer, "more")))
    assert page["embeds"][0]["fields"][0]["name"].startswith(f"{shown + 1}. ¶")
    first_page = {f["value"] for f in answer["embeds"][0]["fields"]}
    assert not first_page & {f["value"] for f in page["embeds"][0]["fields"]}


async def test_more_excerpts_continue_after_the_last_one_shown(
    standin: DiscordStandIn, tmp_path: Path, embedder: Any,
) -> None:
    """Defect 5: when the 6,000-character total leaves excerpts out of a page, the next
    page starts with the first one left out."""
    seeds = tmp_path / "harbour"
    seeds.mkdir()
    goods = ["grain", "timber", "cork", "wine", "salt", "olive oil", "wool", "iron", "fish"]
    paragraphs = [f"In year {i} the harbour of Lisbon handled {good}, " + ", ".join(
        [f"and the harbour of Lisbon handled {good} for the region"] * 14) + "."
        for i, good in enumerate(goods)]
    (seeds / "harbour.txt").write_text("Harbour\n\n" + "\n\n".join(paragraphs) + "\n")
    async with harness_over(standin, seeds, tmp_path, embedder, top_k=10) as h:
        _, answer = await h.ask("What did the harbour of Lisbon handle?")
        page = await h.reply(await standin.click(answer, button(answer, "more")))
    first = numbers(answer)
    assert first == list(range(1, len(first) + 1)) and len(first) < 9  # some left out
    assert numbers(page)[0] == len(first) + 1
    seen = [f["name"] for m in (answer, page) for f in m["embeds"][0]["fields"]]
    assert len(set(seen)) == len(seen)


@pytest.mark.any_outcome("votes need buttons, under any answer that quotes",
                         among=("answered", "tentative"))
async def test_votes_are_hashed_replaced_and_survive_a_restart(harness: Harness) -> None:
    _, answer = await harness.ask("Who leaked the Facebook Q&A recordings?")
    up, down = button(answer, "up"), button(answer, "down")
    alice, bob, carol = "731918273645546470", "731918273645546471", "731918273645546472"
    for custom_id, user_id in ((up, alice), (down, alice), (up, bob)):
        reply = await harness.reply(await harness.standin.click(answer, custom_id,
                                                                user_id=user_id))
        assert is_private(reply) and "Thanks" in reply["content"]
    await harness.restart()  # persistent buttons: a new process still understands them
    reply = await harness.reply(await harness.standin.click(answer, down, user_id=carol))
    assert "Thanks" in reply["content"]
    assert harness.store is not None
    votes = harness.store.votes()
    assert sorted(v.vote for v in votes) == [-1, -1, 1]  # alice changed her mind
    assert all(v.question == "Who leaked the Facebook Q&A recordings?" for v in votes)
    assert all(v.passage_ids for v in votes)
    stored = b"".join(p.read_bytes() for p in harness.settings.data_dir.glob("bot.sqlite3*"))
    assert not any(uid.encode() in stored for uid in (alice, bob, carol))  # keyed hashes only
    result = CliRunner().invoke(main, ["report"], env={
        "BOT_DATA_DIR": str(harness.settings.data_dir)})
    assert result.exit_code == 0 and "Who leaked the Facebook Q&A recordings?" in result.stdout


@pytest.mark.any_outcome("the follow-up quotes the China passage, sure or not",
                         among=("answered", "tentative"))
async def test_follow_up_in_a_thread_uses_the_earlier_question(harness: Harness) -> None:
    _, answer = await harness.ask("How much revenue did TikTok make?")
    opened = await harness.reply(await harness.standin.click(answer, button(answer, "thread")))
    assert "Thread opened" in opened["content"] and is_private(opened)
    thread_id = answer["id"]  # a thread started from a message has the message's id
    intro = await harness.posted(thread_id)
    assert "mention" in intro[0]["content"]
    await harness.standin.say("and how much of it came from China?", mention_bot=True,
                              channel_id=thread_id)
    replies = await harness.posted(thread_id, 2)
    assert "most of it came from China" in text_of(replies[-1])
    assert not any(i.startswith("ab:thread:") for i in custom_ids(replies[-1]))


async def test_thread_button_clicked_again_points_to_the_thread(harness: Harness) -> None:
    """Defect 1: Discord allows one thread per message; the second click must not leave
    the user on "thinking…"."""
    _, answer = await harness.ask("How much revenue did TikTok make?")
    await harness.reply(await harness.standin.click(answer, button(answer, "thread")))
    again = await harness.reply(await harness.standin.click(answer, button(answer, "thread"),
                                                            user_id="701"))
    assert is_private(again) and f"<#{answer['id']}>" in again["content"]


async def test_thread_someone_else_opened_is_pointed_to_and_becomes_a_follow_up_thread(
    harness: Harness,
) -> None:
    """A thread a member opened on the answer by hand: the button points to it, and from
    then on questions there are read with the answer, as in a thread the bot opened."""
    _, answer = await harness.ask("How much revenue did TikTok make?")
    await harness.standin.user_opens_thread(answer)
    reply = await harness.reply(await harness.standin.click(answer, button(answer, "thread")))
    assert is_private(reply) and f"<#{answer['id']}>" in reply["content"]
    await harness.standin.say("and how much of it came from China?", mention_bot=True,
                              channel_id=answer["id"])
    [followed] = await harness.posted(answer["id"])
    assert "most of it came from China" in text_of(followed)
    _, by_command = await harness.ask("and how much of it came from China?",
                                      channel_id=answer["id"])  # /ask in the thread: the same
    assert "most of it came from China" in text_of(by_command)


async def test_a_server_at_discords_thread_limit_gets_a_plain_answer(harness: Harness) -> None:
    _, answer = await harness.ask("How much revenue did TikTok make?")
    harness.standin.max_active_threads = 0
    harness.standin.expected_codes.add(160006)
    reply = await harness.reply(await harness.standin.click(answer, button(answer, "thread")))
    assert is_private(reply) and "as many active threads as Discord allows" in reply["content"]
    assert answer["id"] not in harness.standin.channels


async def test_two_people_clicking_the_thread_button_at_once(harness: Harness) -> None:
    """Both clicks see the answer without a thread; Discord lets only one through (160004
    for the other, unless the bot already knows): both get the thread."""
    _, answer = await harness.ask("How much revenue did TikTok make?")
    harness.standin.expected_codes.add(160004)
    clicks = await asyncio.gather(*[harness.standin.click(answer, button(answer, "thread"),
                                                          user_id=u) for u in ("701", "702")])
    replies = [await harness.reply(c) for c in clicks]
    assert all(is_private(r) and f"<#{answer['id']}>" in r["content"] for r in replies)
    assert sum("Thread opened" in r["content"] for r in replies) == 1
    assert len([c for c in harness.standin.channels if c == answer["id"]]) == 1


@pytest.mark.any_outcome("checks the thread button, offered under any answer")
async def test_no_thread_without_the_permission(harness: Harness) -> None:
    """Defect 1: without Create Public Threads the button is not offered, and a button
    from before the permission was removed gets a short answer."""
    _, before = await harness.ask("What is Lasso?")
    await harness.standin.set_bot_permissions(BOT_PERMISSIONS & ~CREATE_PUBLIC_THREADS)
    _, after = await harness.ask("Who built TikTok?")
    assert not any(i.startswith("ab:thread:") for i in custom_ids(after))
    reply = await harness.reply(await harness.standin.click(before, button(before, "thread")))
    assert is_private(reply) and "Create Public Threads" in reply["content"]


async def test_no_thread_button_in_dms_or_forum_posts(harness: Harness) -> None:
    """Defect 1: threads can only be started in text and announcement channels."""
    _, in_dm = await harness.ask("What is Lasso?", dm=True)
    _, in_post = await harness.ask("What is Lasso?", channel_id=FORUM_POST_ID)
    for answer in (in_dm, in_post):
        assert answer["embeds"] and not any(i.startswith("ab:thread:")
                                            for i in custom_ids(answer))


async def test_stale_thread_buttons_where_threads_cannot_be_opened_answer_at_once(
    harness: Harness,
) -> None:
    """Defect 1: answers posted by an older version (which offered the button everywhere)
    get a short private answer, in a DM and in a forum post alike."""
    _, answer = await harness.ask("What is Lasso?")
    thread_button = button(answer, "thread")
    components = [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "Follow up in thread", "custom_id": thread_button}]}]
    dm = harness.standin.dm_channel_id("700")
    for channel_id in (dm, FORUM_POST_ID):
        old = harness.standin.post_as_bot(channel_id, {"content": "an old answer",
                                                       "components": components})
        reply = await harness.reply(await harness.standin.click(old, thread_button))
        assert is_private(reply) and "can't be opened" in reply["content"]


async def test_more_excerpts_on_a_forgotten_answer_says_so_privately(
    harness: Harness,
) -> None:
    """Defect 1: an answer the store no longer knows (a wiped database) must not leave a
    public loading message behind."""
    gone = "ab:more:0123456789abcdef:3"
    old = harness.standin.post_as_bot(CHANNEL_ID, {"content": "an old answer", "components": [
        {"type": 1, "components": [{"type": 2, "style": 2, "label": "More excerpts",
                                    "custom_id": gone}]}]})
    click = await harness.standin.click(old, gone)
    reply = await harness.reply(click)
    assert is_private(reply) and "no longer known" in reply["content"]
    assert all(is_private(m) for m in harness.standin.shown(click))


async def test_votes_on_a_forgotten_answer_say_so(harness: Harness) -> None:
    vote = "ab:up:0123456789abcdef"
    old = harness.standin.post_as_bot(CHANNEL_ID, {"content": "an old answer", "components": [
        {"type": 1, "components": [{"type": 2, "style": 2, "emoji": {"name": "👍"},
                                    "custom_id": vote}]}]})
    reply = await harness.reply(await harness.standin.click(old, vote))
    assert is_private(reply) and re.search("no longer known", reply["content"])


async def test_a_click_while_the_answering_cog_is_unloaded_is_told_to_retry(
    harness: Harness,
) -> None:
    _, answer = await harness.ask("How is TikTok doing?")
    await harness.bot.remove_cog("QA")
    reply = await harness.reply(await harness.standin.click(answer, button(answer, "more")))
    assert "restarting" in text_of(reply) and is_private(reply)
