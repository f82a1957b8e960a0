"""The one HTTP layer: timeouts, retries honouring Retry-After, a per-host rate limit, no secrets in errors.

Every provider client (:mod:`comtrade`, :mod:`wits`) sends its requests through
:class:`HttpClient`. Retries use *tenacity*: exponential backoff with jitter on 429, 5xx,
connection errors and timeouts; a ``Retry-After`` header is honoured (capped); and a total
retry budget shared by the whole run stops a dying server from stalling the nightly refresh.
The rate limit is *pyrate-limiter*, one bucket per host. Credentials travel in headers and
never appear in a URL, a log line or an error message.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urlsplit

import requests
from pyrate_limiter import Duration, Limiter, Rate
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from tradeflow.errors import SourceError

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class RetryableError(Exception):
    """A failure worth retrying (429, 5xx, connection error, timeout)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class RetryBudget:
    """Retries left for the whole run; shared by every request."""

    total: int = 60
    used: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self) -> bool:
        with self._lock:
            if self.used >= self.total:
                return False
            self.used += 1
            return True


@dataclass(frozen=True)
class Response:
    url: str  # without credentials
    params: dict
    status: int
    body: bytes
    headers: dict


class HttpClient:
    """GET with timeouts, retries, a per-host rate limit and secret-free error messages."""

    def __init__(
        self,
        *,
        headers: dict[str, str] | None = None,
        secrets: list[str] | None = None,
        rate_per_second: float = 1.0,
        timeout: tuple[float, float] = (10.0, 120.0),
        max_attempts: int = 6,
        budget: RetryBudget | None = None,
        backoff_initial: float | None = None,
        backoff_max: float = 60.0,
        retry_after_cap: float = 120.0,
        session: requests.Session | None = None,
        sleep=time.sleep,
    ):
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": "tradeflow/0.1 (+https://github.com/tradeflow)", **(headers or {})})
        self.secrets = [s for s in (secrets or []) if s]
        self.rate_per_second = rate_per_second
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.budget = budget or RetryBudget()
        if backoff_initial is None:
            backoff_initial = float(os.environ.get("TRADEFLOW_HTTP_BACKOFF", "1"))
        self.backoff_initial, self.backoff_max, self.retry_after_cap = backoff_initial, backoff_max, retry_after_cap
        self._sleep = sleep
        self._limiters: dict[str, Limiter] = {}
        self.calls = 0
        self.retries = 0

    # -- public ----------------------------------------------------------------------------
    def get(self, url: str, params: dict | None = None, allow_status: set[int] | frozenset = frozenset()) -> Response:
        """GET ``url``; returns a 200 (or an allowed) response, or raises SourceError naming the request."""
        params = dict(params or {})
        described = self.describe(url, params)
        retrying = Retrying(
            retry=retry_if_exception(self._should_retry),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            before_sleep=lambda rs: log.warning("retrying %s after: %s", described, self._scrub(str(rs.outcome.exception()))),
            reraise=True,
            sleep=self._sleep,
        )
        try:
            return retrying(self._get_once, url, params, allow_status)
        except RetryableError as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise SourceError(f"GET {described} failed after {attempts} attempt(s): {self._scrub(str(exc))}") from None
        except requests.RequestException as exc:
            raise SourceError(f"GET {described} failed: {self._scrub(type(exc).__name__)}") from None

    def describe(self, url: str, params: dict) -> str:
        return self._scrub(f"{url}?{urlencode(params)}" if params else url)

    # -- internals ---------------------------------------------------------------------------
    def _get_once(self, url: str, params: dict, allow_status=frozenset()) -> Response:
        self._limiter(url).try_acquire(urlsplit(url).netloc)
        self.calls += 1
        try:
            r = self.session.get(url, params=params, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetryableError(f"{type(exc).__name__}") from None
        if r.status_code in RETRY_STATUS:
            raise RetryableError(f"HTTP {r.status_code} {r.reason}", _retry_after(r.headers.get("Retry-After")))
        if r.status_code != 200 and r.status_code not in allow_status:
            snippet = self._scrub(r.text[:200].strip())
            raise SourceError(f"GET {self.describe(url, params)} returned HTTP {r.status_code} {r.reason}: {snippet}")
        return Response(url=url, params=params, status=r.status_code, body=r.content, headers=dict(r.headers))

    def _should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, RetryableError):
            return False
        if not self.budget.take():
            log.error("retry budget of %d exhausted", self.budget.total)
            return False
        self.retries += 1
        return True

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.retry_after is not None:
            return min(exc.retry_after, self.retry_after_cap)
        return wait_exponential_jitter(initial=self.backoff_initial, max=self.backoff_max, jitter=self.backoff_initial)(state)

    def _limiter(self, url: str) -> Limiter:
        host = urlsplit(url).netloc
        if host not in self._limiters:
            if self.rate_per_second >= 1:
                rate = Rate(int(self.rate_per_second), Duration.SECOND)
            else:
                rate = Rate(1, int(1000 / self.rate_per_second))  # one request per N ms
            self._limiters[host] = Limiter(rate)
        return self._limiters[host]

    def _scrub(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return text


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
