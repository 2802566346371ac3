"""Speed as ratios to baselines measured in the same run: warm latency against a bare torch
encode; cold starts (one-shot ask, REPL, Discord bot) against a bare
``import sentence_transformers`` in a fresh process, memory against the bare torch model
loaded; bursts against one by one; index builds against sentence-transformers' batch
encoding with the same export."""

from __future__ import annotations

import asyncio
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.answer import Answerer
from bot.config import Settings
from bot.encoding import Embedder, model_location
from bot.encoding.export import OV_CONFIG
from bot.index import Index, build_index
from bot.ingest import load_documents
from bot.service import QAService
from bot.store import Store


def latency(answerer: Answerer, bare: Any, texts: Sequence[str],
             rounds: int = 6) -> tuple[list[float], list[float]]:
    """Alternating blocks (one pass over the questions each), so drift in machine load hits
    both sides alike; each block starts with untimed calls, so neither side pays for the
    other's thread pools winding down (torch's OpenMP threads spin after each call)."""
    ours: list[float] = []
    base: list[float] = []
    for _ in range(rounds):
        for run, sink in ((lambda t: answerer.ask(t), ours),
                          (lambda t: bare.encode([t], normalize_embeddings=True), base)):
            for text in texts[:3]:
                run(text)
            for text in texts:
                started = time.perf_counter()
                run(text)
                sink.append((time.perf_counter() - started) * 1000)
    return ours, base


# Runs a command and reports its whole-process wall time and peak RSS. A small launcher
# process spawns it, so the peak is the command's own (wait4's ru_maxrss counts the memory
# of the process that forked, and this benchmark's is large); the command's stdout goes to
# a file, whose last line a child may use to report a moment (e.g. its first answer).
_LAUNCH = """
import json, os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
started = time.time()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ,
                     file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1)])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"started": started, "seconds": time.time() - started,
                  "rss_mb": usage.ru_maxrss / 1024, "code": os.waitstatus_to_exitcode(status)}))
"""

# The bot's start in-process, without the network: what `python -m bot discord` does
# before it connects (import discord, open the index, the store, make the bot), then the
# first question through the path a /ask takes (micro-batcher, worker thread, embed).
_DISCORD_CHILD = """
import asyncio, json, sys, tempfile, time
from pathlib import Path
from bot.config import Settings
from bot.discord_app.client import make_bot
from bot.discord_app.format import answer_embed
from bot.service import QAService, open_answerer
from bot.store import Store

settings = Settings()
answerer, _ = open_answerer(settings)
with tempfile.TemporaryDirectory() as tmp:
    store = Store.open(Path(tmp))
    service = QAService(settings, answerer, store)
    bot = make_bot(service, settings)

    async def first():
        reply = await service.ask_async(sys.argv[1])
        answer_embed(reply.answer, service.examples)
        await service.batcher.close()

    asyncio.run(first())
    print(json.dumps({"answered": time.time()}), flush=True)
    store.close()
"""

_BARE_TORCH_CHILD = """
import os, sys
os.environ["HF_HUB_OFFLINE"] = "1"
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(sys.argv[2], device="cpu", backend="torch")
model.encode([sys.argv[1]], normalize_embeddings=True)
"""

# The peer, cold: what one builds in an afternoon, run as a one-shot script (the same as
# bot.bench.quality's peer: LangChain's splitter over the raw files, MiniLM, FAISS).
_PEER_CHILD = """
import os, sys
from pathlib import Path
os.environ["HF_HUB_OFFLINE"] = "1"
import faiss
from langchain_text_splitters import RecursiveCharacterTextSplitter
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(sys.argv[2], device="cpu", backend="torch")
splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
chunks = [c for p in sorted(Path(sys.argv[3]).glob("*.*")) if p.suffix in (".txt", ".md", ".html")
          for c in splitter.split_text(p.read_text(errors="replace"))]
vectors = model.encode(chunks, normalize_embeddings=True)
index = faiss.IndexFlatIP(vectors.shape[1])
index.add(vectors)
_, ids = index.search(model.encode([sys.argv[1]], normalize_embeddings=True), 3)
print("\\n\\n".join(chunks[i] for i in ids[0] if i >= 0))
"""


