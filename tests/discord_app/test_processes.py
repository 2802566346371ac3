"""Two bot processes, one PostgreSQL database, through the stand-in: the deployment
docs/discord.md describes, run as an operator runs it (`python -m bot discord` in OS processes of
their own, settings from the environment only), with four guilds on four shards. The two
start together, their shards sharing Discord's rate limit keys, and take turns to identify
through the database. One process stops; a third takes its slice of shards and carries on
with what the first one answered, while the second keeps serving its own."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.store import open_store
from tests.discord_app.harness import custom_ids, is_private, text_of
from tests.discord_app.processes import BotProcess, environment, report, wait_until
from tests.pgserver import PgServer
from tests.standin import CHANNEL_ID, GUILD_ID, DiscordStandIn
from tests.standin.gateway import IDENTIFY_WINDOW

SHARDS = 4
SECRET = "one-secret-for-every-process"


def button(message: dict[str, Any], action: str) -> str:
    return next(i for i in custom_ids(message) if i.startswith(f"ab:{action}:"))


async def test_two_processes_share_one_database_and_hand_over_shards(
    standin: DiscordStandIn, settings: Settings, postgres: PgServer, tmp_path: Path,
) -> None:
    # Four guilds, one on each shard; the stand-in's own guild is on shard 3.
    assert (int(GUILD_ID) >> 22) % SHARDS == 3
    channels = {3: CHANNEL_ID}
    for shard in (0, 1, 2):
        guild_id, channels[shard] = await standin.add_guild(shard, SHARDS)
        assert (int(guild_id) >> 22) % SHARDS == shard
    # Shards 0 and 2 share rate limit key 0, shards 1 and 3 key 1 (shard_id % 2): each
    # process identifies its two shards at once, and the two processes take turns.
    standin.max_concurrency = 2
    database = postgres.database()
    common = dict(BOT_DATABASE_URL=database, BOT_FEEDBACK_SECRET=SECRET,
                  BOT_SEEDS_DIR=str(settings.seeds_dir), BOT_INDEX_DIR=str(settings.index_dir),
                  DISCORD_SHARD_COUNT=str(SHARDS), DISCORD_COOLDOWN_SECONDS="0",
                  DISCORD_CONNECT_TIMEOUT="120", BOT_LOG_LEVEL="INFO")

    def bot(name: str, shard_ids: str) -> BotProcess:
        env = environment(standin, DISCORD_SHARD_IDS=shard_ids,
                          BOT_DATA_DIR=str(tmp_path / f"data-{name}"), **common)
        return BotProcess(name, env, tmp_path / f"{name}.log")

    async def ask(command: str, shard: int, **options: Any) -> dict[str, Any]:
        """What the user is shown; the interaction reached one session only, its guild's
        shard's."""
        interaction = await standin.slash(command, options, channel_id=channels[shard])
        assert standin.state(interaction).delivered_to == [(shard, SHARDS)]
        return await reply(interaction)

    async def reply(interaction: dict[str, Any]) -> dict[str, Any]:
        shown: list[dict[str, Any]] = await standin.wait_for(
            lambda: standin.settled(interaction) and standin.shown(interaction), 60)
        return shown[-1]

    first, second = bot("first", "0-1"), bot("second", "2-3")
    third = bot("third", "0-1")  # the first one's slice, as on another host
    every_shard = [(shard, SHARDS) for shard in range(SHARDS)]
    try:
        # --- two processes start together, each with half the shards ----------------------
        first.start(), second.start()
        await wait_until(lambda: standin.gateway.live_shards() == every_shard,
                         [first, second])
        sessions = sorted(standin.gateway.sessions.values(), key=lambda s: s.shard)
        for pair in (sessions[:2], sessions[2:]):  # a process's shards identified together
            assert abs(pair[0].identified_at - pair[1].identified_at) < IDENTIFY_WINDOW
        for shard in range(SHARDS):  # each guild is answered by the process of its shard
            runs = "shards 0-1 of 4" if shard < 2 else "shards 2-3 of 4"
            assert f"This process runs {runs}. This server is on shard {shard}." in text_of(
                await ask("about", shard))

        # --- both answer; what neither could answer is recorded ----------------------------
        answer = await ask("ask", 0, question="How is TikTok doing?")  # the first process
        assert "not sure" in text_of(answer) and len(answer["embeds"][0]["fields"]) == 1
        assert "doesn't cover" in text_of(await ask("ask", 1, question="Will it rain in Oslo?"))
        assert "doesn't cover" in text_of(await ask("ask", 3, question="How do I bake bread?"))

        # --- the first process stops; a third takes its shards; the second carries on ----
        first.terminate()
        await wait_until(lambda: standin.gateway.live_shards() == every_shard[2:], [second])
        third.start()  # at once: it waits for its keys' turns, if any are still to come
        assert await first.exit_code() == 0, first.output()
        await wait_until(lambda: standin.gateway.live_shards() == every_shard, [second, third])
        assert "This server is on shard 0." in text_of(await ask("about", 0))

        # --- the first process's answer: paged, voted on, followed up in a thread ---------
        page = await reply(await standin.click(answer, button(answer, "more")))
        assert page["embeds"], text_of(page)  # not "that answer is no longer known"
        assert page["embeds"][0]["fields"][0]["name"].startswith("2. ¶")  # numbering goes on
        voted = await reply(await standin.click(answer, button(answer, "down"), user_id="731"))
        assert is_private(voted) and "Thanks, noted 👎" in voted["content"]
        opened = await reply(await standin.click(answer, button(answer, "thread")))
        assert "Thread opened" in opened["content"]
        thread_id = answer["id"]  # a thread started from a message has the message's id
        await standin.wait_for(lambda: len(standin.bot_messages(thread_id)) == 1)  # its intro
        await standin.say("how many installs does it have?", mention_bot=True,
                          channel_id=thread_id)
        followed = await standin.wait_for(lambda: len(standin.bot_messages(thread_id)) == 2
                                          and standin.bot_messages(thread_id)[-1], 60)
        # Read with the question the first process answered; alone it gets "doesn't cover".
        assert "1.4 billion installs" in text_of(followed)
        second.terminate(), third.terminate()
        codes = await asyncio.gather(second.exit_code(), third.exit_code())
        assert codes == [0, 0], second.output() + third.output()
    finally:
        for process in (first, second, third):
            process.kill()

    # --- no IDENTIFY was refused; each rate limit key's were 5 s apart or more ------------
    assert not standin.gateway.refused
    for key in (0, 1):
        times = sorted(i.at for i in standin.gateway.identified if i.shard[0] % 2 == key)
        assert len(times) == 3  # the first process's, the second's, the third's
        assert all(b - a >= IDENTIFY_WINDOW for a, b in itertools.pairwise(times)), times

    # --- every interaction reached one session and was answered exactly once -----------
    for state in standin.interactions.values():
        assert len(state.delivered_to) == 1, state.name
        assert len(standin.find("POST", f"/interactions/{state.id}/")) == 1, state.name

    # --- `bot report` sees what each process stored ---------------------------------------
    done = report(environment(None, BOT_DATA_DIR=str(tmp_path / "data-report"), **common))
    assert done.returncode == 0, done.stderr
    unanswered, downvoted = done.stdout.split("Answers voted 👎")
    assert "Will it rain in Oslo?" in unanswered  # the first process's
    assert "How do I bake bread?" in unanswered  # the second's
    assert "How is TikTok doing?" in downvoted  # the first's answer, voted on via the third
    store = open_store(Settings(database_url=database, feedback_secret=SECRET,
                                data_dir=tmp_path / "data-report"))
    try:  # the thread the third opened continues the first one's answer
        assert store.history(thread_id) == ["How is TikTok doing?",
                                            "how many installs does it have?"]
    finally:
        store.close()
