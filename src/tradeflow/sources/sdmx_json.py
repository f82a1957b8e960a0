"""Read SDMX-JSON 1.0 data messages (as the WITS API serves them) into a long table.

``sdmx1`` (khaeru/sdmx) was tried first and fails on the real WITS TRAINS payload
(``IndexError`` in its JSON reader's key builder): TRAINS writes series keys in an order
other than the declared ``keyPosition`` (the product index sits third, where PARTNER is
declared). This small reader resolves series keys and observation attributes to their code
ids, one row per observation, vectorised with pandas, and maps key positions to dimensions
by what fits when the declared order cannot be right.
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
    """Dimensions in the order the keys use: the declared one if it fits, else the closest that does."""
    top = [int(pd.to_numeric(parts[i]).max()) for i in range(parts.shape[1])]

    def fits(order):
        return all(top[i] < len(d.get("values", [])) for i, d in enumerate(order))

    if fits(dims):
        return dims
    if len(dims) <= 7:
        candidates = [p for p in itertools.permutations(dims) if fits(p)]
        if candidates:
            best = min(candidates, key=lambda p: sum(a is not b for a, b in zip(p, dims)))
            log.debug("%s: series keys are not in keyPosition order; read as %s", where, [d["id"] for d in best])
            return list(best)
    raise ParseError(f"{where}: series keys do not fit the declared dimensions {[d['id'] for d in dims]}")


def _decode(index: pd.Series, component: dict, where: str) -> pd.Series:
    """Positions → code ids (nulls stay null)."""
    ids = np.array([v.get("id") for v in component.get("values", [])] + [None], dtype=object)
    pos = pd.to_numeric(index, errors="coerce")
    bad = pos.notna() & ((pos < 0) | (pos >= len(ids) - 1))
    if bad.any():
        raise ParseError(f"{where}: {component['id']} index {int(pos[bad].iloc[0])} is outside its {len(ids) - 1} values")
    return pd.Series(ids[pos.fillna(len(ids) - 1).astype(int).to_numpy()], index=index.index, dtype=object)
