"""The REPL fed on standard input, as a person would type into it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main


def test_repl_session(cli_env: Path) -> None:
    typed = "\n".join([":help", ":sources", "What is Lasso?",
                       ":more", "", "   ", ":bogus", "What is the best pizza topping?",
                       ":quit", "never asked"]) + "\n"
    result = CliRunner().invoke(main, ["repl"], input=typed)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert ":sources" in out and ":quit" in out  # the help text
    assert "tiktok-revenue-over-7-billion.txt): 10 passages" in out
    assert "**They’re now the ones who have to play copycat" in out
    assert "unknown command :bogus" in out
    assert "The article doesn't say." in out
    assert "never asked" not in out


def test_repl_ends_cleanly_at_end_of_input(cli_env: Path) -> None:
    result = CliRunner().invoke(main, ["repl"], input="What is Lasso?\n")
    assert result.exit_code == 0 and "Lasso" in result.stdout
    assert "Traceback" not in result.output


def test_repl_reports_bad_questions_and_goes_on(cli_env: Path) -> None:
    result = CliRunner().invoke(main, ["repl"], input="?!?\n" + "y" * 600 + "\nWhat is Lasso?\n")
    assert result.exit_code == 0
    assert "no words" in result.stdout and "limit is 500" in result.stdout
    assert "Lasso" in result.stdout
