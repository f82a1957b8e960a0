"""The one HTTP layer: deadlines, retries, an adaptive pace, a circuit breaker, no secrets anywhere.

Every provider client (:mod:`comtrade`, :mod:`wits`, :mod:`unsd`) sends its requests through
:class:`HttpClient`:

- **Deadline.** Every attempt has a connect/read timeout *and* an overall wall-clock deadline
  (``TRADEFLOW_HTTP_DEADLINE`` seconds, default 900): the body is streamed and a server that
  drip-feeds it is cut off, because a read timeout alone restarts with every byte.
- **Retries.** 5xx, a 429 without ``Retry-After``, connection errors, timeouts and bodies the
  caller finds unusable (a truncated 200) are retried with exponential backoff and jitter
  (``TRADEFLOW_HTTP_BACKOFF`` seconds to start), up to ``max_attempts`` per request.
- **Adaptive pace.** A per-host pace (``rate_per_second``) slows down on every 429 and speeds
  back up after a run of successes. A 429 that says when to come back (``Retry-After``) is not a
  failure: the host is paused that long (at most ``TRADEFLOW_HTTP_RETRY_AFTER_MAX``) and the request
  is sent again.
- **Circuit breaker.** Instead of a fixed retry budget, a host is given up for the rest of the
  run after ``N`` consecutive failed attempts or a failure ratio over a sliding window; every
  later request fails at once with one line saying why. A server that answers on the second
  try stays healthy, however many queries a run makes.
- **Refusals.** 401/403 fail fast, once per host and run, with the API's own message and what to
  check (``refused_hint``: the Comtrade client names ``COMTRADE_API_KEY``).
- **Secrets.** Credentials travel in headers; they are scrubbed from every body, error message
  and log line before anything is stored or printed (a server echoing a key leaks nothing).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Callable
from urllib.parse import quote, quote_plus, urlencode, urlsplit

import requests
import urllib3

from tradeflow.errors import SourceError
from tradeflow.settings import Settings

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
REFUSED_STATUS = frozenset({401, 403})


class RetryableError(Exception):
    """A failed attempt worth retrying (5xx, 429 without Retry-After, connection error, timeout, bad body)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(RetryableError):
    """429 with a Retry-After: the server says when to come back; not a failure."""


class HostUnavailable(SourceError):
    """The run stops calling this host (the circuit is open, or the host refused the credentials)."""


class CircuitOpen(HostUnavailable):
    """Too many failures in a row or in a window: the rest of the run does not call this host."""


class AuthError(HostUnavailable):
    """401/403: the credentials were refused (checked once per run and host)."""


@dataclass
class CircuitBreaker:
    """Opens after ``consecutive`` failed attempts in a row, or when at least ``ratio`` of the last
    ``window`` attempts failed (once ``min_calls`` attempts were made). Thread-safe."""

    consecutive: int = 8
    window: int = 50
    ratio: float = 0.6
    min_calls: int = 20
    _streak: int = 0
    _throttles: int = 0
    _recent: deque = field(default_factory=deque, repr=False)
    _open: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_env(cls) -> CircuitBreaker:
        """``TRADEFLOW_HTTP_BREAKER`` and ``TRADEFLOW_HTTP_BREAKER_RATIO`` (read now)."""
        settings = Settings.from_env()
        return cls(consecutive=settings.http_breaker, ratio=settings.http_breaker_ratio)

    @property
    def open(self) -> str | None:
        """Why the circuit is open (None while closed)."""
        return self._open

    def success(self) -> None:
        with self._lock:
            self._streak = 0
            self._throttles = 0
            self._push(False)

    def throttled(self, host: str) -> None:
        """A 429 with Retry-After: not a failure, but a host that only ever says "later" is given up too."""
        with self._lock:
            self._throttles += 1
            if not self._open and self._throttles >= 3 * self.consecutive:
                self._open = f"giving up on {host}: {self._throttles} rate-limit answers in a row and no data"

    def failure(self, host: str, reason: str) -> None:
        with self._lock:
            self._streak += 1
            self._push(True)
            if self._open:
                return
            failed = sum(self._recent)
            if self._streak >= self.consecutive:
                self._open = f"giving up on {host} after {self._streak} failed attempts in a row (last: {reason})"
            elif len(self._recent) >= self.min_calls and failed / len(self._recent) >= self.ratio:
                self._open = (f"giving up on {host}: {failed} of the last {len(self._recent)} attempts failed "
                              f"(last: {reason})")

    def _push(self, failed: bool) -> None:
        self._recent.append(failed)
        while len(self._recent) > self.window:
            self._recent.popleft()


