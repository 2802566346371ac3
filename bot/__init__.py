"""Answer questions about an article by quoting the passages that answer them."""

__version__ = "0.1.0"
