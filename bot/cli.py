"""`python -m bot …`: the command line. Thin: parse, call the core, render; domain errors
become one line on stderr and exit code 2."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from bot.answer import Answer, Answerer, clean_question
from bot.answerability.model import AnswerModel
from bot.config import PROJECT_ROOT, Settings, mask_password
from bot.errors import BotError, InvalidQuestion
from bot.index import LoadReport
from bot.render import render_answer

EXIT_BAD_INPUT = 2
STDIN_BATCH = 32


class BotGroup(click.Group):
    """Turns domain errors into one line and exit code 2, Ctrl-C into a quiet exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BotError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            click.echo("", err=True)
            ctx.exit(130)


@click.group(cls=BotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Answer questions about the articles in seeds/ by quoting the passages that answer them."""
    try:
        settings = Settings()
    except ValidationError as err:  # pydantic reports every bad setting; show the first
        raise BotError(_setting_problem(err)) from None
    except ValueError as err:
        raise BotError(f"bad setting: {str(err).splitlines()[0]}") from None
    level = settings.log_level
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.root.handlers:  # libraries that set their own levels, too
        handler.setLevel(level)
    ctx.obj = settings


@main.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per question.")
@click.option("-k", "--top", type=click.IntRange(1, 10), default=None,
              help="How many excerpts to show (default: BOT_TOP_K).")
@click.pass_obj
def ask(settings: Settings, question: str | None, as_json: bool, top: int | None) -> None:
    """Answer QUESTION, or each line of standard input when QUESTION is left out."""
    if question is None and sys.stdin.isatty():
        raise BotError('give a question, e.g. ask "How much revenue did TikTok make?", '
                       "or pipe questions on standard input, one per line")
    if question is not None:
        clean_question(question, settings.max_question_chars)  # fail before loading anything
    answerer = _open(settings)
    show = _json_line if as_json else _text_block
    if question is not None:
        click.echo(show(answerer.ask(question, limit=top)))
        return
    failed = False
    for batch in _stdin_batches():
        problems: dict[int, str] = {}
        for position, (number, line) in enumerate(batch):
            try:
                clean_question(line, settings.max_question_chars)
            except InvalidQuestion as err:
                problems[position] = str(err)
                click.echo(f"error: stdin line {number}: {err}", err=True)
        answers = iter(answerer.ask_many(
            [line for i, (_, line) in enumerate(batch) if i not in problems], limit=top))
        for position, (_, line) in enumerate(batch):
            if position in problems:
                failed = True
                if as_json:
                    click.echo(json.dumps({"question": line[:200], "status": "none",
                                           "answered": False, "excerpts": [],
                                           "error": problems[position]}, ensure_ascii=False))
            else:
                click.echo(show(next(answers)))
    if failed:
        sys.exit(EXIT_BAD_INPUT)


@main.command()
@click.pass_obj
def repl(settings: Settings) -> None:
    """Ask questions interactively (history, line editing, :help)."""
    from bot.repl import run_repl

    run_repl(_open(settings), settings)


@main.command("index")
@click.pass_obj
def index_command(settings: Settings) -> None:
    """Rebuild the index from seeds/ now."""
    from bot.service import open_answerer

    started = time.perf_counter()
    answerer, report = open_answerer(settings, progress=_progress_bar(), rebuild=True)
    _report_problems(report)
    manifest = answerer.index.manifest
    click.echo(
        f"indexed {manifest.passages} passages from {len(manifest.documents)} document(s) "
        f"into {answerer.index.folder or 'memory'} in {time.perf_counter() - started:.1f} s"
    )
    if report.problems:
        sys.exit(EXIT_BAD_INPUT)


SHARED_DEV = PROJECT_ROOT.parent / "shared/eval/dev.jsonl"  # beside the checkout, if there
DEFAULT_EVAL = SHARED_DEV if SHARED_DEV.is_file() else PROJECT_ROOT / "bench/extra.jsonl"
BANK = PROJECT_ROOT / "bench/bank.jsonl"
CHECK_SETS = (PROJECT_ROOT / "bench/holdout.jsonl", SHARED_DEV,
              PROJECT_ROOT / "bench/extra.jsonl")


@main.command()
@click.option("--bank", type=click.Path(path_type=Path, dir_okay=False), default=BANK,
              show_default=True, help="The question bank; its \"fit\" part is fitted on.")
@click.option("--check", type=click.Path(path_type=Path, dir_okay=False), multiple=True,
              default=CHECK_SETS, show_default=True,
              help="Question sets to report on besides the bank's validation part.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write the model (default: the one the bot uses).")
@click.pass_obj
def fit(settings: Settings, bank: Path, check: tuple[Path, ...], out: Path | None) -> None:
    """Fit the answerability model on the calibration articles and the bank's fitting
    part; report it on the validation articles and the question sets; save it."""
    from dataclasses import replace

    from bot.answerability.fit import teaching_effect
    from bot.answerability.model import MODEL_FILE, AnswerModel
    from bot.answerability.refit import cached_reader, measure, refit, tiktok_sets
    from bot.evaluate import load_questions, split

    questions = load_questions(bank)
    if not split(questions, "fit"):
        raise BotError(f"{bank} has no questions with \"split\": \"fit\"")
    target = out or MODEL_FILE
    if not target.parent.is_dir():  # before the fit, not after it
        raise BotError(f"cannot write the model to {target}: no folder {target.parent}")
    answerer, cache = cached_reader(_open(settings, AnswerModel.blank()), settings)
    try:
        model = refit(answerer, settings, log=lambda line: click.echo(line, err=True),
                      bank=bank)
        answerer = replace(answerer, model=model)
        click.echo(f"reads {model.read} sentences a question; thresholds: answered ≥ "
                   f"{model.answered_at:.2f}, tentative ≥ {model.tentative_at:.2f}, on topic "
                   f"≥ {model.topic_at:.3f}, taught ≥ {model.taught_at:.3f}")
        results = measure(answerer, settings, model, tiktok_sets(bank, check),
                          log=lambda line: click.echo(line, err=True))
    finally:
        cache.save()
    click.echo(figures_table(model.notes["in_sample"], results))
    model.notes["validation"] = {**results["articles"], **results["sets"]}
    model.notes["teaching"] = teaching_effect(answerer, split(questions, "fit"),
                                              split(questions, "val"))
    try:
        target.write_text(model.to_json(), encoding="utf-8")
    except OSError as err:
        raise BotError(f"cannot write the model to {target}: {err.strerror}") from None
    click.echo(f"wrote {target}")


def figures_table(in_sample: dict[str, Any], results: dict[str, Any]) -> str:
    """The fitting and measured figures, a row per set."""
    lines = ["set                         on top  right+conf  ranked 1st  unans.conf  "
             "unans.tent  off-topic quoted"]
    rows = [(f"{name} (fitted on)", f) for name, f in in_sample.items()]
    rows += [(f"{name} (validation)", f) for name, f in results["articles"].items()]
    rows += list(results["sets"].items())
    for name, f in rows:
        lines.append(f"{name[:26]:26}  {f['right_on_top']:6.2f}  {f['right_confident']:10.2f}  "
                     f"{f['ranked_first']:10.2f}  {f['unanswerable_confident']:10.2f}  "
                     f"{f['unanswerable_tentative']:10.2f}  {f['offtopic_quoted']:>3} of "
                     f"{f['offtopic']}")
    return "\n".join(lines)


@main.command("discord")
@click.pass_obj
def discord_command(settings: Settings) -> None:
    """Run the Discord bot (reads DISCORD_TOKEN and the other settings from .env)."""
    from bot.discord_app.run import run_discord

    run_discord(settings)


@main.command()
@click.option("--eval", "eval_path", type=click.Path(path_type=Path, dir_okay=False),
              default=DEFAULT_EVAL, show_default=True, help="JSONL question set.")
@click.option("--sizes", default="10000,100000,1000000", show_default=True,
              help="Synthetic corpus sizes for the scale curve (comma-separated).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              default=PROJECT_ROOT / "bench/results", show_default=True)
@click.pass_obj
def bench(settings: Settings, eval_path: Path, sizes: str, out: Path) -> None:
    """Measure quality and speed; write bench/results/latest.json and latest.png."""
    from bot.bench import run, table
    from bot.evaluate import load_questions

    try:
        counts = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise BotError(f"--sizes takes numbers like 10000,100000, not {sizes!r}") from None
    results = run(settings, load_questions(eval_path), out, counts,
                  log=lambda line: click.echo(line, err=True))
    click.echo(table(results))
    click.echo(f"\nwrote {out / 'latest.json'} and {out / 'latest.png'}")


def _setting_problem(err: ValidationError) -> str:
    """'bad setting BOT_TOP_K='50': input should be less than or equal to 10'."""
    first = err.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    # A field read under an alias (DISCORD_TOKEN) is reported by that name, the others by
    # their prefixed one.
    prefix = Settings.model_config.get("env_prefix", "")
    name = f"{prefix}{field}" if field in Settings.model_fields else field
    message = first["msg"][:1].lower() + first["msg"][1:]
    shown = mask_password(repr(first.get("input")))  # a database URL may hold one
    return f"bad setting {name.upper()}={shown}: {message}"


def open_answerer_for_cli(settings: Settings, model: AnswerModel | None = None) -> Answerer:
    """The answerer, built with a progress bar if the index must be (re)built, answering
    from the taught answers in the database when there is one."""
    from bot.service import open_answerer, with_taught

    answerer, report = open_answerer(settings, progress=_progress_bar(), model=model)
    _report_problems(report)
    return with_taught(answerer, settings) if model is None else answerer


_open = open_answerer_for_cli


def _report_problems(report: LoadReport) -> None:
    for problem in report.problems:
        click.echo(f"warning: {problem}", err=True)


def _progress_bar() -> Callable[[int, int], None]:
    """Shows embedding progress on stderr while an index is built (tqdm is imported only
    then: most starts build nothing)."""
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, desc="indexing", unit="text", file=sys.stderr,
                       leave=False, disable=None)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _stdin_batches() -> Iterator[list[tuple[int, str]]]:
    """Non-blank stdin lines as (line number, text), in batches; binary or non-UTF-8 input
    stops the run with one line."""
    batch: list[tuple[int, str]] = []
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        if b"\x00" in raw:
            raise BotError(f"stdin line {number} is binary data, not text")
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise BotError(f"stdin line {number} is not valid UTF-8 text") from None
        if line.strip():
            batch.append((number, line))
        if len(batch) == STDIN_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _json_line(answer: Answer) -> str:
    return json.dumps(answer.to_dict(), ensure_ascii=False)


def _text_block(answer: Answer) -> str:
    return f"Q: {answer.question}\n\n{render_answer(answer, bold=sys.stdout.isatty())}\n"


def _register_teaching() -> None:
    from bot.cli_reader import reader_data, train_reader
    from bot.cli_teaching import (
        export_command,
        forget,
        import_command,
        report,
        taught,
        teach,
    )

    for command in (report, teach, taught, forget, export_command, import_command,
                    reader_data, train_reader):
        main.add_command(command)


_register_teaching()
