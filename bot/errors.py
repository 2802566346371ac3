"""Domain errors. Each message is one line fit to show a user: what was found and what to do."""


class BotError(Exception):
    """Base class: front ends show ``str(err)`` and never a traceback."""


class InvalidQuestion(BotError):
    """The question cannot be searched (empty, too long, no words)."""


class SeedError(BotError):
    """The seeds folder holds nothing that can be indexed."""


class IndexUnavailable(BotError):
    """The index could not be built or loaded."""


class IndexCorrupt(IndexUnavailable):
    """The index folder exists but does not hold a consistent index."""
