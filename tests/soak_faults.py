"""`python -m tests.soak --processes`: the deployment docs/discord.md describes, under the
single-process soak's load, with faults. Two `python -m bot discord` processes (shard 0 and
shard 1 of 2, a guild on each), one real PostgreSQL server (tests/pgserver.py) reached
through a proxy that can be made slow (tests/slowproxy.py), and the stand-in, all on
127.0.0.1. A burst of ``burst`` /ask, then ``rate`` interactions a second for ``seconds``:
mostly /ask, with votes on earlier answers and /teach among them. During the run:

- the database is slowed (every server response held ``db_delay`` s) for ``slow_seconds``;
- PostgreSQL is restarted: a fast shutdown (sessions ended), ``db_down`` s stopped, as a
  real server's restart takes seconds (shutdown checkpoint, start, recovery), then a start;
- the second process is killed with SIGKILL and started again at once.

Then the buttons of answers given before the restart and the kill are clicked, and
everything is checked against what users were told: interactions acknowledged within 3 s
(outside the kill window, and inside it per shard), answered twice, votes and taught answers
confirmed to the user but missing from the database, buttons that stopped working, each
process's RSS (from its /metrics), and how long each process took to be ready again (its
/health, polled every quarter second). Writes ``out`` (JSON). Stops by itself."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from bot.config import PROJECT_ROOT, Settings
from bot.evaluate import load_questions
from bot.index import load_index
from bot.store.postgres import PostgresStore
from bot.teaching import question_key
from bot.teaching.teacher import passage_ref
from tests.discord_app.processes import BotProcess, environment
from tests.pgserver import PgServer, embedded_postgres
from tests.slowproxy import SlowProxy
from tests.standin import CHANNEL_ID, MANAGE_GUILD, DiscordStandIn

ACK_LIMIT = 3.0
SHARDS = 2
SECRET = "soak-secret-shared-by-both-processes"
POLL = 0.25  # seconds between two health checks of a process
AFTER_RESTART = 20  # answers per shard whose buttons are clicked after the faults


@dataclass(frozen=True)
class Plan:
    seconds: int = 60
    burst: int = 500
    rate: int = 20
    db_delay: float = 0.1
    slow_seconds: float = 20.0
    db_down: float = 5.0

    @property
    def slow_at(self) -> float:  # seconds into the steady phase
        return self.seconds * 0.08

    @property
    def slow_for(self) -> float:
        return min(self.slow_seconds, self.seconds / 3)

    @property
    def restart_at(self) -> float:
        return self.seconds * 0.5

    @property
    def kill_at(self) -> float:
        return self.seconds * 0.75


@dataclass
class Sent:
    """One interaction the soak sent: what, to which shard, and what it needs checked."""

    payload: dict[str, Any]
    kind: str  # ask, vote, teach, after-restart
    shard: int
    at: float  # time.monotonic(), the stand-in's clock too
    user: str = ""
    answer_id: str = ""
    vote: int = 0
    question: str = ""


@dataclass
class Timeline:
    """When each fault began and ended (time.monotonic())."""

    marks: dict[str, float] = field(default_factory=dict)
    health: list[tuple[float, str, bool, str]] = field(default_factory=list)  # changes only

    def mark(self, name: str) -> float:
        self.marks[name] = time.monotonic()
        return self.marks[name]

    def recovery(self, process: str, since: float, until: float) -> dict[str, Any]:
        """Between ``since`` and ``until`` (the next fault): whether ``process`` went not
        ready, for how long, and how long after ``since`` it was ready again."""
        changes = [(t, ready, why) for t, name, ready, why in self.health
                   if name == process and since <= t < until]
        down = next(((t, why) for t, ready, why in changes if not ready), None)
        if down is None:
            return {"went_not_ready": False, "polled_every_s": POLL}
        up = next((t for t, ready, _ in changes if ready and t > down[0]), None)
        return {"went_not_ready": True, "first_failing": down[1],
                "not_ready_s": None if up is None else round(up - down[0], 2),
                "ready_again_after_s": None if up is None else round(up - since, 2)}


class Fleet:
    """The bot processes, their metrics ports, and their health as last polled."""

    def __init__(self, standin: DiscordStandIn, env: dict[str, str], folder: Path,
                 timeline: Timeline) -> None:
        self.timeline = timeline
        self.ports = [free_port() for _ in range(SHARDS)]
        self.processes = [
            BotProcess(f"shard-{shard}", environment(
                standin, DISCORD_SHARD_IDS=str(shard), BOT_METRICS_PORT=str(port),
                BOT_DATA_DIR=str(folder / f"data-{shard}"), **env), folder / f"shard-{shard}.log")
            for shard, port in zip(range(SHARDS), self.ports, strict=True)]
        self.ready = [False] * SHARDS
        self._why = [""] * SHARDS

    async def poll(self, session: aiohttp.ClientSession) -> None:
        while True:
            await asyncio.gather(*(self._check(session, i) for i in range(SHARDS)))
            await asyncio.sleep(POLL)

    async def _check(self, session: aiohttp.ClientSession, i: int) -> None:
        try:
            async with session.get(f"http://127.0.0.1:{self.ports[i]}/health",
                                   timeout=aiohttp.ClientTimeout(total=3)) as response:
                body = await response.json()
            ready = bool(body["ready"])
            why = "; ".join(f"{k}: {c['detail']}" for k, c in body["checks"].items()
                            if not c["ok"])
        except (aiohttp.ClientError, TimeoutError, ValueError):
            ready, why = False, "no answer (process down or starting)"
        if ready != self.ready[i] or (not ready and why != self._why[i]):
            self.timeline.health.append((time.monotonic(), self.processes[i].name, ready,
                                         why))
        self.ready[i], self._why[i] = ready, why

    async def until_ready(self, i: int, timeout: float = 300) -> float:
        deadline = time.monotonic() + timeout
        while not self.ready[i]:
            if not self.processes[i].running or time.monotonic() > deadline:
                raise RuntimeError(f"{self.processes[i].name} is not ready\n"
                                   + self.processes[i].output())
            await asyncio.sleep(0.05)
        return time.monotonic()

    async def rss_mb(self, session: aiohttp.ClientSession) -> list[float]:
        sizes = []
        for port in self.ports:
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                text = await response.text()
            sizes.append(next(s.value for f in text_string_to_metric_families(text)
                              for s in f.samples
                              if s.name == "process_resident_memory_bytes") / 2**20)
        return sizes


async def soak_processes(plan: Plan, out: Path) -> dict[str, Any]:
    load_before, nice_before = os.getloadavg(), os.nice(0)
    tmp = Path(tempfile.mkdtemp(prefix="soak-processes-"))
    base = Settings()
    shutil.copytree(base.index_dir, tmp / "index", symlinks=True, dirs_exist_ok=True)
    index = load_index(tmp / "index")
    refs = [passage_ref(p.id) for p in index.passages]
    del index
    dev = PROJECT_ROOT.parent / "shared/eval/dev.jsonl"
    questions = [q.q for q in load_questions(dev)] if dev.is_file() else ["What is Lasso?"]
    standin = DiscordStandIn()
    await standin.start()
    timeline = Timeline()
    try:
        with embedded_postgres() as pg:
            proxy = SlowProxy(pg.socket_path).start()
            try:
                schema = pg.schema()
                url = (f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres"
                       f"?options=-csearch_path%3D{schema}")
                result = await _run(plan, standin, pg, proxy, url, tmp, refs, questions,
                                    timeline)
                result["lost"] = _lost(result.pop("_sent"), standin,
                                       f"{pg.url()}&options=-csearch_path%3D{schema}")
            finally:
                proxy.stop()
    finally:
        await standin.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    result["machine"] = {"cpus": os.cpu_count(), "load_average_before": load_before,
                         "load_average_after": os.getloadavg(),
                         "niceness_at_start": nice_before, "niceness_at_end": os.nice(0)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_json(result) + "\n")
    return result


async def _run(plan: Plan, standin: DiscordStandIn, pg: PgServer, proxy: SlowProxy, url: str,
               tmp: Path, refs: list[str], questions: list[str],
               timeline: Timeline) -> dict[str, Any]:
    _, other_channel = await standin.add_guild(0, SHARDS)
    channels = {0: other_channel, 1: CHANNEL_ID}  # the stand-in's own guild is on shard 1
    env = dict(BOT_DATABASE_URL=url, BOT_FEEDBACK_SECRET=SECRET,
               BOT_SEEDS_DIR=str(Settings().seeds_dir), BOT_INDEX_DIR=str(tmp / "index"),
               DISCORD_SHARD_COUNT=str(SHARDS), DISCORD_COOLDOWN_SECONDS="0",
               DISCORD_CONNECT_TIMEOUT="300", BOT_LOG_LEVEL="WARNING")
    fleet = Fleet(standin, env, tmp, timeline)
    sent: list[Sent] = []
    users = itertools.count(10_000)
    rng = random.Random(19)

    async def send(kind: str, shard: int, **fields: Any) -> Sent:
        user = str(next(users))
        at = time.monotonic()
        if kind == "ask":
            question = questions[len(sent) % len(questions)]
            payload = await standin.slash("ask", {"question": question}, user_id=user,
                                          channel_id=channels[shard])
        elif kind == "teach":
            question = fields["question"]
            payload = await standin.slash("teach", {"question": question,
                                                    "passage": rng.choice(refs)},
                                          user_id=user, channel_id=channels[shard],
                                          permissions=int(MANAGE_GUILD))
        else:  # a vote, on the message shown for an earlier /ask
            question = ""
            payload = await standin.click(fields["message"], fields["custom_id"],
                                          user_id=user)
        item = Sent(payload, kind, shard, at, user, fields.get("answer_id", ""),
                    fields.get("vote", 0), question)
        sent.append(item)
        return item

    def votable(item: Sent) -> tuple[dict[str, Any], str] | None:
        """The answer message of a settled /ask and its answer id, if it can be voted on."""
        if item.kind != "ask" or not standin.settled(item.payload):
            return None
        shown = standin.shown(item.payload)
        if not shown:
            return None
        ids = [c["custom_id"] for row in (shown[-1].get("components") or [])
               for c in row["components"]]
        up = next((i for i in ids if i.startswith("ab:up:")), None)
        return (shown[-1], up.split(":")[2]) if up else None

    async def vote(item: Sent, value: int, kind: str = "vote") -> Sent | None:
        found = votable(item)
        if found is None:
            return None
        message, answer_id = found
        action = "up" if value > 0 else "down"
        voted = await send("vote", item.shard, message=message, answer_id=answer_id,
                           custom_id=f"ab:{action}:{answer_id}", vote=value)
        voted.kind = kind
        return voted

    def answered(kind: str = "ask") -> int:
        return sum(1 for s in sent if s.kind == kind and standin.settled(s.payload))

    async with aiohttp.ClientSession() as session:
        poller = asyncio.create_task(fleet.poll(session))
        try:
            started = timeline.mark("start")
            for process in fleet.processes:
                process.start()
            ready_at = [await fleet.until_ready(i) for i in range(SHARDS)]
            # --- the burst ----------------------------------------------------------------
            burst_started = time.monotonic()
            for i in range(plan.burst):
                await send("ask", i % SHARDS)
            burst_dispatch = time.monotonic() - burst_started
            await standin.wait_for(lambda: answered() >= plan.burst, timeout=600)
            warm_rss = await fleet.rss_mb(session)
            # --- steady load, with the faults -------------------------------------------
            t0 = time.monotonic()
            faults = asyncio.create_task(_faults(plan, t0, pg, proxy, fleet, timeline))
            teaches = itertools.count(1)
            for i in range(plan.rate * plan.seconds):
                shard = i % SHARDS
                slot = i % 20
                done = None
                if slot in (16, 17, 18):  # 15 %: a vote on a recent answer
                    done = await vote(rng.choice(sent[-300:]), rng.choice((1, 1, -1)))
                elif slot == 19:  # 5 %: an operator teaches a question
                    done = await send("teach", shard, question=f"What does soak question "
                                                               f"{next(teaches)} ask?")
                if done is None:
                    await send("ask", shard)
                await asyncio.sleep(max(0.0, t0 + (i + 1) / plan.rate - time.monotonic()))
            await faults
            # --- buttons of answers given before the restart and the kill ----------------
            await fleet.until_ready(1)
            before = [s for s in sent if s.kind == "ask"
                      and s.at < timeline.marks["pg_restart"] and votable(s)]
            clicked = 0
            for shard in range(SHARDS):
                for item in [s for s in before if s.shard == shard][-AFTER_RESTART:]:
                    clicked += await vote(item, 1, "after-restart") is not None
            await standin.wait_for(lambda: all(standin.settled(s.payload) for s in sent
                                               if s.kind == "after-restart"), timeout=120)
            await _settle(standin, sent, timeline.marks["ready_again"], timeout=600)
            await asyncio.sleep(1.0)  # room for any duplicate reply to show up
            end_rss = await fleet.rss_mb(session)
            timeline.mark("end")
            for process in fleet.processes:
                process.terminate()
            codes = [await process.exit_code() for process in fleet.processes]
        finally:
            poller.cancel()
            for process in fleet.processes:
                process.kill()

    result = _figures(plan, standin, sent, timeline, burst_dispatch)
    marks = timeline.marks
    result.update({
        "exit_codes": codes,
        "ready_at_start_s": [round(t - started, 2) for t in ready_at],
        "recovery": {
            "slow_database": {p.name: timeline.recovery(p.name, marks["slow_start"],
                                                        marks["pg_restart"])
                              for p in fleet.processes},
            "postgres_restart": {
                "server_down_s": round(marks["pg_started"] - marks["pg_restart"], 2),
                **{p.name: timeline.recovery(p.name, marks["pg_restart"], marks["kill"])
                   for p in fleet.processes}},
            "sigkill": {
                "restarted_process_ready_after_kill_s": round(marks["ready_again"]
                                                              - marks["kill"], 2),
                "restarted_process_ready_after_start_s": round(marks["ready_again"]
                                                               - marks["respawn"], 2),
                "other_process": timeline.recovery("shard-0", marks["kill"], marks["end"])},
        },
        "fault_times_s": {k: round(v - t0, 2) for k, v in marks.items() if k != "start"},
        "buttons_after_restart": {"clicked": clicked, "stopped_working": sum(
            1 for s in sent if s.kind == "after-restart" and not _confirmed(standin, s))},
        "rss_mb": {"after_warmup": warm_rss, "at_end": end_rss,
                   "growth_shard_0": end_rss[0] / warm_rss[0] - 1,
                   "shard_1_restarted_at_end_vs_first_warmup": end_rss[1] / warm_rss[1] - 1},
        "health_changes": [(round(t - t0, 2), name, ready, why)
                           for t, name, ready, why in timeline.health],
        "_sent": sent,
    })
    return result


async def _faults(plan: Plan, t0: float, pg: PgServer, proxy: SlowProxy, fleet: Fleet,
                  timeline: Timeline) -> None:
    async def at(seconds: float) -> None:
        await asyncio.sleep(max(0.0, t0 + seconds - time.monotonic()))

    await at(plan.slow_at)
    timeline.mark("slow_start")
    proxy.delay = plan.db_delay
    await at(plan.slow_at + plan.slow_for)
    proxy.delay = 0.0
    timeline.mark("slow_end")
    await at(plan.restart_at)
    timeline.mark("pg_restart")
    await asyncio.to_thread(pg.stop, "fast")
    timeline.mark("pg_stopped")
    await asyncio.sleep(plan.db_down)
    await asyncio.to_thread(pg.start)
    timeline.mark("pg_started")
    await at(plan.kill_at)
    timeline.mark("kill")
    await asyncio.to_thread(fleet.processes[1].kill)  # SIGKILL
    fleet.ready[1] = False
    fleet.processes[1].start()
    timeline.mark("respawn")
    await fleet.until_ready(1)
    timeline.mark("ready_again")


async def _settle(standin: DiscordStandIn, sent: list[Sent], back: float,
                  timeout: float) -> None:
    """Until every interaction is answered, except those the killed process had or would
    have had (shard 1's until it was ready again: never answered)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(standin.settled(s.payload) for s in sent if s.shard == 0 or s.at > back):
            return
        await asyncio.sleep(0.1)


def _confirmed(standin: DiscordStandIn, item: Sent) -> bool:
    """Whether the user was told that the vote or the teaching was recorded."""
    shown = standin.shown(item.payload) if standin.settled(item.payload) else []
    text = (shown[-1].get("content") or "") if shown else ""
    if item.kind == "teach":
        return text.startswith("🎓 Taught")
    return text.startswith(("Thanks", "Noted"))


def _figures(plan: Plan, standin: DiscordStandIn, sent: list[Sent], timeline: Timeline,
             burst_dispatch: float) -> dict[str, Any]:
    marks = timeline.marks
    window = (marks["kill"], marks["ready_again"])
    outside: list[Sent] = []
    inside: dict[int, list[Sent]] = {0: [], 1: []}
    killed_in_flight = [s for s in sent if s.shard == 1 and s.at < window[0]
                        and not standin.settled(s.payload)]
    lost_with_process = {id(s) for s in killed_in_flight}
    twice = 0
    answers = []
    for s in sent:
        state = standin.state(s.payload)
        ack = (state.acknowledged - state.created if state.acknowledged is not None
               else float("inf"))
        if id(s) not in lost_with_process:
            (inside[s.shard] if window[0] <= s.at <= window[1] else outside).append(s)
        callbacks = standin.find("POST", f"/{state.token}/callback")
        edits = standin.find("PATCH", f"/{state.token}/messages/@original")
        twice += len(callbacks) > 1 or len(edits) > 1
        if s.kind == "ask" and edits and np.isfinite(ack):
            answers.append(edits[0].at - s.at)

    def acks(items: list[Sent]) -> dict[str, Any]:
        """What the users of ``items`` saw: acknowledged in time or late, answered, never
        acknowledged ("This interaction failed"), or acknowledged and left loading."""
        states = [standin.state(s.payload) for s in items]
        times = [st.acknowledged - st.created if st.acknowledged is not None
                 else float("inf") for st in states]
        finite = np.array([t for t in times if np.isfinite(t)]) * 1000
        return {"interactions": len(times),
                "acknowledged_within_3s": sum(t <= ACK_LIMIT for t in times),
                "acknowledged_late": sum(ACK_LIMIT < t < float("inf") for t in times),
                "never_acknowledged": sum(t == float("inf") for t in times),
                "answered": sum(standin.settled(s.payload) for s in items),
                "left_loading": sum(st.callback is not None and st.loading for st in states),
                **({f"ack_p{p}_ms": float(np.percentile(finite, p)) for p in (50, 95, 99)}
                   if len(finite) else {})}

    kinds = {k: sum(s.kind == k for s in sent) for k in ("ask", "vote", "teach",
                                                          "after-restart")}
    answer_ms = np.array(answers) * 1000
    return {
        "plan": {"burst": plan.burst, "rate_per_s": plan.rate, "seconds": plan.seconds,
                 "db_delay_s": plan.db_delay, "slow_seconds": plan.slow_for,
                 "db_down_s": plan.db_down,
                 "processes": SHARDS},
        "burst_dispatch_s": burst_dispatch, "sent": kinds,
        "outside_kill_window": acks(outside),
        "inside_kill_window": {"killed_shard_1": acks(inside[1]),
                               "other_shard_0": acks(inside[0])},
        "killed_in_flight": acks(killed_in_flight),
        "answered_twice": twice,
        **{f"answer_p{p}_ms": float(np.percentile(answer_ms, p)) for p in (50, 95, 99)},
    }


def _lost(sent: list[Sent], standin: DiscordStandIn, direct_url: str) -> dict[str, Any]:
    """Votes and taught answers the users were told were recorded, missing from the
    database (read directly, not through the proxy)."""
    store = PostgresStore(direct_url, SECRET.encode())
    try:
        votes = {(v.answer_id, v.voter): v.vote for v in store.votes()}
        taught = {question_key(t.question) for t in store.taught()}
        confirmed_votes = [s for s in sent if s.kind in ("vote", "after-restart")
                           and _confirmed(standin, s)]
        confirmed_teaching = [s for s in sent if s.kind == "teach" and _confirmed(standin, s)]
        return {
            "votes_confirmed": len(confirmed_votes),
            "votes_lost": sum(votes.get((s.answer_id, store.voter(s.user))) != s.vote
                              for s in confirmed_votes),
            "taught_confirmed": len(confirmed_teaching),
            "taught_lost": sum(question_key(s.question) not in taught
                               for s in confirmed_teaching),
            "votes_refused_with_a_message": sum(
                1 for s in sent if s.kind == "vote" and standin.settled(s.payload)
                and not _confirmed(standin, s)),
        }
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _json(value: Any) -> str:
    def clean(v: Any) -> Any:
        if isinstance(v, float):
            return None if not np.isfinite(v) else round(v, 4)
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, np.integer):
            return int(v)
        return v

    return json.dumps(clean(value), indent=2, ensure_ascii=False)


