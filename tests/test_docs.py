"""The documentation holds together: every relative link in README.md and docs/ reaches a file
(and a heading, for #anchors), every page is listed in docs/index.md, and the configuration
page is exactly what tools/config_docs.py makes of bot/config.py, so it names every setting."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from pydantic import Field

from bot.config import PROJECT_ROOT, Settings
from tools.config_docs import PAGE, render

PAGES = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def prose(text: str) -> str:
    """Markdown without fenced blocks, and inline code without the brackets that could pass
    for a link (``[start:end]`` is code; a link's text may be code)."""
    text = FENCE.sub("", text)
    return CODE.sub(lambda m: re.sub(r"[\[\]()]", " ", m[2]), text)


def anchors(path: Path) -> set[str]:
    """The #anchors GitHub gives a page's headings: lower case, punctuation but - and _
    dropped, spaces to hyphens, -1, -2… after repeats."""
    seen: dict[str, int] = {}
    for heading in HEADING.findall(prose(path.read_text(encoding="utf-8"))):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text stays
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        if seen[slug]:
            seen[f"{slug}-{seen[slug]}"] = 0
    return set(seen)


def broken_links(path: Path) -> list[str]:
    """Each relative link in ``path`` whose file, or heading, does not exist."""
    broken = []
    for target in LINK.findall(prose(path.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue  # https:, mailto:: not this repository's to check
        file, _, anchor = unquote(target).partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    return broken


def env_names() -> set[str]:
    """Every setting's environment variable, read from Settings itself (not the generator)."""
    prefix = Settings.model_config.get("env_prefix", "")
    return {str(f.validation_alias or f"{prefix}{name}".upper())
            for name, f in Settings.model_fields.items()}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    assert broken_links(page) == []


def test_link_check_can_fail(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Some heading\n\n## Some heading\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("[ok](other.md#some-heading) [ok](other.md#some-heading-1) "
                    "![ok](other.md) `[not a link](nowhere.md)` [web](https://example.org)\n"
                    "```\n[not a link](nowhere.md)\n```\n"
                    "[gone](missing.md) [no heading](other.md#nothing) [here](#nothing)\n",
                    encoding="utf-8")
    assert [b.split(":")[0] for b in broken_links(page)] == [
        "missing.md", "other.md#nothing", "#nothing"]


def test_every_page_is_listed() -> None:
    index = (PROJECT_ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    listed = set(LINK.findall(prose(index)))
    pages = {p.name for p in PAGES if p.parent.name == "docs" and p.name != "index.md"}
    assert pages - listed == set()
    assert "docs/index.md" in LINK.findall(prose(PAGES[0].read_text(encoding="utf-8")))


def test_configuration_page_is_generated() -> None:
    """A setting added, renamed or re-described without `make docs` fails here."""
    assert PAGE.read_text(encoding="utf-8") == render(), \
        "docs/configuration.md is stale: run python -m tools.config_docs (make docs)"


def test_configuration_page_names_every_setting() -> None:
    headings = set(HEADING.findall(PAGE.read_text(encoding="utf-8")))
    assert {f"`{name}`" for name in env_names()} <= headings


def test_new_setting_reaches_the_page() -> None:
    class More(Settings):
        metrics_port: int = Field(0, ge=0, le=65535, description="Where metrics are served.")

    page = render(More)
    assert "| [`BOT_METRICS_PORT`](#bot_metrics_port) | integer | `0` | ≥ 0, ≤ 65535 |" in page
    assert page != PAGE.read_text(encoding="utf-8")  # so the committed page would be stale


def test_undescribed_setting_is_refused() -> None:
    class Bare(Settings):
        metrics_port: int = 0

    with pytest.raises(ValueError, match=r"BOT_METRICS_PORT \(metrics_port\) has no description"):
        render(Bare)


def test_env_example_names_every_setting() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?[ \t]*([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    assert named == env_names()
