"""The benchmark's results as Markdown tables and a chart."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import numpy as np


def table(r: dict[str, Any]) -> str:
    p = r["peer"]
    rows = [
        ("right passage first, quoted (answered or tentative)", f"{r['right_on_top']:.2f}",
         f"{p['right_on_top']:.2f}"),
        ("right passage first, answered confidently (Hit@1)", f"{r['hit_at_1']:.2f}",
         f"{p['hit_at_1']:.2f}"),
        ("Hit@3 / MRR@5 (quoted)", f"{r['hit_at_3']:.2f} / {r['mrr_at_5']:.2f}",
         f"{p['hit_at_3']:.2f} / {p['mrr_at_5']:.2f}"),
        ("unanswerable answered confidently", f"{r['unanswerable_confident']:.2f}",
         f"{p['unanswerable_confident']:.2f}"),
        ("off-topic quoted", f"{r['offtopic_quoted']} of {r['offtopic']}",
         f"{p['offtopic_quoted']} of {p['offtopic']}"),
        ("median top excerpt (chars)", f"{r['median_excerpt_chars']:.0f}",
         f"{p['median_excerpt_chars']:.0f}"),
        ("boilerplate ever returned", str(r["boilerplate_returned"]).lower(),
         str(p["boilerplate_returned"]).lower()),
    ]
    bare = f"bare `import sentence_transformers` {r['bare_import_s']:.2f} s"
    speed = [
        ("warm latency p50 / p95", f"{r['latency_p50_ms']:.1f} / {r['latency_p95_ms']:.1f} ms",
         f"bare torch encode {r['bare_encode_p50_ms']:.1f} / {r['bare_encode_p95_ms']:.1f} ms",
         f"{r['latency_ratio']:.2f}x", _target(r["latency_ratio"] <= 3.0, "≤ 3x")),
        ("one-shot `ask`, whole process", f"{r['ask_s']:.2f} s", bare,
         f"{r['ask_ratio']:.2f}x", _target(r["ask_ratio"] <= 0.35, "≤ 0.35x")),
        ("REPL ready (first answer)",
         f"{r['repl_ready_s']:.2f} s ({r['repl_first_answer_s']:.2f} s)", bare,
         f"{r['repl_ready_ratio']:.2f}x", _target(r["repl_ready_ratio"] <= 0.3, "≤ 0.3x")),
        ("Discord bot start to first answer (no network)",
         f"{r['discord_first_answer_s']:.2f} s", bare, f"{r['discord_ratio']:.2f}x",
         _target(r["discord_ratio"] <= 0.3, "≤ 0.3x")),
        ("peak RSS, one-shot `ask`", f"{r['rss_mb']:.0f} MB",
         f"bare torch model loaded {r['bare_torch_rss_mb']:.0f} MB", f"{r['rss_ratio']:.2f}x",
         _target(r["rss_mb"] <= 350, "≤ 350 MB")),
        ("burst of 64", f"{r['burst_qps']:.0f} q/s",
         f"one by one {r['burst_one_by_one_qps']:.0f} q/s", f"{r['burst_speedup']:.2f}x",
         _target(r["burst_speedup"] >= 2.5, "≥ 2.5x")),
        ("index build per 1k passages", f"{r['build_s_per_1k']:.1f} s",
         f"bare batch encode (same export) {r['bare_encode_s_per_1k']:.1f} s",
         f"{r['build_ratio']:.2f}x throughput", _target(r["build_ratio"] >= 0.9, "≥ 0.9x")),
    ]
    cold = [
        ("one-shot answer, whole process", f"{r['ask_s']:.2f} s", f"{r['peer_cold_s']:.2f} s"),
        ("peak RSS", f"{r['rss_mb']:.0f} MB", f"{r['peer_rss_mb']:.0f} MB"),
    ]
    lines = ["| quality | this bot | peer (chunk 1000) |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += ["", *answerability_table(r["answerability"])]
    lines += ["", "| speed | this bot | baseline, same run | ratio | target |",
              "|---|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in speed]
    lines += ["", "| cold start | this bot | peer (LangChain, one-shot script) |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in cold]
    lines += ["", scale_table(r["scale"])]
    if "realistic" in r:
        lines += ["", realistic_table(r["realistic"])]
    return "\n".join(lines)


def scale_table(rows: list[dict[str, Any]]) -> str:
    """Milliseconds per question, stage by stage, at each corpus size; the ratio is the
    whole question's cost against the article's, in the same run."""
    lines = ["| passages | encode | dense | lexical | evidence | fusion | answer "
             "| per question | article, alternating passes | ratio | index "
             "| recall@10 vs exact |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        recall = f"{row['recall_at_10']:.3f}" if "recall_at_10" in row else "exact"
        stages = " | ".join(f"{row[f'{s}_ms']:.2f}" for s in
                            ("encode", "dense", "lexical", "evidence", "fusion", "answer"))
        paired = row.get("article_total_ms", row["total_ms"])
        lines.append(f"| {row['passages']:,} | {stages} | {row['total_ms']:.2f} ms "
                     f"| {paired:.2f} ms | {row['ratio']:.2f}x "
                     f"| {row.get('faiss_index', 'IndexFlatIP')} "
                     f"| {recall} |")
    return "\n".join(lines)


def realistic_table(w: dict[str, Any]) -> str:
    """The WordNet corpus built beside the article: build figures, then what changed in
    the answers."""
    q = w["quality"]
    lines = [
        "| realistic corpus (WordNet glosses + the article) | |", "|---|---|",
        f"| documents / passages / sentences | {w['documents']} / {w['passages']:,} / "
        f"{w['sentences']:,} |",
        f"| text | {w['text_mb']:.1f} MB |",
        f"| build (fresh process, model loaded) | {w['build_s']:.0f} s: "
        f"{w['passages_per_s']:.0f} passages/s, {w['text_mb_per_s'] * 1000:.0f} kB/s |",
        f"| peak RSS during the build | {w['peak_mb']:.0f} MB (model loaded: "
        f"{w['model_loaded_mb']:.0f} MB; index on disk {w['index_mb']:.0f} MB) |",
        f"| same excerpts as the article alone | {w['same_excerpts']} of {w['questions']} |",
        f"| right passage first, quoted / answered confidently | {q['right_on_top']:.2f} / "
        f"{q['hit_at_1']:.2f} |",
        f"| unanswerable answered confidently / off-topic quoted | "
        f"{q['unanswerable_confident']:.2f} / {q['offtopic_quoted']} of {q['offtopic']} |",
    ]
    for c in w["changed"]:
        lines.append(f"| changed: {c['q']} | {c['status_alone']} "
                     f"{', '.join(c['alone']) or '-'} → {c['status_among']} "
                     f"{', '.join(c['among']) or '-'} |")
    for kind in ("answered", "tentative"):
        for u in w[f"unanswerable_{kind}"]:
            quoted = " / ".join(f"{e['title']}: {e['text'][:120]}" for e in u["excerpts"])
            lines.append(f"| unanswerable, {kind}: {u['q']} | {quoted} |")
    return "\n".join(lines)


def _target(met: bool, target: str) -> str:
    return f"{target} {'✓' if met else '✗'}"


def chart(r: dict[str, Any], ours: list[float], bare: list[float], peer: list[float],
           path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.boxplot([ours, bare, peer], showfliers=False)
    left.set_xticks([1, 2, 3], ["this bot\n(answer)", "bare torch\n(encode)", "peer\n(search)"])
    left.set_ylabel("ms per question (warm)")
    left.set_title("Latency")
    keys = ["right_on_top", "hit_at_1", "hit_at_3", "abstain_acc"]
    x = np.arange(len(keys))
    right.bar(x - 0.2, [r[k] for k in keys], 0.4, label="this bot")
    right.bar(x + 0.2, [r["peer"][k] for k in keys], 0.4, label="peer (chunk 1000)")
    right.set_xticks(x, ["right first,\nquoted", "right first,\nconfident", "Hit@3",
                         "no confident\nanswer to\nunanswerable"])
    right.set_ylim(0, 1.05)
    right.set_title("Quality")
    right.legend(loc="lower left")
    fig.suptitle(f"{r['machine']}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def pct(values: list[float], q: int) -> float:
    return float(np.percentile(values, q))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def answerability_table(a: dict[str, Any]) -> list[str]:
    """The reader issue's figures and targets per set, reliability per set, and the
    trade-off rows around the fitted line."""
    sets = [("SQuAD validation articles", a["articles"]["all"], "≥ 0.90", "≥ 0.35", "≤ 0.15"),
            ("bank, validation part", a["sets"]["bank val"], "≥ 0.90", "≥ 0.70", "≤ 0.05"),
            ("held-out", a["sets"]["holdout"], "≥ 0.90", "≥ 0.70", "≤ 0.05")]
    lines = ["| set | right passage first, quoted | right and confident | unanswerable "
             "answered confidently | unanswerable tentative | off-topic quoted |",
             "|---|---|---|---|---|---|"]
    for name, f, on_top, confident, wrong in sets:
        lines.append(f"| {name} | {f['right_on_top']:.2f} (target {on_top}) | "
                     f"{f['right_confident']:.2f} (target {confident}) | "
                     f"{f['unanswerable_confident']:.2f} (target {wrong}) | "
                     f"{f['unanswerable_tentative']:.2f} | "
                     f"{f['offtopic_quoted']} of {f['offtopic']} |")
    for article, f in a["articles"].items():
        if article != "all":
            lines.append(f"| · {article} | {f['right_on_top']:.2f} | "
                         f"{f['right_confident']:.2f} | {f['unanswerable_confident']:.2f} | "
                         f"{f['unanswerable_tentative']:.2f} | "
                         f"{f['offtopic_quoted']} of {f['offtopic']} |")
    lines += ["", "| reliability: confidence → first passage right | " + " | ".join(
        f"{lo:.1f}–{lo + 0.2:.1f}" for lo in np.arange(0, 1, 0.2)) + " |",
        "|---|---|---|---|---|---|"]
    for name, rows in a["reliability"].items():
        cells = []
        for lo in np.arange(0, 1, 0.2):
            row = next((r for r in rows if abs(r["from"] - lo) < 1e-9), None)
            cells.append(f"{row['predicted']:.2f} → {row['observed']:.2f} "
                         f"({row['questions']})" if row else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines
