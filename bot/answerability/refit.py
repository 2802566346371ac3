"""The refit and its measurement, over every corpus they use: the TikTok post (``seeds/``,
the product's own index) with the question bank, and the reader's SQuAD articles, each
indexed alone (``bot.answerability.articles``). ``python -m bot fit`` and ``make bench``
both go through here, so the figures in the docs and the model's notes are the same
computation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.answer import Answerer
from bot.answerability.articles import Article, articles
from bot.answerability.fit import (
    ReadingCache,
    cross_questions,
    examples,
    figures,
    fit,
    judge_all,
    reliability,
    trade_off,
)
from bot.answerability.model import AnswerModel
from bot.config import PROJECT_ROOT, Settings
from bot.evaluate import EvalQuestion, load_questions, split
from bot.index import ensure_index
from bot.reader.data import Role
from bot.retriever import Retriever

BANK = PROJECT_ROOT / "bench" / "bank.jsonl"
HOLDOUT = PROJECT_ROOT / "bench" / "holdout.jsonl"
Log = Callable[[str], None]


@dataclass(frozen=True)
class Corpus:
    """An index to ask questions of, and the questions (``name``: "bank" or an article)."""

    name: str
    answerer: Answerer
    questions: tuple[EvalQuestion, ...]


def cached_reader(answerer: Answerer, settings: Settings) -> tuple[Answerer, ReadingCache]:
    """``answerer`` with its reader's readings cached beside the index (fitting and
    measuring read the same pairs again and again)."""
    from bot.reader.runtime import Reader

    reader = answerer.reader
    assert isinstance(reader, Reader), "fitting needs the reader"
    cache = ReadingCache(reader, settings.model_cache / f"readings-{reader.label}.json")
    return replace(answerer, reader=cache), cache


def article_corpora(answerer: Answerer, settings: Settings, role: Role) -> list[Corpus]:
    """The articles of ``role``, each over an index of its own (built once, then loaded),
    answered with ``answerer``'s model, reader and embedder."""
    found = []
    for article in articles(role, settings.index_dir / "articles"):
        found.append(Corpus(article.name, _over(answerer, article, settings),
                            article.questions))
    return found


def refit(answerer: Answerer, settings: Settings, log: Log, bank: Path = BANK
          ) -> AnswerModel:
    """The model fitted on the calibrate articles and the bank's fitting part."""
    bank_fit = split(load_questions(bank), "fit")
    corpora = article_corpora(answerer, settings, "calibrate")
    squad = sum(len(c.questions) for c in corpora)
    weight = squad / max(len(bank_fit), 1)  # the bank weighs as much as the articles
    sets: dict[str, Sequence[EvalQuestion]] = {c.name: c.questions for c in corpora}
    sets["bank"] = [q for q in bank_fit if not q.offtopic]
    cross = cross_questions(sets)
    data = []
    log(f"questions: bank {len(bank_fit)} (weight {weight:.1f} each), "
        + ", ".join(f"{c.name} {len(c.questions)}" for c in corpora))
    data.append((answerer, examples(answerer, bank_fit, "bank", weight)
                 + examples(answerer, cross["bank"], "cross")))
    for c in corpora:
        data.append((c.answerer, examples(c.answerer, c.questions, c.name)
                     + examples(c.answerer, cross[c.name], "cross")))
    return fit(data, log, bank_answerer=answerer, bank_questions=bank_fit)


def measure(answerer: Answerer, settings: Settings, model: AnswerModel,
            sets: Sequence[tuple[str, Sequence[EvalQuestion]]], log: Log) -> dict[str, Any]:
    """The figures of ``model`` on the validation articles (each, and all together), and
    on the TikTok question ``sets``; reliability per validation article and on the bank;
    the trade-off curves."""
    out: dict[str, Any] = {"articles": {}, "sets": {}, "reliability": {}, "trade_off": {}}
    at = (model.answered_at, model.tentative_at, model.topic_at)
    together = []
    for c in article_corpora(answerer, settings, "validation"):
        log(f"  {c.name}: {len(c.questions)} questions")
        judged = judge_all(c.answerer, model, c.questions, c.name)
        together += judged
        out["articles"][c.name] = figures(judged, *at)
        out["reliability"][c.name] = reliability(judged)
    out["articles"]["all"] = figures(together, *at)
    out["reliability"]["articles"] = reliability(together)
    out["trade_off"]["articles"] = trade_off(together, model.tentative_at, model.topic_at)
    for name, questions in sets:
        log(f"  {name}: {len(questions)} questions")
        judged = judge_all(answerer, model, questions, name)
        out["sets"][name] = figures(judged, *at)
        out["reliability"][name] = reliability(judged)
        out["trade_off"][name] = trade_off(judged, model.tentative_at, model.topic_at)
    return out


def tiktok_sets(bank: Path = BANK, extra: Sequence[Path] = ()
                ) -> list[tuple[str, list[EvalQuestion]]]:
    """The bank's validation part, the held-out set, and any other sets given."""
    found = [("bank val", split(load_questions(bank), "val")),
             ("holdout", load_questions(HOLDOUT))]
    found += [(path.stem, load_questions(path)) for path in extra if path.is_file()]
    return found


def _over(answerer: Answerer, article: Article, settings: Settings) -> Answerer:
    """``answerer`` over the article's index: no taught answers (they are the post's), the
    model's export and WordNet's table shared with the product's index (a link)."""
    from bot.teaching import TaughtHolder

    embedder = answerer.retriever.embedder
    article.index.mkdir(parents=True, exist_ok=True)
    models = article.index / "models"
    if not models.exists():
        settings.model_cache.mkdir(parents=True, exist_ok=True)
        models.symlink_to(settings.model_cache.resolve(), target_is_directory=True)
    index, _ = ensure_index(article.seeds, article.index, embedder)
    return replace(answerer, retriever=Retriever(index, embedder), taught=TaughtHolder())
