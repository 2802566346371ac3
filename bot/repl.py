"""The interactive loop: history, line editing, a few colon commands."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click

from bot.answer import Answer, Answerer
from bot.config import Settings
from bot.errors import InvalidQuestion
from bot.render import render_answer

HELP = """Type a question about the article and press Enter.
  :sources   the documents indexed, with their passage counts
  :more      more excerpts for the last question
  :help      this text
  :quit      leave (Ctrl-D and Ctrl-C work too)"""


def run_repl(answerer: Answerer, settings: Settings) -> None:
    titles = ", ".join(f"“{d.title}”" for d in answerer.index.manifest.documents)
    click.echo(f"Ask about {titles}. :help for commands, Ctrl-D to leave.")
    last: Answer | None = None
    shown = 0
    for line in _lines(settings):
        command = line.strip()
        if not command:
            continue
        if command in (":quit", ":q", ":exit"):
            return
        if command in (":help", ":h", "?"):
            click.echo(HELP)
        elif command == ":sources":
            click.echo(_sources(answerer))
        elif command == ":more":
            if last is None:
                click.echo("Ask a question first.")
                continue
            more = answerer.ask(last.question, offset=shown)
            if more.excerpts:
                click.echo(render_answer(more, _bold(), first_number=shown + 1))
            else:
                click.echo("No more excerpts.")
            shown += len(more.excerpts)
        elif command.startswith(":"):
            click.echo(f"unknown command {command}; :help lists them")
        else:
            try:
                last = answerer.ask(line)
            except InvalidQuestion as err:
                click.echo(f"error: {err}")
                continue
            shown = len(last.excerpts)
            click.echo(render_answer(last, _bold()))
        click.echo()


def _sources(answerer: Answerer) -> str:
    manifest = answerer.index.manifest
    rows = [f"  {d.title} ({d.file}): {d.passages} passages" + (f" <{d.url}>" if d.url else "")
            for d in manifest.documents]
    return "\n".join([*rows, f"  index built {manifest.built_at} with {manifest.model}"])


def _bold() -> bool:
    return sys.stdout.isatty()


def _lines(settings: Settings) -> Iterator[str]:
    """Lines typed at a prompt with history and editing; plain stdin lines when piped."""
    if not sys.stdin.isatty():
        for line in sys.stdin:
            yield line.rstrip("\n")
        return
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    session: PromptSession[str] = PromptSession(
        history=FileHistory(str(settings.data_dir / "repl_history"))
    )
    while True:
        try:
            yield session.prompt("? ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
