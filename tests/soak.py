"""`make soak`: the real bot, through the loopback stand-in, under load: a burst of 500
/ask interactions within a second, then 20 a second for a minute. Reports time to
acknowledgement and to answer (p50/p95/p99), whether every interaction was acknowledged
within 3 s and answered exactly once, and memory after warm-up against after the run.
Loopback only, bounded in count and time. Writes bench/results/soak.json.

``--processes``: two bot processes over one PostgreSQL, with faults (tests/soak_faults.py);
writes bench/results/soak-processes.json. ``--seconds``, ``--burst`` and ``--rate`` shrink
either run for a quick try."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import discord.gateway
import discord.http
import numpy as np
import yarl

from bot.config import PROJECT_ROOT, Settings
from bot.discord_app.client import make_bot
from bot.evaluate import load_questions
from bot.service import QAService, open_answerer
from bot.store import Store
from tests.standin import APP_ID, DiscordStandIn

BURST = 500
RATE = 20
SECONDS = 60
ACK_LIMIT = 3.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def soak(seconds: int, out: Path, burst: int = BURST, rate: int = RATE
               ) -> dict[str, Any]:
    standin = DiscordStandIn()
    await standin.start()
    discord.http.Route.BASE = standin.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(standin.gateway_url)
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    base = Settings()
    shutil.copytree(base.index_dir, tmp / "index", dirs_exist_ok=True)
    settings = base.model_copy(update={"index_dir": tmp / "index", "data_dir": tmp / "data",
                                       "discord_cooldown": 0.0})
    answerer, _ = open_answerer(settings)
    store = Store.open(settings.data_dir)
    bot = make_bot(QAService(settings, answerer, store), settings)
    bot._connection.guild_ready_timeout = 0.05
    runner = asyncio.create_task(bot.start(standin.token))
    await asyncio.wait_for(bot.wait_until_ready(), 30)
    dev = PROJECT_ROOT.parent / "shared/eval/dev.jsonl"
    questions = [q.q for q in load_questions(dev)] if dev.is_file() else ["What is Lasso?"]
    sent: dict[str, float] = {}
    counter = 0

    async def ask() -> None:
        nonlocal counter
        question = questions[counter % len(questions)]
        counter += 1
        at = time.monotonic()
        payload = await standin.slash("ask", {"question": question},
                                      user_id=str(10_000 + counter))
        sent[payload["token"]] = at

    def answered() -> int:
        return sum(1 for i in standin.interactions.values()
                   if i.callback is not None and not i.loading)

    try:
        started = time.monotonic()
        for _ in range(burst):
            await ask()
        burst_dispatch = time.monotonic() - started
        await standin.wait_for(lambda: answered() >= burst, timeout=180)
        warm_rss = rss_mb()
        started = time.monotonic()
        for i in range(rate * seconds):
            await ask()
            await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))
        await standin.wait_for(lambda: answered() >= len(sent), timeout=180)
        await asyncio.sleep(1.0)  # room for any duplicate reply to show up
        end_rss = rss_mb()
    finally:
        await bot.close()
        await asyncio.wait_for(runner, 30)
        store.close()
        await standin.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    acks, answers, dup_acks, dup_answers = [], [], 0, 0
    for token, at in sent.items():
        callbacks = standin.find("POST", f"/{token}/callback")
        replies = standin.find("PATCH", f"/webhooks/{APP_ID}/{token}/messages/@original")
        dup_acks += len(callbacks) > 1
        dup_answers += len(replies) > 1
        acks.append(callbacks[0].at - at if callbacks else float("inf"))
        answers.append(replies[0].at - at if replies else float("inf"))
    ack_ms, answer_ms = np.array(acks) * 1000, np.array(answers) * 1000
    result = {
        "interactions": len(sent), "burst": burst, "burst_dispatch_s": burst_dispatch,
        "rate_per_s": rate, "seconds": seconds,
        "acknowledged_within_3s": int((np.array(acks) <= ACK_LIMIT).sum()),
        "answered": int(np.isfinite(answers).sum()),
        "acknowledged_twice": dup_acks, "answered_twice": dup_answers,
        **{f"ack_p{p}_ms": float(np.percentile(ack_ms, p)) for p in (50, 95, 99)},
        **{f"answer_p{p}_ms": float(np.percentile(answer_ms, p)) for p in (50, 95, 99)},
        "rss_after_warmup_mb": warm_rss, "rss_after_soak_mb": end_rss,
        "rss_growth": end_rss / warm_rss - 1,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, not {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--processes", action="store_true",
                        help="two bot processes over one PostgreSQL, with faults")
    parser.add_argument("--seconds", type=positive, default=SECONDS,
                        help=f"the steady phase (default {SECONDS})")
    parser.add_argument("--burst", type=positive, default=BURST,
                        help=f"interactions sent at once first (default {BURST})")
    parser.add_argument("--rate", type=positive, default=RATE,
                        help=f"interactions a second in the steady phase (default {RATE})")
    parser.add_argument("--out", type=Path, help="where the JSON goes (default: "
                        "bench/results/soak.json, or soak-processes.json)")
    args = parser.parse_args(argv)
    results = PROJECT_ROOT / "bench/results"
    if args.processes:
        from tests.soak_faults import Plan, passes, soak_processes

        out = args.out or results / "soak-processes.json"
        faulty = asyncio.run(soak_processes(Plan(args.seconds, args.burst, args.rate), out))
        print(out.read_text())
        failures = list(passes(faulty))
        print("\n".join(failures) or "PASS")
        return 1 if failures else 0
    result = asyncio.run(soak(args.seconds, args.out or results / "soak.json", args.burst,
                              args.rate))
    for key, value in result.items():
        print(f"{key:28s} {value:.3f}" if isinstance(value, float) else f"{key:28s} {value}")
    ok = (result["acknowledged_within_3s"] == result["interactions"] == result["answered"]
          and not result["answered_twice"] and not result["acknowledged_twice"]
          and result["rss_growth"] <= 0.10)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
