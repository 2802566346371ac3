"""Teaching from Discord, for members with Manage Server (``bot.teaching.teacher`` does the work).

**Teach this**, under a tentative or unanswered answer, shows the operator privately the
passages closest to the question, in a select; choosing one teaches the question → passage.
``/teach`` does the same from a command: its ``question`` is suggested from the questions
the bot could not answer (or only tentatively), its ``passage`` from the passages closest to
that question, or those holding the words typed. Permissions are checked here, on the
server side, not only by Discord's default permissions (a server can change those)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import discord
from discord import app_commands

from bot.discord_app.format import CHOICE_MAX, CONTENT_MAX, NO_MENTIONS, escape, truncate
from bot.discord_app.protocols import QA
from bot.discord_app.respond import defer
from bot.discord_app.views import teach_view
from bot.errors import BotError
from bot.teaching.teacher import PassageChoice, Suggestion

logger = logging.getLogger(__name__)
T = TypeVar("T")

ONLY_OPERATORS = "Only members with the Manage Server permission can teach me answers."
UNKNOWN_ANSWER = "that answer is no longer known; ask the question again"
PICK_FROM = 5  # passages offered under "Teach this"
QUOTE_MAX = 280  # characters of each offered passage quoted above the select
STATUS = {"none": "unanswered", "tentative": "unsure"}
# How long an autocomplete waits for the store or the index before answering with fewer
# choices: well inside Discord's 3 s (receiving-and-responding.mdx, Responding to an
# Interaction), leaving room for the trip there and back.
LOOKUP_SECONDS = 2.0


def is_operator(interaction: discord.Interaction[Any]) -> bool:
    """Manage Server, as Discord computed it for the member in this channel. In a DM
    nobody is one: teaching is for a server's operators."""
    return interaction.guild_id is not None and interaction.permissions.manage_guild


def check_operator(interaction: discord.Interaction[Any]) -> None:
    if not is_operator(interaction):
        raise app_commands.CheckFailure(ONLY_OPERATORS)


# --- "Teach this" and its select ------------------------------------------------------------

async def offer(cog: QA, interaction: discord.Interaction[Any], answer_id: str) -> None:
    """The operator sees, privately, the closest passages to the answer's question."""
    check_operator(interaction)  # before acknowledging: a refusal is a private line at once
    await defer(interaction, private=True)  # then the store and the model, however slow
    stored = await asyncio.to_thread(cog.service.store.answer, answer_id)
    if stored is None:
        raise BotError(UNKNOWN_ANSWER)
    choices = await asyncio.to_thread(cog.service.teacher.closest_passages, stored.question,
                                      PICK_FROM)
    if not choices:
        raise BotError("no passage of the article comes close to this question")
    await interaction.edit_original_response(content=offer_text(stored.question, choices),
                                             view=teach_view(answer_id, choices),
                                             allowed_mentions=NO_MENTIONS)


async def choose(cog: QA, interaction: discord.Interaction[Any], answer_id: str,
                 values: Sequence[str]) -> None:
    """The operator picked a passage: teach it, and say so in place of the select (a
    problem found after acknowledging takes the select's place too: it is the operator's
    private message)."""
    check_operator(interaction)
    if not values:
        raise BotError("pick the passage that answers the question")
    await interaction.response.defer()  # edits the select's message; no loading message
    stored = await asyncio.to_thread(cog.service.store.answer, answer_id)
    if stored is None:
        raise BotError(UNKNOWN_ANSWER)
    teacher = cog.service.teacher
    passage = await asyncio.to_thread(teacher.resolve_passage, values[0])
    await asyncio.to_thread(teacher.teach, stored.question, [passage.passage_id])
    await interaction.edit_original_response(content=taught_text(stored.question, passage),
                                             view=None, allowed_mentions=NO_MENTIONS)


