"""A slow database must not cost a click or a command: every interaction is acknowledged
before anything reads the store or the index (Discord allows 3 s, and refuses a later
acknowledgement with 10062 Unknown interaction), and autocomplete, which cannot be
acknowledged first, answers with fewer choices rather than too late."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bot.answer import Answerer
from bot.config import Settings
from bot.store.keys import voter_key
from bot.store.migrations import Session
from bot.store.sqlite import SQLiteStore
from tests.discord_app.harness import Harness, button, is_private, text_of
from tests.standin import CHANNEL_ID, MANAGE_GUILD, DiscordStandIn

T = TypeVar("T")
SLOW = 2.5  # seconds each store call takes
OPERATOR = int(MANAGE_GUILD)


class SlowStore(SQLiteStore):
    """The real SQLite store, each call ``delay`` seconds slower (a database far away or
    under load); fast while the bot starts."""

    delay = 0.0

    def _run(self, work: Callable[[Session], T], *, write: bool) -> T:
        time.sleep(self.delay)
        return super()._run(work, write=write)


def slow_store(data_dir: Path) -> SlowStore:
    return SlowStore(data_dir / "bot.sqlite3", voter_key(data_dir))


async def test_every_interaction_is_acknowledged_before_the_store_is_read(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
) -> None:
    h = Harness(standin, settings, answerer, open_store=slow_store)
    await h.start()
    try:
        assert isinstance(h.store, SlowStore)
        h.store.delay = SLOW
        (_, answered), (_, unanswered) = await asyncio.gather(
            h.ask("How is TikTok doing?", user_id="701"),
            h.ask("What is the weather in Paris?", user_id="702"))
        question = await standin.say("What is Lasso?",
                                     user_id="800")
        offer = await standin.click(unanswered, button(unanswered, "teach"),
                                    permissions=OPERATOR)
        sent = await asyncio.gather(
            standin.click(answered, button(answered, "up")),
            standin.click(answered, button(answered, "more")),
            standin.click(answered, button(answered, "thread")),
            standin.slash("about"),
            standin.slash("help"),
            standin.slash("teach", {"question": "Who uses TikTok?", "passage": "young folks"},
                          permissions=OPERATOR),
            standin.slash("reindex", permissions=OPERATOR),
            standin.context_menu(question),
            standin.autocomplete("how is tik"),
            standin.autocomplete("weather", command="teach", option="question",
                                 permissions=OPERATOR),
            standin.autocomplete("", command="teach", option="passage",
                                 filled={"question": "Who uses TikTok?"},
                                 permissions=OPERATOR))
        offered = await h.reply(offer, timeout=60)
        select = next(c for row in offered["components"] for c in row["components"]
                      if c["type"] == 3)
        choice = await standin.choose(offered, select["custom_id"],
                                      [select["options"][0]["value"]], permissions=OPERATOR)
        shown = [await h.reply(i, timeout=90) for i in (*sent[:8], choice)]
    finally:
        h.store.delay = 0.0  # type: ignore[union-attr]
        await h.stop()
    late = {state.name: round(state.acknowledged - state.created, 2)
            for state in standin.interactions.values()
            if state.acknowledged is None or state.acknowledged - state.created >= SLOW}
    # Each was acknowledged before a single store call could have ended; within Discord's
    # 3 s, then, however many calls the work behind it makes.
    assert not late, f"acknowledged after a store call (seconds after the user acted): {late}"
    thanks, more, thread, about, help_, taught, rebuilt, menu, choice_made = shown
    assert "Thanks" in thanks["content"] and is_private(thanks)
    assert more["embeds"] and "Thread opened" in thread["content"]
    assert "taught answers" in text_of(about) and is_private(about)
    assert "/ask" in text_of(help_) and "Taught" in taught["content"]
    assert "Rebuilt" in rebuilt["content"] and "Lasso" in text_of(menu)
    assert "Taught" in choice_made["content"]
    typed = [standin.state(i).choices or [] for i in sent[8:]]
    assert typed[0][0]["value"] == "how is tik"
    # the unanswered questions come from the store, too slow this time: what was typed
    assert typed[1] == [{"name": "weather", "value": "weather"}]
    assert len(typed[2]) > 1  # the closest passages come from the index, in time


async def test_a_forgotten_answers_teach_button_is_acknowledged_then_refused_privately(
    harness: Harness,
) -> None:
    """Checked after the acknowledgement now: still a private line, nothing public."""
    gone = "ab:teach:0123456789abcdef"
    old = harness.standin.post_as_bot(CHANNEL_ID, {"content": "an old answer", "components": [
        {"type": 1, "components": [{"type": 2, "style": 2, "label": "Teach this",
                                    "custom_id": gone}]}]})
    click = await harness.standin.click(old, gone, permissions=OPERATOR)
    reply = await harness.reply(click)
    assert is_private(reply) and "no longer known" in reply["content"]
    assert all(is_private(m) for m in harness.standin.shown(click))
