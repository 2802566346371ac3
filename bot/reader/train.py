"""`python -m bot train-reader`: fine-tune the shipped all-MiniLM-L6-v2 weights into the
reader, on torch, then export it (``bot.reader.export``). Imported only by that command.

Examples (``examples``): every question of the ``train`` articles paired with the sentences
of its paragraph that hold a gold answer (label 1), the ``PARAGRAPH_NEGATIVES`` others of its
paragraph closest to it by MiniLM cosine (0; for an unanswerable question these are the near
misses it was written against), and the ``HARD_NEGATIVES`` closest sentences of other
paragraphs (0), which is what retrieval puts beside the right sentence at question time. A
sentence elsewhere that holds a gold answer string is left out, not called wrong. (Every
sentence of the paragraph instead: 57k pairs and four hours on these two cores; this: 35k.)

The model: the MiniLM encoder; its tokens' mean → a linear layer → the answer logit; every
token → two logits, the answer's first and last token (SQuAD-style span head, trained on
the answering pairs only). Loss: binary cross-entropy + ``SPAN_WEIGHT`` × the span's.

Seeded (the same run gives the same weights on the same machine), resumable (a checkpoint
every ``--checkpoint-every`` steps holds the weights, the optimiser, the schedule and the
step; the epoch's order is a function of the seed and the epoch, so a resumed run sees the
batches it had not seen yet), validated at every checkpoint on a fixed sample of the
validation articles (``log.jsonl``)."""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.reader.data import Paragraph, by_article
from bot.reader.pairs import MAX_TOKENS, Pair, PairTokenizer, token_span
from bot.text import fold

logger = logging.getLogger(__name__)

HARD_NEGATIVES = 1
PARAGRAPH_NEGATIVES = 3
SPAN_WEIGHT = 0.5
Log = Callable[[str], None]


@dataclass(frozen=True)
class Example:
    pair: Pair
    label: int
    answer: tuple[int, int] | None  # the gold answer's characters in the sentence
    question: str  # the question's id, for question-level figures


@dataclass(frozen=True)
class Config:
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup: float = 0.06
    weight_decay: float = 0.01
    seed: int = 13
    max_tokens: int = MAX_TOKENS
    checkpoint_every: int = 400
    validation_questions: int = 250


def examples(paragraphs: Sequence[Paragraph], vectors: Callable[[list[str]], Any],
             hard_negatives: int = HARD_NEGATIVES) -> list[Example]:
    """The labelled pairs for ``paragraphs`` (see the module's docstring); ``vectors``
    encodes texts into normalised rows."""
    found: list[Example] = []
    for _, group in by_article(paragraphs):
        sentences = [(p, i) for p in group for i in range(len(p.sentences))]
        questions = [(p, q) for p in group for q in p.questions]
        if not questions:
            continue
        sv = vectors([p.sentence(i) for p, i in sentences])
        qv = vectors([q.question for _, q in questions])
        nearest = np.argsort(-(qv @ sv.T), axis=1)
        for (p, q), order in zip(questions, nearest, strict=True):
            answering = p.answering(q)
            golds = [fold(g.text) for g in q.answers]
            here = [int(j) for j in order if sentences[int(j)][0] is p]
            wrong = [j for j in here if sentences[j][1] not in answering][:PARAGRAPH_NEGATIVES]
            for j in sorted(wrong + [j for j in here if sentences[j][1] in answering]):
                i = sentences[j][1]
                found.append(_example(p, i, q.question, q.id, i in answering, q.answers))
            taken = 0
            for j in order:
                other, i = sentences[int(j)]
                if other is p:
                    continue
                if any(g in fold(other.sentence(i)) for g in golds):
                    continue
                found.append(_example(other, i, q.question, q.id, False, ()))
                taken += 1
                if taken == hard_negatives:
                    break
    return found


def _example(p: Paragraph, i: int, question: str, qid: str, answers_it: bool,
             golds: Sequence[Any]) -> Example:
    start, end = p.sentences[i]
    before = p.sentence(i - 1) if i > 0 else ""
    answer = None
    if answers_it:
        gold = next(g for g in golds if start <= g.start < end)
        answer = (gold.start - start, min(gold.start + len(gold.text), end) - start)
    return Example(Pair(question, p.text[start:end], before), int(answers_it), answer, qid)