def offer_text(question: str, choices: Sequence[PassageChoice]) -> str:
    lines = [f"**Teach an answer to** “{escape(truncate(question, 300))}”",
             "Pick the passage that answers it: from now on the question, and questions "
             "asking the same in other words, get that passage."]
    for number, choice in enumerate(choices, start=1):
        quote = escape(truncate(" ".join(choice.text.split()), QUOTE_MAX))
        lines.append(f"**{number}.** {escape(choice.citation)}\n> {quote}")
    return truncate("\n".join(lines), CONTENT_MAX)


def taught_text(question: str, passage: PassageChoice) -> str:
    return truncate(f"🎓 Taught: “{escape(truncate(question, 300))}” → "
                    f"{escape(passage.citation)}. From now on it, and questions asking the "
                    "same in other words, get that passage.", CONTENT_MAX)


# --- /teach --------------------------------------------------------------------------------

async def teach_command(cog: QA, interaction: discord.Interaction[Any], question: str,
                        passage: str) -> None:
    check_operator(interaction)
    cog.check_question(question)
    await defer(interaction, private=True)
    teacher = cog.service.teacher
    chosen = await asyncio.to_thread(teacher.resolve_passage, passage)
    await asyncio.to_thread(teacher.teach, question, [chosen.passage_id])
    await interaction.edit_original_response(content=taught_text(question, chosen),
                                             allowed_mentions=NO_MENTIONS)


async def question_choices(cog: QA, interaction: discord.Interaction[Any],
                           typed: str) -> list[app_commands.Choice[str]]:
    """What was typed, then the questions the bot could not answer (or only tentatively)
    holding its words, most often asked first. Nothing for members who may not teach."""
    if not is_operator(interaction):
        return []
    found = await _lookup("questions", cog.service.teacher.suggestions, typed, 25) or []
    typed = " ".join(typed.split())
    choices = [app_commands.Choice(name=typed, value=typed)] if 0 < len(typed) <= CHOICE_MAX \
        else []
    choices += [app_commands.Choice(name=_suggestion_name(s), value=s.question)
                for s in found if len(s.question) <= CHOICE_MAX and s.question != typed]
    return choices[:25]


async def passage_choices(cog: QA, interaction: discord.Interaction[Any],
                          typed: str) -> list[app_commands.Choice[str]]:
    """The passages closest to the question typed in the other option, or (without one)
    those holding the words typed here. Values are short references, names the passage."""
    if not is_operator(interaction):
        return []
    question = str(getattr(interaction.namespace, "question", "") or "")
    found = await _lookup("passages", cog.service.teacher.passage_choices, question, typed,
                          25) or []
    several = len(cog.service.manifest.documents) > 1
    return [app_commands.Choice(name=_passage_name(c, several), value=c.ref)
            for c in found[:25]]


async def _lookup(what: str, work: Callable[..., list[T]], *args: Any) -> list[T] | None:
    """``work(*args)`` in a worker thread, or None when it fails or takes longer than
    ``LOOKUP_SECONDS``: an autocomplete cannot be acknowledged first and then answered, its
    choices are the answer, due within Discord's 3 s. Fewer choices beat none arriving
    (typing goes on working; the lookup finishes in its thread, unused)."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(work, *args), LOOKUP_SECONDS)
    except TimeoutError:
        logger.info("autocomplete: looking up %s took over %g s; offered fewer choices",
                    what, LOOKUP_SECONDS)
    except BotError:  # the database is unavailable: no suggestions, typing still works
        pass
    return None


def _passage_name(choice: PassageChoice, with_title: bool) -> str:
    """"¶4 · It's starting to do well in the US…" (with the document's title, shortened,
    when there are several documents), within Discord's 100 characters."""
    where = f"¶{choice.paragraph}" + (f" {truncate(choice.title, 30)}" if with_title else "")
    return truncate(f"{where} · {' '.join(choice.sentence.split())}", CHOICE_MAX)


def _suggestion_name(suggestion: Suggestion) -> str:
    suffix = f" ({STATUS.get(suggestion.status, suggestion.status)}, {suggestion.times}×)"
    return truncate(suggestion.question, CHOICE_MAX - len(suffix)) + suffix
