"""Configuration: every environment variable tradeflow reads, in one :class:`Settings`.

The README's "Configuration (environment)" table lists them; each field below names its
variable (``TRADEFLOW_`` + the field name in capitals, except ``COMTRADE_API_KEY``).
Settings are read when asked for (:meth:`Settings.from_env`), never at import, so a changed
environment is seen by the next call. A bad value fails in one line naming the variable
(:class:`~tradeflow.errors.ConfigError`).

Secrets (the Comtrade key) are held in memory only; they are never written to the
archive, the manifest, the database, logs or reports: the key is left out of ``repr`` and of
every ``model_dump``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from tradeflow.errors import ConfigError

DEFAULT_COMTRADE_URL = "https://comtradeapi.un.org"
DEFAULT_WITS_URL = "https://wits.worldbank.org"
DEFAULT_UNSD_URL = "https://unstats.un.org/unsd/classifications/Econ/tables"
DEFAULT_CIF_FOB_FACTORS = (1.06, 1.10)
PREFIX = "TRADEFLOW_"

#: DuckDB ``memory_limit`` values: a number with an optional unit (it is spliced into a SET statement).
_MEMORY = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB|%)?", re.IGNORECASE)

#: DuckDB memory per thread tradeflow runs (raw load: one query on every core; dbt: as many models at once
#: as cores, over one pool of as many threads; the limit is the database's, shared by them). With the
#: ~0.45 GB the process holds itself (Python, Dagster, dbt), a 2-core refresh of 5 M records peaks near
#: 1.4 GB (896 MiB for DuckDB; 1 GiB gave 1.49 GB; 1.24 GB measured in run 11, docs/scaling.md).
MEMORY_PER_THREAD = 448 * 2**20
#: The default limit never takes more than this share of the machine's memory (or of the cgroup's).
MEMORY_SHARE = 4
#: ... nor less than this (DuckDB needs some memory to work at all; it spills beyond it).
MEMORY_FLOOR = 256 * 2**20


def available_cores() -> int:
    """Every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def physical_memory() -> int | None:
    """Bytes of memory this process can have: the machine's, or its cgroup's limit if lower (None: unknown)."""
    sizes = []
    try:
        sizes.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text(encoding="ascii").strip()
        except OSError:
            continue
        if text.isdigit():
            sizes.append(int(text))
    sizes = [s for s in sizes if s > 0]
    return min(sizes) if sizes else None


