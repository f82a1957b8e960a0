"""Curated YAML configuration files as pydantic models, with errors that name file, entry and field.

Every YAML file tradeflow reads (goals, baskets, GACC events, the Khunjerab calendar, the CPFTA
category table) is parsed with :func:`read_yaml` and checked with :func:`check` against a model;
a bad file raises one :class:`~tradeflow.errors.ConfigError` line such as::

    goals.yaml: goals[2] (id=duty_free_share): target.year: Input should be a valid integer, got 'soon'

Dates stay text while the YAML is parsed, so a bad one (``2023-13-01``) is reported against its
entry and field like any other value instead of failing the whole file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from tradeflow.errors import ConfigError

URL = re.compile(r"https?://\S+")
HS = re.compile(r"\d{2}|\d{4}|\d{6}")


class _Loader(yaml.SafeLoader):
    """Safe YAML with dates left as text (checked by the model, so errors can name the entry), and a key given twice
    in one mapping refused (plain YAML keeps the last one silently: a category or goal defined twice)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):  # the mapping's own keys, before merges (<<) may be overridden
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, Hashable):
                    continue  # PyYAML refuses it itself, with its own message
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} appears twice in one mapping (first at line {seen[key] + 1})",
                        key_node.start_mark)
                seen.setdefault(key, key_node.start_mark.line)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(where: str, path: Path | None = None, text: str | None = None) -> Any:
    """Parse a YAML file (or ``text``); an unreadable file is one line naming it (and the line)."""
    try:
        if text is None:
            text = Path(path).read_text(encoding="utf-8")  # type: ignore[arg-type]
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {at}{problem}") from None


# -- field types ---------------------------------------------------------------------------------

def _url(value: Any) -> str:
    if not isinstance(value, str) or not URL.fullmatch(value):
        raise ValueError(f"must be a URL (http:// or https://), got {value!r}")
    return value


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _hs(value: Any) -> str:
    if not isinstance(value, str) or not HS.fullmatch(value):
        raise ValueError(f"{value!r} is not an HS code (2, 4 or 6 digits, quoted)")
    return value


Url = Annotated[str, BeforeValidator(_url)]
#: a trade year: a plain integer (YAML's ``true`` is no year 1, ``2021.0`` no year), within Comtrade's HS era and
#: the plan's horizon (a typo such as 20229 is refused, not read as a target 18,000 years away)
Year = Annotated[int, Field(strict=True, ge=1988, le=2100)]
#: a finite number (YAML's .nan and .inf are refused)
Number = Annotated[float, Field(allow_inf_nan=False)]
Date = Annotated[dt.date, BeforeValidator(_date)]
HsCode = Annotated[str, BeforeValidator(_hs)]
Text = Annotated[str, AfterValidator(_text)]


class Model(BaseModel):
    """A config entry: unknown keys are errors (a misspelt key would otherwise be ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# -- validation with file / entry / field errors -------------------------------------------------

#: (loc, data) → (entry label, the rest of loc: the field path inside the entry)
Labeller = Callable[[tuple, Any], tuple[str, tuple]]


def list_entries(name: str, key: str | None = None) -> Labeller:
    """Entries of a top-level list: ``goals[2] (id=duty_free_share)``."""

    def label(loc: tuple, data: Any) -> tuple[str, tuple]:
        if not loc or not isinstance(loc[0], int):
            return "", loc
        i = loc[0]
        entry = data[i] if isinstance(data, list) and i < len(data) else None
        ident = entry.get(key) if key and isinstance(entry, dict) else None
        return f"{name}[{i}]" + (f" ({key}={ident})" if ident not in (None, "") else ""), loc[1:]

    return label


def keyed_entries(depth: int = 1) -> Labeller:
    """Entries of a top-level mapping: ``energy`` (or ``CHN.A10`` for depth 2)."""

    def label(loc: tuple, data: Any) -> tuple[str, tuple]:
        head = [str(p) for p in loc[:depth]]
        return ".".join(head), loc[depth:]

    return label


def field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: dict) -> str:
    if err["type"] == "missing":
        return "missing (required)"
    if err["type"] == "extra_forbidden":
        return "unknown key (misspelt? it would be ignored)"
    msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if err["type"] not in ("value_error", "assertion_error") and "input" in err and not isinstance(err["input"], (dict, list)):
        msg += f", got {err['input']!r}"
    return msg


def describe(exc: ValidationError, where: str, data: Any, label: Labeller) -> str:
    """One line: ``file: entry: field: what is wrong`` for the first error (and how many more)."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    entry, rest = label(tuple(err["loc"]), data)
    parts = [where] + [p for p in (entry, field_path(rest)) if p]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return ": ".join(parts) + f": {_message(err)}{more}"


def check(schema: Any, data: Any, where: str, label: Labeller = keyed_entries(0)):
    """Validate ``data`` against a model or type; a ConfigError naming file, entry and field if it does not fit."""
    adapter = schema if isinstance(schema, TypeAdapter) else TypeAdapter(schema)
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, where, data, label)) from None
