"""Errors the CLI turns into a one-line message and a non-zero exit."""

from __future__ import annotations


class TradeflowError(Exception):
    """An expected failure: bad input, a failed request, a broken file. Says what and where."""


class ConfigError(TradeflowError):
    """A setting or argument is invalid."""


class SourceError(TradeflowError):
    """A request to an upstream source failed or returned something unusable."""


class ParseError(TradeflowError):
    """A stored response could not be parsed into records."""


class WarehouseError(TradeflowError):
    """The DuckDB warehouse could not be read or written."""