def default_memory_limit(threads: int, memory: int | None) -> str:
    """DuckDB's memory_limit when ``TRADEFLOW_MEMORY_LIMIT`` is unset: 448 MiB per thread, at most a quarter
    of ``memory`` (bytes; None: unknown), at least 256 MiB; in whole MiB, e.g. ``'896MiB'`` for 2 threads.

    DuckDB's own default (80 % of RAM, per process) let a 5 M-record refresh hold 4.1 GB; bounded, DuckDB
    spills to ``<warehouse>.tmp`` in the home when a query needs more (the rows are the same bit for
    bit). Measured with this default: 1.26 GB at 5 M records, 1.35 GB at 20 M (docs/scaling.md).
    """
    limit = MEMORY_PER_THREAD * max(1, threads)
    if memory:
        limit = min(limit, memory // MEMORY_SHARE)
    return f"{max(limit, MEMORY_FLOOR) // 2**20}MiB"


#: The mapping :meth:`Settings.from_env` reads instead of ``os.environ`` (None: the process environment).
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("tradeflow_environ", default=None)


class _Environment(EnvSettingsSource):
    """The process environment, or the mapping given to :meth:`Settings.from_env`."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        env = _ENVIRON.get()
        if env is None:
            return super()._load_env_vars()
        return parse_env_vars(env, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class Settings(BaseSettings):
    """Where tradeflow keeps its data, how it reaches the sources, and its tuning knobs."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        case_sensitive=False,  # names are matched in capitals (TRADEFLOW_HOME); lower case works too
        env_ignore_empty=True,  # VAR= (empty) means "use the default", as it always did
        extra="ignore",
        frozen=True,
        validate_default=True,
        populate_by_name=True,
    )

    # -- where data live ---------------------------------------------------------------------
    home: Path = Field(Path("data"), description="data folder: warehouse, raw archive, published snapshot, run ledger")
    reports_dir: Path = Field(Path("reports"), description="where HTML reports are written")
    sql_dir: Path | None = Field(None, description="SQL models folder (default: the checkout's sql/, else the wheel copy)")
    dagster_home: Path | None = Field(
        None, validation_alias=AliasChoices("DAGSTER_HOME", "dagster_home"),
        description="Dagster instance (run history, schedules) of CLI runs (default: TRADEFLOW_HOME/dagster)")

    # -- sources -----------------------------------------------------------------------------
    comtrade_url: str = Field(DEFAULT_COMTRADE_URL, description="UN Comtrade API base URL")
    wits_url: str = Field(DEFAULT_WITS_URL, description="WITS API base URL")
    unsd_url: str = Field(DEFAULT_UNSD_URL, description="base URL of the UNSD HS correspondence workbooks")
    hs_concordance_url: str | None = Field(None, description="URL of the HS2022→HS2017 workbook alone")
    comtrade_api_key: str | None = Field(
        None, repr=False, exclude=True,
        validation_alias=AliasChoices("COMTRADE_API_KEY", "comtrade_api_key"),
        description="UN Comtrade subscription key (never written anywhere)")
    comtrade_rate: float = Field(1.0, gt=0, description="Comtrade requests per second (starting pace)")
    wits_rate: float = Field(1.0, gt=0, description="WITS requests per second (starting pace)")
    unsd_rate: float = Field(1.0, gt=0, description="UNSD requests per second (starting pace)")
    comtrade_cap: int | None = Field(None, gt=0, description="records per Comtrade call before a query is split (at most the endpoint limit: 500 keyless, 250,000 keyed)")

    # -- HTTP layer --------------------------------------------------------------------------
    http_deadline: float = Field(900.0, gt=0, description="wall-clock seconds per request attempt")
    http_backoff: float = Field(1.0, ge=0, description="first retry delay, seconds (doubles per retry)")
    http_retry_after_max: float = Field(120.0, ge=0, description="longest Retry-After pause honoured, seconds")
    http_breaker: int = Field(8, ge=1, description="failed attempts in a row that give a host up for the run")
    http_breaker_ratio: float = Field(0.6, gt=0, le=1, description="failure share of the last 50 attempts that gives a host up")

    # -- warehouse ---------------------------------------------------------------------------
    threads: int | None = Field(None, ge=1, description="threads for order-independent steps (default: every core)")
    # after threads: its default is derived from them (the validator sees the fields declared before it)
    memory_limit: str = Field(None, description="DuckDB memory_limit, e.g. 1GB (spills to disk beyond it); "
                                                "default: 448 MiB per thread, at most a quarter of the memory")
    cif_fob_factors: Annotated[tuple[float, ...], NoDecode] = Field(
        DEFAULT_CIF_FOB_FACTORS, description="CIF/FOB factors for the mirror marts, first = default")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        # Arguments, then the environment: no .env file, no secrets folder (nothing read behind the user's back).
        return init_settings, _Environment(settings_cls)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(_one_line(exc)) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the process environment (read now), or from ``environ`` alone."""
        token = _ENVIRON.set(environ)
        try:
            return cls()
        finally:
            _ENVIRON.reset(token)

    # -- normalisation -----------------------------------------------------------------------
    @field_validator("home", "reports_dir", "sql_dir", "dagster_home")
    @classmethod
    def _absolute(cls, v: Path | None) -> Path | None:
        return None if v is None else v.resolve()

    @field_validator("comtrade_url", "wits_url", "unsd_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        if not re.match(r"https?://", v):
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")

    @field_validator("hs_concordance_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"https?://", v):
            raise ValueError("must be an http:// or https:// URL")
        return v

    @field_validator("memory_limit", mode="before")
    @classmethod
    def _memory(cls, v: Any, info: ValidationInfo) -> str:
        if v is None:  # unset: bounded by default (DuckDB's own default is 80 % of RAM, per process)
            return default_memory_limit(info.data.get("threads") or available_cores(), physical_memory())
        m = _MEMORY.fullmatch(v.strip()) if isinstance(v, str) else None
        if m is None:
            raise ValueError("must be a size like 1GB, 512MB or 80%")
        number, unit = float(re.match(r"\d+(?:\.\d+)?", v.strip()).group()), (m.group(2) or "B").upper()
        if unit == "%":
            if not 1 <= number <= 100:
                raise ValueError("must be between 1% and 100% of the machine's memory")
        else:
            scale = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
                     "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}[unit]
            if number * scale < MEMORY_FLOOR:
                raise ValueError(f"must be at least {MEMORY_FLOOR // 2**20} MiB (DuckDB needs some memory to work at "
                                 "all; it spills beyond the limit)")
        return v.strip()

    @field_validator("cif_fob_factors", mode="before")
    @classmethod
    def _factors(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                v = tuple(float(x) for x in v.split(",") if x.strip())
            except ValueError:
                raise ValueError(_FACTORS) from None
        if not v or any(not 1.0 <= f < 2.0 for f in v):
            raise ValueError(_FACTORS)
        return tuple(v)

    # -- derived paths -----------------------------------------------------------------------
    @property
    def database(self) -> Path:
        """The live warehouse: only the pipeline writes it."""
        return self.home / "tradeflow.duckdb"

    @property
    def snapshot(self) -> Path:
        """The read-only copy published after each successful run (what analysts open)."""
        return self.home / "published" / "tradeflow.duckdb"

    @property
    def raw_dir(self) -> Path:
        return self.home / "raw"

    def check_home(self, write: bool) -> None:
        """Fail fast, in one line, when ``TRADEFLOW_HOME`` cannot serve: a file, or (for commands
        that write) a folder this account cannot write or create."""
        home = self.home
        if home.exists() and not home.is_dir():
            raise ConfigError(f"TRADEFLOW_HOME={home} is a file, not a folder: point it at a data folder")
        if not write:
            return
        _check_writable("TRADEFLOW_HOME", home, "its warehouse and archive")
        for sub in ("raw", "published", "schedules", "raw/objects"):
            p = home / sub
            if p.exists() and (not p.is_dir() or not os.access(p, os.W_OK | os.X_OK)):
                raise ConfigError(f"TRADEFLOW_HOME: {p} is not a writable folder")

    def check_reports(self) -> None:
        """Fail fast, in one line, when ``TRADEFLOW_REPORTS_DIR`` cannot take the pages: a file, or a folder
        this account cannot write or create (a refresh found out at its last step, after fetching and building)."""
        reports = self.reports_dir
        if reports.exists() and not reports.is_dir():
            raise ConfigError(f"TRADEFLOW_REPORTS_DIR={reports} is a file, not a folder: point it at a folder for the "
                              "HTML reports")
        _check_writable("TRADEFLOW_REPORTS_DIR", reports, "the HTML reports")

    def secrets(self) -> list[str]:
        """Values that must never appear in anything tradeflow writes."""
        return [s for s in (self.comtrade_api_key,) if s]

    @staticmethod
    def dbt_flags() -> dict[str, str]:
        """dbt's own ``DBT_*`` variables in the environment (``DBT_EMPTY``, ``DBT_SAMPLE``…): they change
        what a build computes, so they are part of its fingerprint (tradeflow.warehouse.build_state)."""
        return {k: v for k, v in os.environ.items() if k.upper().startswith("DBT_")}


_FACTORS = "must be numbers in [1, 2) separated by commas, like 1.06,1.10"


def _check_writable(var: str, path: Path, what: str) -> None:
    """``path`` is a folder this account can write, or can create: its nearest existing ancestor is a writable folder."""
    probe = path
    while not probe.exists():  # the nearest existing ancestor must let us create the rest
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{var}={path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        how = "is read-only for this account" if probe == path else f"cannot be created ({probe} is read-only)"
        raise ConfigError(f"{var}={path} {how}: tradeflow needs to write {what} there")


def env_var(field: str) -> str:
    """The environment variable behind a :class:`Settings` field."""
    info = Settings.model_fields[field]
    if isinstance(info.validation_alias, AliasChoices):
        return str(info.validation_alias.choices[0])
    return PREFIX + field.upper()


def variables() -> dict[str, str]:
    """Every environment variable tradeflow reads → its :class:`Settings` field."""
    return {env_var(name): name for name in Settings.model_fields}


def _one_line(exc: ValidationError) -> str:
    """``TRADEFLOW_THREADS: Input should be ..., got 'x'`` for the first bad variable (and a count of the others)."""
    by_alias = {env_var(name): name for name in Settings.model_fields}
    errors = exc.errors(include_url=False)
    first = errors[0]
    key = str(first["loc"][0]) if first["loc"] else ""
    field = by_alias.get(key, key)
    name = env_var(field) if field in Settings.model_fields else key
    msg = str(first["msg"]).removeprefix("Value error, ")
    got = "" if field == "comtrade_api_key" else f", got {first.get('input')!r}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{name}: {msg}{got}{more}"


def parse_years(text: str) -> tuple[int, int]:
    """Parse ``2019-2022`` or ``2021`` into an inclusive (first, last) pair."""
    m = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*", text or "")
    if not m:
        raise ConfigError(f"--years must look like 2019-2022 or 2021, got {text!r}")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if not 1988 <= first <= last <= 2100:
        raise ConfigError(f"--years {text!r}: need 1988 <= FROM <= TO <= 2100")
    return first, last