def passes(result: dict[str, Any]) -> Iterator[str]:
    """What failed, one line each (nothing: the soak passed)."""
    outside = result["outside_kill_window"]
    if outside["acknowledged_within_3s"] != outside["interactions"]:
        yield (f"{outside['interactions'] - outside['acknowledged_within_3s']} interactions "
               "outside the kill window were not acknowledged within 3 s")
    if outside["answered"] != outside["interactions"]:
        yield (f"{outside['interactions'] - outside['answered']} interactions outside the "
               "kill window were not answered")
    other = result["inside_kill_window"]["other_shard_0"]
    if not other["acknowledged_within_3s"] == other["answered"] == other["interactions"]:
        yield "the process that was not killed missed interactions during the kill"
    if result["answered_twice"]:
        yield f"{result['answered_twice']} interactions answered twice"
    lost = result["lost"]
    if lost["votes_lost"] or lost["taught_lost"]:
        yield f"{lost['votes_lost']} votes and {lost['taught_lost']} taught answers lost"
    if result["buttons_after_restart"]["stopped_working"]:
        yield (f"{result['buttons_after_restart']['stopped_working']} answers' buttons "
               "stopped working after the restart")
    if result["rss_mb"]["growth_shard_0"] > 0.10:
        yield f"RSS grew {result['rss_mb']['growth_shard_0']:.0%}"
    if result["exit_codes"] != [0, 0]:
        yield f"exit codes {result['exit_codes']} on SIGTERM"

