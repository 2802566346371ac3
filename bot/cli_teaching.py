"""The operator's commands: what the bot could not answer (`report`), and teaching it
(`teach`, `taught`, `forget`, `export`, `import`). Thin, like ``bot.cli``: parse, call the
core (``bot.teaching.teacher``), print."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from bot.config import Settings
from bot.errors import BotError
from bot.teaching.teacher import Teacher, export_lines

CLOSEST = 3  # passages listed under each question in the report


@contextmanager
def _teacher(settings: Settings) -> Iterator[Teacher]:
    from bot.cli import open_answerer_for_cli
    from bot.store import open_store

    answerer = open_answerer_for_cli(settings)
    store = open_store(settings)
    try:
        yield Teacher(store, lambda: answerer, settings.teach_votes)
    finally:
        store.close()


@click.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.pass_obj
def report(settings: Settings, limit: int) -> None:
    """What the bot could not answer, answered tentatively, or answered and got 👎, most
    frequent first, each with its closest passages and their ids (to teach); and taught
    answers whose passages changed."""
    with _teacher(settings) as teacher:
        result = teacher.store.report(limit)
        answerer = teacher.answerer
        stale = [t for t, is_stale in teacher.taught() if is_stale]

    def closest(question: str) -> None:
        for e in answerer.closest(question, CLOSEST):
            click.echo(f"          {e.passage_id}  {e.citation}: "
                       f"{' '.join(e.parts()[1].split())[:90]}")

    unanswered: list[tuple[str, tuple[str, ...], int]] = [
        (q, (), n) for q, n in result.unanswered]
    sections = [
        ("Questions the article did not answer (none):", unanswered),
        ("Answered tentatively (passage shown):", result.tentative),
        ("Answers voted 👎 (passages shown):", result.downvoted),
    ]
    for title, rows in sections:
        click.echo(title)
        if not rows:
            click.echo("        (none)")
        for question, shown, count in rows:
            suffix = f"  [{', '.join(shown)}]" if shown else ""
            click.echo(f"  {count:4d}  {question}{suffix}")
            closest(question)
        click.echo()
    click.echo("Taught answers that no longer match the article (stale, not used):")
    for taught in stale or ():
        ids = ", ".join(p.passage_id for p in taught.passages)
        click.echo(f"        {taught.question}  [{ids}]")
    if not stale:
        click.echo("        (none)")
    click.echo('\nTeach one with: python -m bot teach "QUESTION" PASSAGE_ID …')


@click.command()
@click.argument("question")
@click.argument("passage_ids", nargs=-1, required=True)
@click.pass_obj
def teach(settings: Settings, question: str, passage_ids: tuple[str, ...]) -> None:
    """Teach QUESTION to be answered with these passages (ids from `report`)."""
    with _teacher(settings) as teacher:
        taught = teacher.teach(question, list(passage_ids))
    click.echo(f"taught: {taught.question} → {', '.join(passage_ids)}")


@click.command()
@click.pass_obj
def taught(settings: Settings) -> None:
    """List the taught answers (stale ones are not used)."""
    with _teacher(settings) as teacher:
        rows = teacher.taught()
    if not rows:
        click.echo("nothing taught yet")
    for t, stale in rows:
        flag = "  (stale: the passage changed or is gone)" if stale else ""
        passages = ", ".join(p.passage_id for p in t.passages)
        click.echo(f"{t.question}  → {passages}  [{t.source}, {t.created_at}]{flag}")


@click.command()
@click.argument("question")
@click.pass_obj
def forget(settings: Settings, question: str) -> None:
    """Forget a taught QUESTION."""
    with _teacher(settings) as teacher:
        if not teacher.forget(question):
            raise BotError(f"nothing taught for {question!r} (python -m bot taught lists them)")
    click.echo(f"forgotten: {question}")


@click.command("export")
@click.pass_obj
def export_command(settings: Settings) -> None:
    """Write the taught answers to standard output as JSON lines (a backup)."""
    from bot.store import open_store

    store = open_store(settings)
    try:
        for line in export_lines(store):
            click.echo(line)
    finally:
        store.close()


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.pass_obj
def import_command(settings: Settings, path: Path) -> None:
    """Read taught answers from PATH (JSON lines from `export`; - for standard input).
    Nothing is stored unless every line is valid."""
    try:
        text = (sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise BotError(f"cannot read {path}: {err}") from None
    with _teacher(settings) as teacher:
        imported = teacher.import_lines(text.splitlines())
    click.echo(f"imported {imported.stored} taught answer(s)")
    if imported.kept:
        click.echo(f"kept {len(imported.kept)} taught here that still answer from the current "
                   "index (the imported copies' passages are not in it): "
                   + "; ".join(imported.kept))
