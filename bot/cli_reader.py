"""`python -m bot reader-data` and `python -m bot train-reader`: the reader's data and its
training (``bot.reader``). Thin, like the other commands: parse, call, report."""

from __future__ import annotations

from pathlib import Path

import click

from bot.config import PROJECT_ROOT, Settings
from bot.errors import BotError
from bot.reader.data import SQUAD_FILE

TRAIN_DIR = PROJECT_ROOT / "index" / "reader-train"


def _log(line: str) -> None:
    click.echo(line, err=True)


@click.command("reader-data")
@click.argument("source", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=SQUAD_FILE,
              show_default=True)
def reader_data(source: Path, out: Path) -> None:
    """Convert SQuAD 2.0's dev pages (SOURCE: a copy of rajpurkar/SQuAD-explorer, or a
    folder of its explore/v2.0/dev pages) into the reader's training data."""
    from bot.reader.squad import convert

    converted = convert(source, log=_log)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text("".join(p.to_json() + "\n" for p in converted.paragraphs),
                   encoding="utf-8")
    tmp.replace(out)
    click.echo(f"wrote {out}: {len(converted.paragraphs)} paragraphs, {converted.questions} "
               f"questions ({converted.unanswerable} unanswerable; {converted.dropped} "
               "dropped: no answer found in the paragraph)")


@click.command("train-reader")
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False), default=SQUAD_FILE,
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=TRAIN_DIR,
              show_default=True, help="Checkpoints and the validation log (resumed if there).")
@click.option("--epochs", type=click.IntRange(1, 20), default=1, show_default=True)
@click.option("--seed", type=int, default=13, show_default=True)
@click.option("--export/--no-export", default=True, show_default=True,
              help="Export the trained reader into bot/reader/model/ when done.")
@click.pass_obj
def train_reader(settings: Settings, data: Path, out: Path, epochs: int, seed: int,
                 export: bool) -> None:
    """Fine-tune the reader from the shipped MiniLM weights (hours on 2 cores; resumable)."""
    from bot.encoding import Embedder, model_location
    from bot.reader import data as reader_data_module
    from bot.reader.examples import examples, sample
    from bot.reader.train import Config, train

    paragraphs = reader_data_module.load(data)
    training = [p for p in paragraphs if p.role == "train"]
    validation = [p for p in paragraphs if p.role == "validation"]
    if not training or not validation:
        raise BotError(f"{data} has no train or no validation articles")
    embedder = Embedder(settings.model, settings.backend, settings.model_cache)
    config = Config(epochs=epochs, seed=seed)
    train_examples = examples(training, embedder.encode)
    check = sample(examples(validation, embedder.encode), config.validation_questions)
    _log(f"{len(train_examples)} training pairs ({sum(e.label for e in train_examples)} "
         f"answering) from {len({p.article for p in training})} articles; "
         f"{len(check)} validation pairs")
    weights = train(train_examples, check, Path(model_location(settings.model)), out, config,
                    _log)
    click.echo(f"trained: {weights}")
    if export:
        from bot.reader.export import export_reader

        folder = export_reader(weights, Path(model_location(settings.model)), data, out,
                               log=_log, probe=[e.pair for e in check[:256]])
        click.echo(f"exported the reader into {folder}")
