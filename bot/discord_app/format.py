"""``Answer`` → Discord embeds, inside every Discord limit, with quoted text escaped."""

from __future__ import annotations

from typing import Any

import discord

from bot.answer import Answer, Excerpt
from bot.index import Manifest

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FIELDS_MAX = 25
FOOTER_MAX = 2048
EMBEDS_TOTAL_MAX = 6000
CHOICE_MAX = 100
# An operator's example question, as listed in /help and "not covered": long enough for any
# real question, short enough that five of them stay far inside the 4,096 description.
EXAMPLE_MAX = 300

COLOUR = discord.Colour.blurple()
UNSURE_COLOUR = discord.Colour.gold()  # a tentative answer looks different at a glance
UNSURE = "I'm not sure the article answers this. The closest passage is:"
TAUGHT = "🎓 A taught answer: an operator, or readers who agreed, chose this passage"
NO_MENTIONS = discord.AllowedMentions.none()


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters on a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit < 2:  # no room for a word: at most the ellipsis
        return "…" if limit == 1 else ""
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-—\\") + "…"


def escape(text: str) -> str:
    """Markdown and mentions made inert: quoted text and echoed questions show as typed."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def answer_embed(answer: Answer, examples: list[str], first_number: int = 1) -> discord.Embed:
    """The answer as an embed. It may show fewer excerpts than ``answer`` holds: trailing
    ones are dropped to stay within 6,000 characters (``shown``)."""
    embed = discord.Embed(title=truncate(escape(answer.question), TITLE_MAX),
                          colour=UNSURE_COLOUR if answer.tentative else COLOUR)
    if not answer.excerpts:
        embed.description = not_covered(examples)
        return embed
    if answer.tentative and first_number == 1:
        embed.description = f"🤔 {UNSURE}"
    for number, excerpt in enumerate(answer.excerpts[:FIELDS_MAX], start=first_number):
        embed.add_field(name=truncate(f"{number}. {excerpt.citation}", FIELD_NAME_MAX),
                        value=excerpt_value(excerpt), inline=False)
    titles = sorted({e.title for e in answer.excerpts})
    footer = "From “" + "”, “".join(titles) + "”"
    if answer.taught:
        footer = f"{TAUGHT} · {footer}"
    embed.set_footer(text=truncate(footer, FOOTER_MAX))
    return fit(embed)


def excerpt_value(excerpt: Excerpt, limit: int = FIELD_VALUE_MAX) -> str:
    """A quote with the answering sentence in bold and a link to the source when known."""
    before, sentence, after = (escape(" ".join(p.split())) for p in excerpt.parts())
    link = f"\n[source](<{excerpt.url}>)" if excerpt.url else ""
    room = limit - len(link) - 6  # "> ", "**" twice
    if len(sentence) > room:
        return f"> **{truncate(sentence, room)}**{link}"
    room -= len(sentence)
    head = _tail(before, room // 2 if after else room)
    tail = truncate(after, room - len(head) - 2) if after else ""
    quote = " ".join(p for p in (head, f"**{sentence}**", tail) if p)
    return f"> {quote}{link}"


def shown(answer: Answer, embed: discord.Embed) -> int:
    """How many of ``answer``'s excerpts ``embed`` shows (paging continues after them)."""
    return len(embed.fields) if answer.excerpts else 0


def answer_text(answer: Answer, examples: list[str], first_number: int = 1,
                limit: int = CONTENT_MAX) -> tuple[str, int]:
    """The answer as plain message text, for channels where the bot may not embed: the
    question, then as many excerpts as fit in ``limit`` characters (2,000, less room for a
    mention); and how many it shows."""
    head = f"**{truncate(escape(answer.question), TITLE_MAX)}**"
    if answer.tentative and first_number == 1:
        head += f"\n🤔 {UNSURE}"
    if not answer.excerpts:
        return truncate(f"{head}\n{not_covered(examples)}", limit), 0
    if answer.taught:
        head += f"\n{TAUGHT}."
    text, count = head, 0
    for number, excerpt in enumerate(answer.excerpts, start=first_number):
        block = f"\n\n{number}. {excerpt.citation}\n" + excerpt_value(excerpt, 600)
        if len(text) + len(block) > limit:
            break
        text, count = text + block, count + 1
    return text, count


def not_covered(examples: list[str]) -> str:
    lines = ["The article doesn't cover that."]
    if examples:
        lines.append("Questions it can answer:")
        lines += [f"• {escape(truncate(q, EXAMPLE_MAX))}" for q in examples[:3]]
    return truncate("\n".join(lines), DESCRIPTION_MAX)


