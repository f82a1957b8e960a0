"""Read SDMX-JSON 1.0 data messages (as the WITS API serves them) into a long table.

``sdmx1`` (khaeru/sdmx) was tried first and fails on the real WITS TRAINS payload
(``IndexError`` in its JSON reader's key builder): TRAINS writes series keys in an order
other than the declared ``keyPosition`` (the product index sits third, where PARTNER is
declared). This small reader resolves series keys and observation attributes to their code
ids, one row per observation, vectorised with pandas.

Which key part is which dimension is read from the message itself (:func:`_key_order`): a
key part whose indices run over all ``n`` values of exactly one dimension belongs to that
dimension; single-valued dimensions take the parts left (always index 0, so any of them
decodes alike). Where the message does not decide (two dimensions of the same size, or a part
no dimension can hold) the reader fails with the dimensions and parts in question — it never
guesses.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pandas as pd

from tradeflow.errors import ParseError

log = logging.getLogger(__name__)


def read_sdmx_json(doc: dict, where: str = "response") -> pd.DataFrame:
    """One row per observation: a column per series dimension, the observation dimension, OBS_VALUE and attributes."""
    try:
        structure = doc["structure"]
        series_dims = structure["dimensions"]["series"]
        obs_dims = structure["dimensions"]["observation"]
        obs_attrs = structure.get("attributes", {}).get("observation", [])
        datasets = doc["dataSets"]
    except (KeyError, TypeError) as exc:
        raise ParseError(f"{where}: not an SDMX-JSON data message (missing {exc})") from None
    columns = [d["id"] for d in series_dims] + [d["id"] for d in obs_dims] + ["OBS_VALUE"] + [a["id"] for a in obs_attrs]
    if not datasets or not datasets[0].get("series"):
        return pd.DataFrame(columns=columns)
    series = datasets[0]["series"]
    width = 1 + len(obs_attrs)
    try:
        flat = [
            (key, obs_key, *(values + [None] * (width - len(values)))[:width])
            for key, s in series.items()
            for obs_key, values in s.get("observations", {}).items()
        ]
    except (AttributeError, TypeError) as exc:
        raise ParseError(f"{where}: malformed series or observations ({exc})") from None
    raw = pd.DataFrame(flat, columns=["_key", "_obs", "OBS_VALUE", *[a["id"] for a in obs_attrs]])
    out = pd.DataFrame(index=raw.index)
    key_parts = raw["_key"].str.split(":", expand=True)
    if key_parts.shape[1] != len(series_dims):
        raise ParseError(f"{where}: series keys have {key_parts.shape[1]} parts, structure declares {len(series_dims)}")
    declared = sorted(series_dims, key=lambda d: d.get("keyPosition", 0))
    for i, dim in enumerate(_key_order(declared, key_parts, where)):
        out[dim["id"]] = _decode(key_parts[i], dim, where)
    obs_parts = raw["_obs"].astype(str).str.split(":", expand=True)
    for i, dim in enumerate(obs_dims):
        out[dim["id"]] = _decode(obs_parts[i], dim, where)
    out["OBS_VALUE"] = pd.to_numeric(raw["OBS_VALUE"], errors="coerce")
    for attr in obs_attrs:
        out[attr["id"]] = _decode(raw[attr["id"]], attr, where)
    return out


def _key_order(dims: list[dict], parts: pd.DataFrame, where: str) -> list[dict]:
    """The dimension of each series-key part, decided by the message alone (or a ParseError).

    Series keys are indices into each dimension's ``values``, and SDMX-JSON lists the values a
    message uses. A part whose indices are all 0 decodes the same for any dimension (its first
    value), so only the parts with a non-zero index need placing: each goes to a dimension it
    can index (max index < values count), preferring the dimensions whose values it uses
    exactly (distinct indices = values count). Exactly one such placement must exist; two
    (e.g. partner and product with as many values each) is an error, never a guess. The other
    dimensions take the all-zero parts in declared ``keyPosition`` order.
    """
    idx = parts.apply(pd.to_numeric, errors="coerce")
    if idx.isna().any().any() or (idx < 0).any().any():
        raise ParseError(f"{where}: series keys hold non-numeric or negative indices")
    n = len(dims)
    top = [int(idx[i].max()) for i in range(n)]
    used = [int(idx[i].nunique()) for i in range(n)]
    size = [len(d.get("values", [])) for d in dims]
    ids = [d["id"] for d in dims]
    moving = [i for i in range(n) if top[i] > 0]

    def placements(ok) -> list[tuple[int, ...]]:
        return [p for p in itertools.permutations(range(n), len(moving)) if all(ok(i, k) for i, k in zip(moving, p))]

    found = placements(lambda i, k: top[i] < size[k] and used[i] == size[k])
    if len(found) != 1:
        found = found or placements(lambda i, k: top[i] < size[k])
    if not found:
        raise ParseError(f"{where}: series keys do not fit the declared dimensions {ids} "
                         f"(largest index per key part {top}, values per dimension {size})")
    if len(found) > 1:
        options = sorted({tuple(ids[k] for k in p) for p in found})
        raise ParseError(f"{where}: the message does not say which series-key parts {moving} are which of "
                         f"{' or '.join(str(list(o)) for o in options)} (values per dimension {dict(zip(ids, size))})")
    order: list[int | None] = [None] * n
    for i, k in zip(moving, found[0]):
        order[i] = k
    rest = iter(k for k in range(n) if k not in found[0])
    order = [k if k is not None else next(rest) for k in order]
    if order != list(range(n)):
        log.debug("%s: series keys are not in keyPosition order; read as %s", where, [ids[k] for k in order])
    return [dims[k] for k in order]


def _decode(index: pd.Series, component: dict, where: str) -> pd.Series:
    """Positions → code ids (nulls stay null)."""
    ids = np.array([v.get("id") for v in component.get("values", [])] + [None], dtype=object)
    pos = pd.to_numeric(index, errors="coerce")
    bad = pos.notna() & ((pos < 0) | (pos >= len(ids) - 1))
    if bad.any():
        raise ParseError(f"{where}: {component['id']} index {int(pos[bad].iloc[0])} is outside its {len(ids) - 1} values")
    return pd.Series(ids[pos.fillna(len(ids) - 1).astype(int).to_numpy()], index=index.index, dtype=object)