class Pace:
    """Minimum spacing between requests to one host (AIMD-like): every 429 doubles it, every success
    takes a fifth off, never below the configured rate nor above :attr:`SLOWEST` seconds."""

    SLOWEST = 10.0

    def __init__(self, rate_per_second: float, clock: Callable[[], float], sleep: Callable[[float], None]):
        self.base = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self.interval = self.base
        self.clock, self.sleep = clock, sleep
        self.next_at = 0.0
        self.resume_at = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            at = max(self.next_at, self.resume_at)
            self.next_at = max(now, at) + self.interval
        if at > now:
            self.sleep(at - now)

    def throttled(self, retry_after: float | None) -> None:
        with self._lock:
            self.interval = min(max(self.interval * 2, self.base * 2, 0.01), max(self.SLOWEST, self.base))
            if retry_after is not None:
                self.resume_at = max(self.resume_at, self.clock() + retry_after)

    def ok(self) -> None:
        with self._lock:
            self.interval = max(self.base, self.interval * 0.8)


@dataclass(frozen=True)
class Response:
    url: str  # without credentials
    params: dict
    status: int
    body: bytes  # secrets scrubbed
    headers: dict


class HttpClient:
    """GET with deadlines, retries, an adaptive per-host pace, a circuit breaker and secret-free output."""

    def __init__(
        self,
        *,
        headers: dict[str, str] | None = None,
        secrets: list[str] | None = None,
        rate_per_second: float = 1.0,
        timeout: tuple[float, float] = (10.0, 120.0),
        deadline: float | None = None,
        max_attempts: int = 6,
        max_throttled: int = 20,
        breaker: CircuitBreaker | None = None,
        backoff_initial: float | None = None,
        backoff_max: float = 60.0,
        retry_after_cap: float | None = None,
        refused_hint: str = "this host needs no key: it refuses this network or client",
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": "tradeflow/0.1 (+https://github.com/tradeflow)", **(headers or {})})
        self.secrets = [s for s in (secrets or []) if s]
        self.rate_per_second = rate_per_second
        self.timeout = timeout
        settings = Settings.from_env()  # TRADEFLOW_HTTP_*, read when the client is made
        self.deadline = deadline if deadline is not None else settings.http_deadline
        self.max_attempts = max_attempts
        self.max_throttled = max_throttled
        self.breaker = breaker or CircuitBreaker(consecutive=settings.http_breaker, ratio=settings.http_breaker_ratio)
        if backoff_initial is None:
            backoff_initial = settings.http_backoff
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.retry_after_cap = retry_after_cap if retry_after_cap is not None else settings.http_retry_after_max
        self._sleep, self._clock = sleep, clock
        self._paces: dict[str, Pace] = {}
        self._refused: dict[str, str] = {}
        self.refused_hint = refused_hint  # what a 401/403 asks the operator to check
        self.calls = 0  # attempts sent
        self.retries = 0  # attempts that were retries
        self.throttled = 0  # 429s with Retry-After
        self.on_call: Callable[[], None] | None = None  # progress hook, called once per attempt

    # -- public ----------------------------------------------------------------------------
    def get(self, url: str, params: dict | None = None, allow_status: set[int] | frozenset = frozenset(),
            accept: Callable[[Response], object] | None = None):
        """GET ``url``; return the response (or ``accept(response)``), or raise SourceError naming the request.

        ``accept`` sees every 200/allowed response; raising :class:`RetryableError` from it marks the
        attempt failed (e.g. a truncated body) and the request is sent again.
        """
        params = dict(params or {})
        described = self.describe(url, params)
        host = urlsplit(url).netloc
        failures = throttles = 0
        while True:
            if host in self._refused:
                raise AuthError(self._refused[host])
            if self.breaker.open:
                raise CircuitOpen(f"{self.breaker.open}; not sent: GET {described}")
            self._pace(host).wait()
            self.calls += 1
            if failures or throttles:
                self.retries += 1
            if self.on_call:
                self.on_call()
            try:
                resp = self._get_once(url, params, allow_status, described)
                out = accept(resp) if accept else resp
            except Throttled as exc:
                throttles += 1
                self.throttled += 1
                # capped once, for the pause below and for the host's pace alike (an uncapped pace would hold the
                # host for the full Retry-After after the capped pause)
                wait = min(exc.retry_after or 0.0, self.retry_after_cap)
                self._pace(host).throttled(wait)
                self.breaker.throttled(host)
                if self.breaker.open:
                    raise CircuitOpen(f"{self.breaker.open}; last request: GET {described}") from None
                if throttles > self.max_throttled:
                    self.breaker.failure(host, str(exc))
                    raise SourceError(f"GET {described} still rate-limited after {throttles} Retry-After waits") from None
                log.debug("%s: %s; coming back in %.1f s", described, exc, wait)
                self._sleep(wait)
                continue
            except RetryableError as exc:
                failures += 1
                reason = self._scrub(str(exc))
                self.breaker.failure(host, reason)
                if str(exc).startswith("HTTP 429"):
                    self._pace(host).throttled(None)
                if failures >= self.max_attempts:
                    raise SourceError(f"GET {described} failed after {failures} attempt(s): {reason}") from None
                if self.breaker.open:
                    raise CircuitOpen(f"{self.breaker.open}; last request: GET {described}") from None
                wait = self._backoff(failures)
                log.info("retrying %s in %.1f s after: %s", described, wait, reason)
                self._sleep(wait)
                continue
            self.breaker.success()
            self._pace(host).ok()
            return out

    def describe(self, url: str, params: dict) -> str:
        return self._scrub(f"{url}?{urlencode(params)}" if params else url)

    def scrub(self, text: str) -> str:
        return self._scrub(text)

    # -- internals ---------------------------------------------------------------------------
    def _get_once(self, url: str, params: dict, allow_status, described: str) -> Response:
        deadline = time.monotonic() + self.deadline
        try:
            r = self.session.get(url, params=params, timeout=self.timeout, stream=True)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetryableError(type(exc).__name__) from None
        except requests.RequestException as exc:
            raise SourceError(f"GET {described} failed: {type(exc).__name__}") from None
        with r:
            status, reason = r.status_code, r.reason
            if status in REFUSED_STATUS:
                message = _api_message(self._scrub_bytes(self._read(r, deadline, limit=4096)))
                text = (f"GET {described} was refused (HTTP {status} {reason}): {message or 'no message'}; "
                        f"{self.refused_hint} (every request to this host would be refused: none sent after this)")
                self._refused[urlsplit(url).netloc] = self._scrub(text)
                raise AuthError(self._scrub(text))
            if status in RETRY_STATUS:
                retry_after = _retry_after(r.headers.get("Retry-After"))
                if status == 429 and retry_after is not None:
                    raise Throttled(f"HTTP 429 {reason}", retry_after)
                raise RetryableError(f"HTTP {status} {reason}")
            body = self._scrub_bytes(self._read(r, deadline))
            if status != 200 and status not in allow_status:
                snippet = self._scrub(body[:200].decode("utf-8", "replace").strip())
                raise SourceError(f"GET {described} returned HTTP {status} {reason}: {snippet}")
            headers = {k: self._scrub(v) for k, v in r.headers.items()}
        return Response(url=url, params=params, status=status, body=body, headers=headers)

    def _read(self, r: requests.Response, deadline: float, limit: int | None = None) -> bytes:
        """The whole body, or RetryableError once the wall-clock deadline passes (however slowly it drips)."""
        chunks, size = [], 0
        read_timeout = self.timeout[1] if isinstance(self.timeout, tuple) else self.timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RetryableError(f"no complete body within the {self.deadline:g} s deadline "
                                         f"({size} bytes arrived)")
                _socket_timeout(r, min(left, read_timeout or left))
                chunk = r.raw.read1(1 << 16, decode_content=True)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if limit is not None and size >= limit:
                    break
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            if time.monotonic() >= deadline:
                raise RetryableError(f"no complete body within the {self.deadline:g} s deadline ({size} bytes arrived)") from None
            raise RetryableError(f"body broken off: {type(exc).__name__}") from None
        return b"".join(chunks)

    def _backoff(self, failures: int) -> float:
        base = min(self.backoff_max, self.backoff_initial * 2 ** (failures - 1))
        return base + random.uniform(0, self.backoff_initial)

    def _pace(self, host: str) -> Pace:
        if host not in self._paces:
            self._paces[host] = Pace(self.rate_per_second, self._clock, self._sleep)
        return self._paces[host]

    def _variants(self) -> list[str]:
        out = []
        for s in self.secrets:
            out += [s, quote(s, safe=""), quote_plus(s)]
        return sorted(set(out), key=len, reverse=True)

    def _scrub(self, text: str) -> str:
        for s in self._variants():
            text = text.replace(s, "***")
        return text

    def _scrub_bytes(self, body: bytes) -> bytes:
        for s in self._variants():
            body = body.replace(s.encode(), b"***")
        return body


def _socket_timeout(r: requests.Response, seconds: float) -> None:
    """Bound the next socket read by what is left of the deadline (best effort)."""
    sock = getattr(getattr(r.raw, "connection", None), "sock", None)
    if sock is None:  # urllib3 2.x hands the socket to http.client's response: fp (BufferedReader) → SocketIO
        sock = getattr(getattr(getattr(getattr(r.raw, "_fp", None), "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        try:
            sock.settimeout(max(0.01, seconds))
        except OSError:
            pass


def _api_message(body: bytes) -> str:
    """The API's own words from an error body (JSON ``message``/``error``), else its start."""
    text = body.decode("utf-8", "replace").strip()
    try:
        doc = json.loads(text)
        if isinstance(doc, dict):
            for k in ("message", "Message", "error", "detail"):
                if doc.get(k):
                    return str(doc[k])[:300]
    except ValueError:
        pass
    return " ".join(text.split())[:300]


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