def _launch(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Whole-process wall time and peak RSS of ``command``; ``answered_s`` too when its
    last line of output is ``{"answered": <time>}``."""
    with tempfile.NamedTemporaryFile("r", suffix=".out") as out:
        done = subprocess.run([sys.executable, "-c", _LAUNCH, out.name, *command],
                              capture_output=True, text=True, check=True, env=env,
                              timeout=600)
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        if result["code"] != 0:
            raise RuntimeError(f"{command[:4]} exited {result['code']}: {done.stderr[-500:]}")
        lines = out.read().strip().splitlines()
    if lines and lines[-1].startswith('{"answered"'):
        result["answered_s"] = json.loads(lines[-1])["answered"] - result["started"]
    return result


def _repl_ready(env: dict[str, str], question: str) -> tuple[float, float]:
    """``python -m bot repl`` on a terminal (a pseudo-terminal, so prompt-toolkit runs as
    it does for a person): seconds until its prompt is shown, and until the first answer
    to ``question`` typed at it is printed."""
    master, slave = os.openpty()
    started = time.time()
    process = subprocess.Popen([sys.executable, "-m", "bot", "repl"], stdin=slave,
                               stdout=slave, stderr=slave, env={**env, "TERM": "xterm"},
                               start_new_session=True)
    os.close(slave)
    seen = b""
    ready = answered = 0.0
    try:
        while not answered:
            if time.time() - started > 300 or process.poll() is not None:
                raise RuntimeError(f"the REPL did not answer: {seen[-300:]!r}")
            if not select.select([master], [], [], 0.05)[0]:
                continue
            chunk = os.read(master, 65536)
            seen += chunk
            if b"\x1b[6n" in chunk:  # a cursor position request: answer as a terminal does
                os.write(master, b"\x1b[1;1R")
            if not ready and b"Ctrl-D to leave." in seen and b"?" in seen.split(
                    b"Ctrl-D to leave.")[-1]:  # the banner, then the prompt drawn
                ready = time.time() - started
                seen = b""
                os.write(master, question.encode() + b"\r")
            elif ready and (b"\xc2\xb6" in seen or b"doesn't say" in seen):  # ¶ of a citation
                answered = time.time() - started
        leaving = time.time()
        while process.poll() is None and time.time() - leaving < 30:
            try:  # Ctrl-D leaves (typed again until the prompt takes it); output is
                os.write(master, b"\x04")  # drained, as a full terminal buffer would block
                if select.select([master], [], [], 0.5)[0]:
                    os.read(master, 65536)
            except OSError:  # the REPL has closed the terminal: it is leaving
                break
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return ready, answered


def startup(settings: Settings, texts: Sequence[str], runs: int = 3) -> dict[str, Any]:
    """Cold starts, each in fresh processes on the same (up-to-date) index, alternated
    with the baseline so a change in machine load hits both: a one-shot ``ask``, the REPL,
    the Discord bot; against a bare ``import sentence_transformers``. Memory against the
    bare torch model loaded. And the LangChain peer's cold start, to compare."""
    env = {**os.environ, "BOT_SEEDS_DIR": str(settings.seeds_dir),
           "BOT_INDEX_DIR": str(settings.index_dir), "HF_HUB_OFFLINE": "1"}
    location = model_location(settings.model)
    python = sys.executable
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "ask", "bare_import", "discord", "bare_torch", "peer")}
    repl: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as data:
        env["BOT_DATA_DIR"] = data
        for _ in range(runs):
            rows["bare_import"].append(_launch([python, "-c", "import sentence_transformers"],
                                               env))
            rows["ask"].append(_launch([python, "-m", "bot", "ask", texts[0]], env))
            repl.append(_repl_ready(env, texts[0]))
            rows["discord"].append(_launch([python, "-c", _DISCORD_CHILD, texts[0]], env))
            rows["bare_torch"].append(_launch([python, "-c", _BARE_TORCH_CHILD, texts[0],
                                               location], env))
            rows["peer"].append(_launch([python, "-c", _PEER_CHILD, texts[0], location,
                                         str(settings.seeds_dir)], env))

    def med(name: str, key: str) -> float:
        return float(statistics.median(float(r[key]) for r in rows[name]))

    bare = med("bare_import", "seconds")
    ready = statistics.median(r for r, _ in repl)
    return {
        "ask_s": med("ask", "seconds"), "bare_import_s": bare,
        "ask_ratio": med("ask", "seconds") / bare,
        "repl_ready_s": ready, "repl_ready_ratio": ready / bare,
        "repl_first_answer_s": statistics.median(a for _, a in repl),
        "discord_first_answer_s": med("discord", "answered_s"),
        "discord_ratio": med("discord", "answered_s") / bare,
        "rss_mb": med("ask", "rss_mb"), "bare_torch_rss_mb": med("bare_torch", "rss_mb"),
        "rss_ratio": med("ask", "rss_mb") / med("bare_torch", "rss_mb"),
        "discord_rss_mb": med("discord", "rss_mb"),
        "bare_torch_start_s": med("bare_torch", "seconds"),
        "peer_cold_s": med("peer", "seconds"), "peer_rss_mb": med("peer", "rss_mb"),
    }