def train(train_examples: Sequence[Example], validation: Sequence[Example],
          model_dir: Path, out: Path, config: Config, log: Log) -> Path:
    """Train (or resume) into ``out``; returns the final weights' path."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(config.seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(config), indent=1), encoding="utf-8")
    tokenizer = PairTokenizer(model_dir / "tokenizer.json", config.max_tokens)
    model = reader_net().from_encoder(model_dir)
    # The word embeddings (half the weights) stay as MiniLM learnt them: 7.9k questions are
    # too few to move them well, and their gradients and optimiser state cost a fifth of a step.
    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    steps_per_epoch = math.ceil(len(train_examples) / config.batch_size)
    total = steps_per_epoch * config.epochs
    optimizer, schedule = _optimiser(model, config, total)
    step = _resume(out, model, optimizer, schedule, log)
    bar = tqdm(total=total, initial=step, desc="training the reader", unit="batch",
               dynamic_ncols=True)
    started, seen = time.perf_counter(), 0
    model.train()
    while step < total:
        epoch, at = divmod(step, steps_per_epoch)
        order = _epoch_batches(len(train_examples), train_examples, config, epoch)
        for indices in order[at:]:
            batch = [train_examples[i] for i in indices]
            loss = _loss(model, tokenizer, batch)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            seen += len(batch)
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}",
                            pairs_s=f"{seen / (time.perf_counter() - started):.0f}")
            if step % config.checkpoint_every == 0 or step == total:
                figures = evaluate(model, tokenizer, validation)
                model.train()
                _checkpoint(out, model, optimizer, schedule, step, figures)
                log(f"step {step}/{total}: " + ", ".join(f"{k} {v:.3f}"
                                                         for k, v in figures.items()))
            if step >= total:
                break
    bar.close()
    weights = out / "reader.pt"
    torch.save(model.state_dict(), weights)
    return weights


def evaluate(model: Any, tokenizer: PairTokenizer, data: Sequence[Example],
             batch_size: int = 64) -> dict[str, float]:
    """Validation figures: pair AUC; per answerable question, whether its best-scored pair
    is an answering sentence; per question, the best score's AUC for answerable against
    not; the span's exact match and token F1 on answering pairs."""
    scores, spans = score(model, tokenizer, [e.pair for e in data], batch_size)
    labels = np.array([e.label for e in data])
    by_question: dict[str, list[int]] = {}
    for i, e in enumerate(data):
        by_question.setdefault(e.question, []).append(i)
    best_right, best, answerable = [], [], []
    for rows in by_question.values():
        top = max(rows, key=lambda r: scores[r])
        has = bool(labels[rows].any())
        answerable.append(has)
        best.append(scores[top])
        if has:
            best_right.append(bool(labels[top]))
    exact, f1 = [], []
    for e, span in zip(data, spans, strict=True):
        if e.answer is None:
            continue
        gold = e.pair.sentence[e.answer[0]:e.answer[1]]
        guess = e.pair.sentence[span[0]:span[1]] if span else ""
        exact.append(fold(gold) == fold(guess))
        f1.append(_token_f1(guess, gold))
    return {"pair_auc": _auc(scores, labels), "best_right": float(np.mean(best_right)),
            "question_auc": _auc(np.array(best), np.array(answerable)),
            "span_exact": float(np.mean(exact)) if exact else 0.0,
            "span_f1": float(np.mean(f1)) if f1 else 0.0}


def score(model: Any, tokenizer: PairTokenizer, pairs: Sequence[Pair], batch_size: int
          ) -> tuple[np.ndarray[Any, Any], list[tuple[int, int] | None]]:
    """Torch scoring: each pair's answer logit, and its answer span."""
    import torch

    from bot.reader.pairs import answer_span

    model.eval()
    logits = np.zeros(len(pairs))
    spans: list[tuple[int, int] | None] = [None] * len(pairs)
    with torch.no_grad():
        for at in range(0, len(pairs), batch_size):
            chunk = pairs[at : at + batch_size]
            batch = tokenizer.batch(chunk)
            answer, start, end = model(torch.from_numpy(batch.ids),
                                       torch.from_numpy(batch.mask),
                                       torch.from_numpy(batch.types))
            logits[at : at + len(chunk)] = answer.numpy()
            for j in range(len(chunk)):
                spans[at + j] = answer_span(batch.spans[j], start[j].numpy(), end[j].numpy())
    return logits, spans


def _loss(model: Any, tokenizer: PairTokenizer, batch: Sequence[Example]) -> Any:
    import torch
    import torch.nn.functional as F

    encoded = tokenizer.batch([e.pair for e in batch])
    answer, start, end = model(torch.from_numpy(encoded.ids), torch.from_numpy(encoded.mask),
                               torch.from_numpy(encoded.types))
    labels = torch.tensor([float(e.label) for e in batch])
    loss = F.binary_cross_entropy_with_logits(answer, labels)
    targets: list[tuple[int, tuple[int, int]]] = []
    for row, e in enumerate(batch):
        span = token_span(encoded.spans[row], *e.answer) if e.answer is not None else None
        if span is not None:
            targets.append((row, span))
    if targets:
        rows = torch.tensor([row for row, _ in targets])
        inside = torch.tensor([[a >= 0 for a, _ in encoded.spans[row]] for row, _ in targets])
        masked_start = start[rows].masked_fill(~inside, -1e4)
        masked_end = end[rows].masked_fill(~inside, -1e4)
        first = torch.tensor([s for _, (s, _) in targets])
        last = torch.tensor([e for _, (_, e) in targets])
        loss = loss + SPAN_WEIGHT * (F.cross_entropy(masked_start, first)
                                     + F.cross_entropy(masked_end, last)) / 2
    return loss


