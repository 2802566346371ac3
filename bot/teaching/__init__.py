"""Teaching the bot: answers that operators (or users who agree) tie to passages, and how
they are used. ``taught`` holds the taught answers and how a question matches one;
``teacher`` holds what operators and votes do with them, over the store. Only ``taught``'s
names are exported here: the store imports them, and ``teacher`` imports the store."""

from bot.teaching.taught import (
    OPERATOR,
    VOTES,
    Match,
    Taught,
    TaughtHolder,
    TaughtPassage,
    TaughtSet,
    passage_hash,
    question_key,
    same_request,
    taught_from,
)

__all__ = ["OPERATOR", "VOTES", "Match", "Taught", "TaughtHolder", "TaughtPassage",
           "TaughtSet", "passage_hash", "question_key", "same_request", "taught_from"]
