"""`python -m bot train-reader`: fine-tune the shipped all-MiniLM-L6-v2 weights into the
reader, on torch, then export it (``bot.reader.export``). Imported only by that command.

The training pairs are ``bot.reader.examples``' of the ``train`` articles.

The model: the MiniLM encoder; its tokens' mean → a linear layer → the answer logit; every
token → two logits, the answer's first and last token (SQuAD-style span head, trained on
the answering pairs only). Loss: binary cross-entropy + ``SPAN_WEIGHT`` × the span's.

Seeded (the same run gives the same weights on the same machine), resumable (a checkpoint
every ``Config.checkpoint_every`` steps holds the weights, the optimiser, the schedule and the
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

from bot.reader.examples import Example, figures
from bot.reader.pairs import MAX_TOKENS, Pair, PairTokenizer, token_span

logger = logging.getLogger(__name__)

SPAN_WEIGHT = 0.5
Log = Callable[[str], None]


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
    model.to("cuda" if torch.cuda.is_available() else "cpu")  # a GPU machine's, when there
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
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, weights)
    return weights


def evaluate(model: Any, tokenizer: PairTokenizer, data: Sequence[Example],
             batch_size: int = 64) -> dict[str, float]:
    """The validation figures (``bot.reader.examples.figures``) of the torch model."""
    logits, spans = score(model, tokenizer, [e.pair for e in data], batch_size)
    return figures(data, logits.tolist(), spans)


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
            answer, start, end = (t.cpu() for t in model(*_inputs(batch, _device(model))))
            logits[at : at + len(chunk)] = answer.numpy()
            for j in range(len(chunk)):
                spans[at + j] = answer_span(batch.spans[j], start[j].numpy(), end[j].numpy())
    return logits, spans


def _device(model: Any) -> Any:
    return next(model.parameters()).device


def _inputs(batch: Any, device: Any) -> tuple[Any, Any, Any]:
    import torch

    ids, mask, types = (torch.from_numpy(a).to(device)
                        for a in (batch.ids, batch.mask, batch.types))
    return ids, mask, types


def _loss(model: Any, tokenizer: PairTokenizer, batch: Sequence[Example]) -> Any:
    import torch
    import torch.nn.functional as F

    encoded = tokenizer.batch([e.pair for e in batch])
    device = _device(model)
    answer, start, end = model(*_inputs(encoded, device))
    labels = torch.tensor([float(e.label) for e in batch], device=device)
    loss = F.binary_cross_entropy_with_logits(answer, labels)
    targets: list[tuple[int, tuple[int, int]]] = []
    for row, e in enumerate(batch):
        span = token_span(encoded.spans[row], *e.answer) if e.answer is not None else None
        if span is not None:
            targets.append((row, span))
    if targets:
        rows = torch.tensor([row for row, _ in targets], device=device)
        inside = torch.tensor([[a >= 0 for a, _ in encoded.spans[row]] for row, _ in targets],
                              device=device)
        masked_start = start[rows].masked_fill(~inside, -1e4)
        masked_end = end[rows].masked_fill(~inside, -1e4)
        first = torch.tensor([s for _, (s, _) in targets], device=device)
        last = torch.tensor([e for _, (_, e) in targets], device=device)
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
    state = torch.load(path, weights_only=False, map_location=_device(model))
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["rng"].cpu())
    log(f"resuming from step {state['step']} ({path})")
    return int(state["step"])


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