def _epoch_batches(n: int, data: Sequence[Example], config: Config, epoch: int
                   ) -> list[list[int]]:
    """The epoch's batches: shuffled by (seed, epoch); within pools of 50 batches, pairs of
    similar length go together (less padding), and the batches are shuffled again."""
    rng = random.Random(config.seed * 1000 + epoch)
    order = list(range(n))
    rng.shuffle(order)
    pool = config.batch_size * 50
    batches: list[list[int]] = []
    for at in range(0, n, pool):
        chunk = sorted(order[at : at + pool],
                       key=lambda i: len(data[i].pair.question) + len(data[i].pair.second))
        batches.extend(chunk[j : j + config.batch_size]
                       for j in range(0, len(chunk), config.batch_size))
    rng.shuffle(batches)
    return batches


def _optimiser(model: Any, config: Config, total: int) -> tuple[Any, Any]:
    import torch
    from transformers import get_linear_schedule_with_warmup

    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in trained if p.ndim > 1 and "LayerNorm" not in n]
    rest = [p for n, p in trained if not (p.ndim > 1 and "LayerNorm" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": rest, "weight_decay": 0.0}],
                                  lr=config.learning_rate)
    schedule = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
        optimizer, int(config.warmup * total), total)
    return optimizer, schedule


def _checkpoint(out: Path, model: Any, optimizer: Any, schedule: Any, step: int,
                figures: dict[str, float]) -> None:
    import torch

    tmp = out / "checkpoint.pt.tmp"
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(), "step": step,
                "rng": torch.get_rng_state()}, tmp)
    tmp.replace(out / "checkpoint.pt")
    with open(out / "log.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"step": step, **figures}) + "\n")


def _resume(out: Path, model: Any, optimizer: Any, schedule: Any, log: Log) -> int:
    import torch

    path = out / "checkpoint.pt"
    if not path.is_file():
        return 0
    state = torch.load(path, weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["rng"])
    log(f"resuming from step {state['step']} ({path})")
    return int(state["step"])


def _auc(scores: np.ndarray[Any, Any], labels: np.ndarray[Any, Any]) -> float:
    positive, negative = scores[labels.astype(bool)], scores[~labels.astype(bool)]
    if not len(positive) or not len(negative):
        return float("nan")
    ranks = np.argsort(np.argsort(np.concatenate([positive, negative]))) + 1
    return float((ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2)
                 / (len(positive) * len(negative)))


def _token_f1(guess: str, gold: str) -> float:
    g, t = fold(guess).split(), fold(gold).split()
    common = sum(min(g.count(w), t.count(w)) for w in set(g))
    if not common:
        return 0.0
    precision, recall = common / len(g), common / len(t)
    return 2 * precision * recall / (precision + recall)


@cache
def reader_net() -> Any:
    """The reader's torch module class (defined on first use: torch is imported then)."""
    import torch

    class ReaderNet(torch.nn.Module):
        """MiniLM, a mean-pooled answer head and a per-token span head."""

        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder
            width = encoder.config.hidden_size
            self.dropout = torch.nn.Dropout(0.1)
            self.answer = torch.nn.Linear(width, 1)
            self.span = torch.nn.Linear(width, 2)

        @classmethod
        def from_encoder(cls, model_dir: Path, attention: str = "sdpa") -> Any:
            """``attention="eager"`` for export: transformers' sdpa mask does not trace."""
            from transformers import AutoModel

            return cls(AutoModel.from_pretrained(str(model_dir),
                                                 attn_implementation=attention))

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any
                    ) -> tuple[Any, Any, Any]:
            # The attention mask made here, additive, rather than by transformers' mask
            # helpers, which do not survive tracing (the OpenVINO export traces).
            embedded = self.encoder.embeddings(input_ids=input_ids,
                                               token_type_ids=token_type_ids)
            blocked = (1.0 - attention_mask[:, None, None, :].to(embedded.dtype)) * -1e4
            tokens = self.encoder.encoder(embedded, attention_mask=blocked).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            answer = self.answer(self.dropout(pooled)).squeeze(-1)
            start, end = self.span(tokens).unbind(-1)
            return answer, start, end

    return ReaderNet