def about_embed(manifest: Manifest, shards: str = "", *, taught: int = 0, stale: int = 0,
                votes_needed: int = 3) -> discord.Embed:
    """``taught``: how many taught answers there are; ``stale``: how many of them are not
    used because their passage changed. The documents are listed in the description, as
    many as fit in ``ABOUT_LIST_MAX`` characters, then how many more there are: one field
    each would pass Discord's 25 fields from 23 documents on."""
    documents = manifest.documents
    embed = discord.Embed(title="About this bot", colour=COLOUR, description=(
        f"I answer questions about the {_count(len(documents), 'article')} below by quoting "
        "the passages that answer them.\n\n" + document_list(manifest)))
    model = manifest.model.removeprefix("bundled:")
    embed.add_field(name="Index", value=truncate(
        f"{model} · {_count(len(documents), 'document')} · {manifest.passages} passages · "
        f"built {manifest.built_at}", FIELD_VALUE_MAX), inline=False)
    lessons = f"{taught} taught answer{'s' * (taught != 1)}"
    if stale:
        lessons += f" ({stale} stale: the passage changed, so not used)"
    embed.add_field(name="Taught", value=lessons + ". Operators teach with /teach or "
                    f"**Teach this**; 👍 from {votes_needed} different people teach an "
                    "answer too.", inline=False)
    if shards:
        embed.add_field(name="Shards", value=truncate(shards, FIELD_VALUE_MAX), inline=False)
    return fit(embed)


# The document list's share of /about: with the other fields (each at most 1,024) and the
# title, the embed stays inside Discord's 6,000 characters, so ``fit`` never drops them.
ABOUT_LIST_MAX = 3000


def document_list(manifest: Manifest, limit: int = ABOUT_LIST_MAX) -> str:
    """One line per document (title, passages, file, source link), as many as fit in
    ``limit`` characters, then "…and N more documents" for the rest."""
    documents = manifest.documents
    lines: list[str] = []
    for i, doc in enumerate(documents):
        source = f" · [source](<{doc.url}>)" if doc.url else ""
        line = (f"• **{truncate(escape(doc.title), 200)}** · {_count(doc.passages, 'passage')} · "
                f"`{truncate(doc.file, 100)}`{source}")
        after = len(documents) - i - 1  # room is kept for saying how many are left out
        reserve = len(f"\n…and {after} more documents") if after else 0
        if len("\n".join([*lines, line])) + reserve > limit:
            lines.append(f"…and {_count(len(documents) - i, 'more document')}")
            break
        lines.append(line)
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def shard_summary(bot: discord.Client, interaction: discord.Interaction[Any]) -> str:
    """Which shards this process runs ("shards 0-3 of 8"), and the one this server is on;
    empty for an unsharded bot."""
    if not isinstance(bot, discord.AutoShardedClient) or not bot.shard_count:
        return ""
    ids = sorted(bot.shard_ids if bot.shard_ids is not None else range(bot.shard_count))
    text = f"This process runs {_ranges(ids)} of {bot.shard_count}."
    if interaction.guild is not None and interaction.guild.shard_id is not None:
        text += f" This server is on shard {interaction.guild.shard_id}."
    return text


def _ranges(ids: list[int]) -> str:
    """[0, 1, 2, 3, 6] → "shards 0-3, 6"; [2] → "shard 2"."""
    runs: list[list[int]] = []
    for i in ids:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    parts = [f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs]
    return ("shard " if len(ids) == 1 else "shards ") + ", ".join(parts)


def help_embed(examples: list[str]) -> discord.Embed:
    lines = [
        "**/ask** `question` — answered with quotes from the article, each cited "
        "(¶ paragraph · title), the answering sentence in bold. `private: True` shows the "
        "answer to you only.",
        "**Ask the article** — right-click (or long-press) a message → Apps.",
        "**Mention me** with a question, or reply to an answer I posted that way (with "
        "@mention on). In a DM with me, just write the question.",
        "**Follow up in thread** under an answer opens a thread where follow-up questions "
        "(“and how much of it came from China?”) are read with the earlier ones.",
        "👍 / 👎 tell the operator which answers help; an answer enough people 👍 is "
        "remembered for the next time it is asked.",
        "**/teach**, and **Teach this** under an unsure answer, let members with Manage "
        "Server teach me the passage that answers a question.",
    ]
    if examples:
        lines += ["", "Try:"] + [f"• {escape(truncate(q, EXAMPLE_MAX))}" for q in examples[:5]]
    return discord.Embed(title="How to ask", description=truncate("\n".join(lines),
                                                                  DESCRIPTION_MAX),
                         colour=COLOUR)


def fit(embed: discord.Embed) -> discord.Embed:
    """Drop trailing fields until the embed is within Discord's 6,000-character total."""
    while len(embed) > EMBEDS_TOTAL_MAX and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    return embed


def suggestions(typed: str, examples: list[str], limit: int = 25) -> list[str]:
    """Autocomplete choices: what was typed (so it can be sent as is), then the example
    questions sharing a word with it (all of them when nothing is typed yet). Only whole
    questions: a choice's value is what gets asked, and Discord takes at most 100
    characters, so a longer question is not offered (typed, it is sent as it is)."""
    typed = " ".join(typed.split())
    words = {w for w in typed.lower().split() if len(w) > 2}
    matches = [q for q in examples if not words or words & set(q.lower().split())]
    choices = ([typed] if typed else []) + matches
    return [q for q in dict.fromkeys(choices) if len(q) <= CHOICE_MAX][:limit]


def _tail(text: str, limit: int) -> str:
    """The end of ``text`` within ``limit`` characters, cut on a word boundary."""
    if len(text) <= limit:
        return text
    if limit < 2:
        return ""
    cut = text[len(text) - limit + 1 :]
    space = cut.find(" ")
    if 0 <= space < limit // 2:
        cut = cut[space + 1 :]
    return "…" + cut.lstrip()
