"""Strict JSON (RFC 8259) for ``--format json``: what scripts (jq, JSON.parse) can read.

``json.dumps`` writes NaN and Infinity, which are not JSON, and knows no ``Decimal``. Here a
NULL, a NaN and ±Infinity are all ``null`` (JSON has no number for the last two; ``--format csv``
keeps them apart), a DECIMAL is written as the exact number it is (its digits, never rounded
through a float), and a date, time or other value JSON has no type for is its text.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal


def dumps(obj, indent: int = 1) -> str:
    """``obj`` as strict JSON, laid out like ``json.dumps(obj, indent=indent)``."""
    return _encode(obj, indent, 0)


def _encode(v, indent: int, depth: int) -> str:
    if type(v).__module__ == "numpy":  # a numpy scalar or array (from pandas): its Python value(s)
        v = v.tolist()
    if v is None or isinstance(v, (bool, int, str)):
        return json.dumps(v)
    if isinstance(v, float):
        return json.dumps(v) if math.isfinite(v) else "null"
    if isinstance(v, Decimal):
        return str(v) if v.is_finite() else "null"  # str(Decimal) is JSON number text: 0.10, -3, 1E+2
    if type(v).__name__ == "NaTType":  # pandas' missing timestamp
        return "null"
    pad, inner = "\n" + " " * (indent * depth), "\n" + " " * (indent * (depth + 1))
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = (f"{json.dumps(str(k))}: {_encode(x, indent, depth + 1)}" for k, x in v.items())
        return "{" + inner + ("," + inner).join(items) + pad + "}"
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        return "[" + inner + ("," + inner).join(_encode(x, indent, depth + 1) for x in v) + pad + "]"
    return json.dumps(str(v))