def burst(settings: Settings, answerer: Answerer, texts: Sequence[str],
           n: int = 64) -> dict[str, Any]:
    questions = [texts[i % len(texts)] for i in range(n)]

    async def measure() -> tuple[float, float, list[int]]:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(Path(tmp))
            service = QAService(settings, answerer, store)
            try:
                await service.ask_async(questions[0])  # warm
                started = time.perf_counter()
                for question in questions:
                    await service.ask_async(question)
                one_by_one = time.perf_counter() - started
                service.batcher.batches.clear()
                started = time.perf_counter()
                await asyncio.gather(*(service.ask_async(q) for q in questions))
                together = time.perf_counter() - started
                return one_by_one, together, list(service.batcher.batches)
            finally:
                await service.batcher.close()
                store.close()

    one_by_one, together, batches = asyncio.run(measure())
    return {"burst_one_by_one_qps": n / one_by_one, "burst_qps": n / together,
            "burst_speedup": one_by_one / together, "burst_batches": batches}


def build(settings: Settings, embedder: Embedder, small: Index,
          n: int = 2000) -> dict[str, Any]:
    """Build an index of ``n`` generated passages (article sentences recombined) and time
    it against sentence-transformers' own batch encoding of the same passages with the same
    export (``backend="openvino"``): the bare library doing the embedding part alone."""
    from sentence_transformers import SentenceTransformer

    rng = np.random.default_rng(7)
    sentences = [small.passages[i].text[s - small.passages[i].start: e - small.passages[i].start]
                 for i in range(len(small.passages)) for s, e in small.passages[i].sentences]
    paragraphs = [" ".join(rng.choice(sentences, size=3)) for _ in range(n)]
    export = embedder.label
    folder = settings.model_cache / export
    if not (folder / "openvino").is_dir():
        raise RuntimeError(f"the index was not built with the OpenVINO export ({export})")
    bare = SentenceTransformer(str(folder), device="cpu", backend="openvino",
                               model_kwargs={"ov_config": OV_CONFIG})
    with tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        (seeds / "generated.txt").write_text("Generated\n\n" + "\n\n".join(paragraphs) + "\n")
        documents, _ = load_documents(seeds)
        # One untimed pass each first: OpenVINO prepares each new input shape once, and
        # whichever side ran first would pay for it.
        embedder.encode(paragraphs)
        bare.encode(paragraphs, batch_size=32)
        index_dir = Path(tmp) / "index"
        index_dir.mkdir()
        # With the product's model folder, as every rebuild has it: the export, and the
        # WordNet table read once per installation (several seconds, not per build).
        (index_dir / "models").symlink_to(settings.model_cache.resolve())
        started = time.perf_counter()
        built = build_index(documents, index_dir, embedder)
        ours = time.perf_counter() - started
        texts = [p.text for p in built.passages]
        started = time.perf_counter()
        bare.encode(texts, batch_size=32, normalize_embeddings=True)
        bare_s = time.perf_counter() - started
    count = len(built.passages)
    return {"build_passages": count, "build_s_per_1k": ours / count * 1000,
            "bare_encode_s_per_1k": bare_s / count * 1000, "build_ratio": bare_s / ours,
            "build_sentences": built.manifest.sentences, "build_encoder": built.manifest.encoder}
