"""The command line through Click's runner, against the real index and model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from tests.conftest import HOLDOUT_SET

EXCERPT_KEYS = {"text", "doc", "title", "paragraph", "start", "end", "score", "highlight",
                "answer", "answer_text"}


def run(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_json_shape(cli_env: Path) -> None:
    result = run("ask", "--json", "What is Lasso?")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert {"question", "status", "answered", "confidence", "excerpts"} <= answer.keys()
    assert answer["status"] == "answered" and answer["answered"] is True
    assert answer["excerpts"] and 0.0 < answer["confidence"] <= 1.0
    for excerpt in answer["excerpts"]:
        assert excerpt.keys() >= EXCERPT_KEYS
        assert isinstance(excerpt["paragraph"], int) and isinstance(excerpt["score"], float)
        s, e = excerpt["highlight"]
        assert excerpt["start"] <= s < e <= excerpt["end"]
        assert excerpt["end"] - excerpt["start"] == len(excerpt["text"])
    first = answer["excerpts"][0]
    assert "Lasso" in first["text"]
    a, b = first["answer"]  # the reader's span: inside the marked sentence, and its text
    assert first["highlight"][0] <= a < b <= first["highlight"][1]
    assert first["answer_text"] == first["text"][a - first["start"] : b - first["start"]]


def test_text_output_cites_and_marks(cli_env: Path) -> None:
    result = run("ask", "Who published the leaked audio?")
    assert result.exit_code == 0, result.output
    assert "¶1 · TikTok’s revenue is apparently over $7 billion" in result.stdout
    assert "**Last week, audio clips" in result.stdout


def test_abstention_is_plain(cli_env: Path) -> None:
    result = run("ask", "--json", "What is the best pizza topping?")
    answer = json.loads(result.stdout)
    assert answer.pop("confidence") < 0.5
    assert answer == {"question": "What is the best pizza topping?", "status": "none",
                      "answered": False, "taught": False, "excerpts": []}
    assert run("ask", "What is the best pizza topping?").stdout.strip().endswith(
        "The article doesn't say.")


@pytest.mark.any_outcome("what every tentative answer looks like, whichever questions are")
def test_tentative_answers_quote_one_passage(cli_env: Path) -> None:
    questions = "\n".join(
        json.loads(line)["q"] for line in HOLDOUT_SET.read_text().splitlines())
    rows = [json.loads(line) for line in
            run("ask", "--json", stdin=questions.encode()).stdout.splitlines()]
    unsure = [r for r in rows if r["status"] == "tentative"]
    assert unsure and all(not r["answered"] and len(r["excerpts"]) == 1 for r in unsure)


def test_a_tentative_answer_says_it_is_unsure_first(cli_env: Path) -> None:
    # tentative with a wide margin (the guard, tests/conftest.py): its confidence is far
    # from both thresholds
    text = run("ask", "Is TikTok popular with teenagers in the US?").stdout
    assert "I'm not sure the article answers this" in text and "¶" in text


def test_stdin_one_json_line_per_question(cli_env: Path) -> None:
    questions = ["What is Lasso?", "", "Who published the leaked audio?",
                 "What is the weather in Paris?"]
    result = run("ask", "--json", stdin="\n".join(questions).encode() + b"\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == [q for q in questions if q]
    assert [r["status"] for r in rows] == ["answered", "answered", "none"]


@pytest.mark.parametrize("question, expected", [
    ("", "empty"), ("   ", "empty"), ("?" * 3, "no words"), ("a" * 501, "limit is 500"),
    ("\udcff\udcfe what is Lasso?", "not valid UTF-8"),  # bytes \xff\xfe in argv
    ("\x1b[31m?\x1b[0m", "no words"),  # a terminal's colour codes are not words
])
def test_bad_question(cli_env: Path, question: str, expected: str) -> None:
    assert expected in _one_line_error(run("ask", question))


@pytest.mark.parametrize("data, expected", [
    (b"What is Lasso?\n\xff\xfe\xfa\n", "not valid UTF-8"),
    (b"\x00\x01\x02\x03binary", "binary"),
])
def test_bad_stdin(cli_env: Path, data: bytes, expected: str) -> None:
    assert expected in _one_line_error(run("ask", "--json", stdin=data))


def test_too_long_line_in_stdin_is_reported_and_the_rest_answered(cli_env: Path) -> None:
    result = run("ask", "--json", stdin=b"What is Lasso?\n" + b"x" * 600 + b"\n")
    assert result.exit_code == 2
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["answered"] is True and "limit" in rows[1]["error"]


def test_empty_seeds_folder(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                            tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("BOT_SEEDS_DIR", str(tmp_path / "empty"))
    assert "no article to index" in _one_line_error(run("ask", "What is Lasso?"))


def test_seeds_folder_that_is_a_file(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    (tmp_path / "seeds.txt").write_text("an article")
    monkeypatch.setenv("BOT_SEEDS_DIR", str(tmp_path / "seeds.txt"))
    assert "seeds.txt is a file" in _one_line_error(run("ask", "What is Lasso?"))


def test_unreadable_seed(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                         tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "broken.txt").write_bytes(b"caf\xe9\n")
    monkeypatch.setenv("BOT_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("BOT_INDEX_DIR", str(tmp_path / "index"))
    result = run("ask", "What is Lasso?")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "broken.txt" in result.stderr


def test_index_command_names_skipped_seeds(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path, seeds_dir: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for path in seeds_dir.iterdir():
        (seeds / path.name).write_bytes(path.read_bytes())
    (seeds / "broken.md").write_bytes(b"\xff\xfe")
    monkeypatch.setenv("BOT_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("BOT_INDEX_DIR", str(tmp_path / "index"))
    result = run("index")
    assert result.exit_code == 2
    assert "broken.md" in result.stderr and "indexed 10 passages" in result.stdout
    assert run("ask", "--json", "What is Lasso?").exit_code == 0


@pytest.mark.parametrize("variable, value, expected", [
    ("BOT_TOP_K", "50", "bad setting BOT_TOP_K='50': input should be less than"),
    ("BOT_TOP_K", "many", "bad setting BOT_TOP_K='many': input should be a valid integer"),
    ("DISCORD_SHARDS", "abc", "bad setting DISCORD_SHARDS='abc'"),
    ("BOT_LOG_LEVEL", "loud", "bad setting BOT_LOG_LEVEL='LOUD': input should be 'DEBUG'"),
])
def test_bad_setting_is_named_in_one_line(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                          variable: str, value: str, expected: str) -> None:
    monkeypatch.setenv(variable, value)
    assert expected in _one_line_error(run("ask", "What is Lasso?"))


@pytest.mark.parametrize("line", ["[1, 2]", '"a string"', '{"q": null}', '{"answer": []}'])
def test_fit_refuses_a_bank_line_that_is_not_a_question(cli_env: Path, tmp_path: Path,
                                                        line: str) -> None:
    bank = tmp_path / "bank.jsonl"
    bank.write_text('{"q": "What is Lasso?", "split": "fit"}\n' + line + "\n")
    error = _one_line_error(run("fit", "--bank", str(bank), "--out", str(tmp_path / "m.json")))
    assert "bank.jsonl line 2 is not a" in error


def test_fit_refuses_an_unwritable_model_path_before_fitting(cli_env: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "missing" / "model.json"
    assert f"no folder {out.parent}" in _one_line_error(run("fit", "--out", str(out)))
