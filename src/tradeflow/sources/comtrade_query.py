"""What tradeflow asks UN Comtrade for: one query per (reporter, frequency, period).

Query hygiene (``shared/notes/domain.md`` §7): always ``partner2Code=0``, ``customsCode=C00``
and ``motCode=0`` — unless transport modes are asked for on purpose — so no record is
double counted; re-exports and re-imports (``RX``/``RM``) are fetched but kept apart from
``X``/``M``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

#: M49 codes of the pair and of the World.
PAKISTAN, CHINA, WORLD = 586, 156, 0
#: Stands for "every reporter" (the reporterCode parameter is left out).
ALL_REPORTERS = -1
REPORTERS = (PAKISTAN, CHINA)
FLOWS = ("M", "X", "RM", "RX")

#: Transport modes fetched separately for the bilateral pair (reference ModeOfTransportCodes).
MODES = {1000: "Air", 2100: "Sea", 3000: "Land", 3200: "Road"}


@dataclass(frozen=True)
class FinalDataQuery:
    """A ``data/v1/get/C/{freq}/HS`` query for one reporter and period."""

    reporter: int
    freq: str  # "A" or "M"
    period: str  # "2021" or "202103"
    partners: tuple[int, ...] = (WORLD,)
    flows: tuple[str, ...] = FLOWS
    cmd: str = "AG6"  # every HS6 line; narrowed to chapters/codes when a response hits the cap
    modes: tuple[int, ...] = (0,)

    @property
    def path(self) -> str:
        return f"data/v1/get/C/{self.freq}/HS"

    @property
    def by_mode(self) -> bool:
        return self.modes != (0,)

    def params(self) -> dict[str, str]:
        reporter = {} if self.reporter == ALL_REPORTERS else {"reporterCode": str(self.reporter)}
        return {
            **reporter,
            "period": self.period,
            "partnerCode": ",".join(map(str, self.partners)),
            "partner2Code": "0",
            "flowCode": ",".join(self.flows),
            "cmdCode": self.cmd,
            "customsCode": "C00",
            "motCode": ",".join(map(str, self.modes)),
            "includeDesc": "true",
        }

    def partition(self) -> dict:
        reporter = "all" if self.reporter == ALL_REPORTERS else self.reporter
        return {"reporter": reporter, "freq": self.freq, "period": self.period, "by_mode": self.by_mode}

    def narrowed(self, cmd: str) -> FinalDataQuery:
        return replace(self, cmd=cmd)

    def fixed(self) -> dict[str, set[str]]:
        """Record field → the values this query admits (as text), for every field the query fixes. The reporter
        only when one is asked for (the all-reporters query takes any); the year and month from the period
        ('2021', or '202103' for a monthly one; an annual record's refMonth is 52, not fixed); the commodity when
        the query names codes or TOTAL (AG6: any six-digit line, checked apart)."""
        out = {"freqCode": {self.freq}, "period": {self.period}, "refYear": {self.period[:4]},
               "partnerCode": set(map(str, self.partners)), "flowCode": set(self.flows), "partner2Code": {"0"},
               "customsCode": {"C00"}, "motCode": set(map(str, self.modes))}
        if self.reporter != ALL_REPORTERS:
            out["reporterCode"] = {str(self.reporter)}
        if self.freq == "M":
            out["refMonth"] = {str(int(self.period[4:]))}
        if self.cmd != "AG6":
            out["cmdCode"] = set(self.cmd.split(","))
        return out

    def outside(self, records: list) -> str | None:
        """What is wrong with the records that fall outside this query (None: every record is inside).

        The API answers what was asked; a record beyond it (another reporter's, another period's…) is an upstream
        anomaly. Loaded, it would count as data of its own reporter and period under this query's release:
        staging takes a period's newest vintage from its records, so one stray row of another reporter, released
        later than that reporter's own answer, replaced the whole of that reporter's period. A field a record
        lacks is left to the required-fields check."""
        bad = {}
        for name, allowed in self.fixed().items():
            wrong = {_text(r[name]) for r in records if isinstance(r, dict) and name in r} - allowed
            if wrong:
                bad[name] = (allowed, wrong)
        if self.cmd == "AG6":
            wrong = {str(r["cmdCode"]) for r in records if isinstance(r, dict) and "cmdCode" in r
                     and not _SIX_DIGITS.fullmatch(str(r["cmdCode"]))}
            if wrong:
                bad["cmdCode"] = ({"six-digit HS lines (AG6)"}, wrong)
        if not bad:
            return None
        n = sum(1 for r in records if isinstance(r, dict) and any(
            name in r and _text(r[name]) in values for name, (_, values) in bad.items()))
        said = "; ".join(f"{name} {', '.join(sorted(values)[:5])} where the query asked "
                         f"{name}={','.join(sorted(allowed))}" for name, (allowed, values) in bad.items())
        return f"{n} record(s) outside the query ({said}); the answer is not loaded"


_SIX_DIGITS = re.compile(r"[0-9]{6}")


def _text(v) -> str:
    """A record value as the query's text: 586, 586.0 and "586" alike."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def bilateral_queries(freq: str, period: str) -> list[FinalDataQuery]:
    """The all-modes queries for one period: each reporter against the other and the World."""
    other = {PAKISTAN: CHINA, CHINA: PAKISTAN}
    return [FinalDataQuery(r, freq, period, partners=(WORLD, other[r])) for r in REPORTERS]


def mode_query(reporter: int, period: str) -> FinalDataQuery:
    """Monthly flows by mode of transport with the partner (kept apart from all-modes totals)."""
    partner = CHINA if reporter == PAKISTAN else PAKISTAN
    return FinalDataQuery(reporter, "M", period, partners=(partner,), flows=("M", "X"), modes=tuple(MODES))


def world_exports_queries(period: str) -> list[FinalDataQuery]:
    """Every reporter's exports to the World for one year, by HS6 and in total (RCA denominators), and total
    imports from the World (trade intensity and complementarity denominators)."""
    return [FinalDataQuery(ALL_REPORTERS, "A", period, partners=(WORLD,), flows=("X",), cmd="AG6"),
            FinalDataQuery(ALL_REPORTERS, "A", period, partners=(WORLD,), flows=("X", "M"), cmd="TOTAL")]
