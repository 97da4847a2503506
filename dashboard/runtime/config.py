"""Dashboard configuration: environment variables and CLI flags, with safe defaults.

One home for every serving default. CLI flags of ``mmpos serve`` override the environment.

========================  =====================================================  ======================
variable                  meaning                                                default
========================  =====================================================  ======================
MMPOS_DATA_DIR            folder of option-chain files the catalog scans         analytics default
MMPOS_HOST                interface to bind (``--host``)                         127.0.0.1
MMPOS_PORT                TCP port (``--port``)                                  8050
MMPOS_DEBUG               Werkzeug/Dash debug server (loopback hosts only)       off
MMPOS_WORKERS             gunicorn worker processes (``--workers``)              the core count, min 2
MMPOS_THREADS             threads per worker (``--threads``)                     4
MMPOS_TIMEOUT             seconds a request may run before its worker restarts   60
MMPOS_GRACEFUL_TIMEOUT    seconds a stopping worker may finish its requests      30
MMPOS_MAX_REQUESTS        requests a worker serves before it is recycled         10000 (+ up to 10 % jitter)
MMPOS_ACCESS_LOG          access-log file, ``-`` for stdout, empty for none      ``-``
MMPOS_ALLOWED_HOSTS       comma-separated Host names served (``*``: any)         loopback names + the bind host
MMPOS_MAX_REQUEST_BYTES   largest request body but a dropped file's (callbacks   1,048,576 (1 MiB); a
                          are a few KB, a 2,000-point box selection ~0.5 MB)     dropped file: 32 MiB, the
                                                                                 loaders' limit, on its
                                                                                 own route only
MMPOS_AUTH_FILE           ``user:hash`` lines (werkzeug hashes): basic auth on   none (no login)
MMPOS_AUTH_PROXY_HEADER   header a trusted proxy sets to the signed-in user      none
MMPOS_TRUSTED_PROXIES     comma-separated proxy addresses/networks               none
MMPOS_LOGIN_PER_USER      wrong passwords for one user name, then 429 until the  5
                          window ends (dashboard.http.login; counted in Redis
                          when MMPOS_REDIS_URL is set, else per worker)
MMPOS_LOGIN_PER_ADDRESS   wrong passwords from one client address, then 429      20
MMPOS_LOGIN_WINDOW        seconds a failure counts                               900
MMPOS_LOGIN_HASH_SLOTS    password hashes (scrypt) checked at once per worker;   1
                          one more gets 503 at once
MMPOS_RESCAN_SECONDS      at most one data-folder rescan per this many seconds   2
MMPOS_STRIKE_WINDOW_PCT   the strike view opens at spot +/- this many percent    5
MMPOS_SHARED_CACHE        analyses shared by the workers (the folder or Redis)   on
MMPOS_CACHE_DIR           shared results cache folder (all workers of a machine)  $XDG_CACHE_HOME/mmpos
MMPOS_REDIS_URL           shared results cache in Redis instead (several hosts)   none (the folder)
MMPOS_CACHE_TIMEOUT       seconds a cached result lives                          3600
MMPOS_CACHE_ENTRIES       most entries the cache folder keeps                    500
MMPOS_CACHE_ITEM_BYTES    largest result cached (pickled bytes)                  67108864 (64 MiB)
MMPOS_DEFAULT_UNDERLYING  underlying the page opens on (when in the data folder)  SPX (else the first)
MMPOS_BACKGROUND_ROWS     a view of a chain this big and not cached yet is       15000 (0: every cold
                          computed as a background job, with progress and cancel  view; off: none)
MMPOS_WARM                each underlying's newest snapshot's opening view is    on
                          computed as the file is found, before anyone asks
                          (needs the shared cache; dashboard.web.warm)
MMPOS_JOBS                where background jobs run: ``local`` (this machine,     local
                          Dash's DiskcacheManager) or ``celery`` (``mmpos
                          worker`` processes on any machine, through Redis at
                          MMPOS_REDIS_URL: Dash's CeleryManager)
========================  =====================================================  ======================

Fixed sizes (per worker, in front of the shared cache): ``dashboard.service.ANALYSIS_MEMORY_ENTRIES``
analyses (48; 30 KB-2 MB each pickled, so under 100 MB), ``dashboard.web.callbacks.views.FIGURE_CACHE_SIZE``
figures. An analysis pickles to 30 KB (demo BTC) to 1.7 MB (a real 20k-row SPX chain): the folder's
500 entries stay under 1 GB; give Redis ``maxmemory`` with ``volatile-lru`` (every cache entry
expires, so they go first; the job queue of ``MMPOS_JOBS=celery`` and Dash's signing secret never).

A bad value raises :class:`UnsafeConfigError` with one line naming the variable (the CLI exits 2).
Nothing here touches the network or the clock; reading the environment is the only side effect.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from analytics.catalog import RESCAN_INTERVAL_S

DEFAULT_HOST = "127.0.0.1"
DATA_DIR_KEY = "MMPOS_DATA_DIR"  # the Flask config key where create_app keeps the data folder
DEFAULT_UNDERLYING = "SPX"  # where most desks start; MMPOS_DEFAULT_UNDERLYING overrides it
DEFAULT_PORT = 8050
DEFAULT_THREADS = 4
DEFAULT_TIMEOUT_S = 60
DEFAULT_GRACEFUL_TIMEOUT_S = 30
# a click on the page is ~10 callback requests: at 1,000 a worker serving 50 users (benchmarks/load.py)
# recycled within the run, dropping its caches mid-burst; the caches are bounded, so 10,000 (minutes of
# a busy desk) is still soon enough for a worker that leaks
DEFAULT_MAX_REQUESTS = 10_000
# Every request body but a dropped file's (its own route, dashboard.uploads.UPLOAD_PATH, takes the
# loaders' MAX_FILE_BYTES): the largest the page posts is a box selection of inputs.MAX_POINTS (2,000)
# points, about 0.5 MB; a callback body is otherwise a few KB. Larger bodies get 413 before Dash reads them.
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
DEFAULT_CACHE_TIMEOUT_S = 3600
# a person mistypes a password a few times; a guesser needs thousands (dashboard.http.login)
DEFAULT_LOGIN_USER_FAILURES = 5
DEFAULT_LOGIN_ADDRESS_FAILURES = 20  # one office behind one NAT address: a few people's mistakes
DEFAULT_LOGIN_WINDOW_S = 900
DEFAULT_LOGIN_HASH_SLOTS = 1  # one scrypt (~0.1-0.6 s of a core) per worker at a time
DEFAULT_CACHE_ENTRIES = 500
DEFAULT_CACHE_ITEM_BYTES = 64 * 1024 * 1024
# rows from which a cold analysis (parse + analyse + draw) can pass ~1 s on a loaded 2-core machine: the
# real 20k-row SPX chain costs 0.2 s to parse and 0.1-0.25 s to analyse when idle, 2-5 s under load
DEFAULT_BACKGROUND_ROWS = 15_000
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
JOB_RUNNERS = ("local", "celery")  # MMPOS_JOBS: Dash's DiskcacheManager here, or CeleryManager on Redis
LOOPBACK_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
_ANY_INTERFACE = frozenset({"0.0.0.0", "::", ""})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class UnsafeConfigError(ValueError):
    """A configuration that must not run: a bad value, or debug mode on a non-loopback interface."""


@dataclass(frozen=True)
class Settings:
    """Everything ``mmpos serve`` and the HTTP edge need (see the table in the module docstring)."""

    data_dir: Path | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    debug: bool = False
    workers: int = 0  # 0: from the core count (default_workers)
    threads: int = DEFAULT_THREADS
    timeout_s: int = DEFAULT_TIMEOUT_S
    graceful_timeout_s: int = DEFAULT_GRACEFUL_TIMEOUT_S
    max_requests: int = DEFAULT_MAX_REQUESTS
    access_log: str = "-"
    allowed_hosts: tuple[str, ...] = ()  # empty: loopback names + the bind host
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    auth_file: Path | None = None
    auth_proxy_header: str | None = None
    trusted_proxies: tuple[str, ...] = ()
    login_user_failures: int = DEFAULT_LOGIN_USER_FAILURES
    login_address_failures: int = DEFAULT_LOGIN_ADDRESS_FAILURES
    login_window_s: int = DEFAULT_LOGIN_WINDOW_S
    login_hash_slots: int = DEFAULT_LOGIN_HASH_SLOTS
    rescan_s: float = RESCAN_INTERVAL_S
    shared_cache: bool = True
    cache_dir: Path | None = None  # None: dashboard.runtime.cache.default_cache_dir()
    redis_url: str | None = None
    cache_timeout_s: int = DEFAULT_CACHE_TIMEOUT_S
    cache_threshold: int = DEFAULT_CACHE_ENTRIES
    cache_max_item_bytes: int = DEFAULT_CACHE_ITEM_BYTES
    background_rows: int | None = DEFAULT_BACKGROUND_ROWS  # None: no background jobs
    jobs: str = JOB_RUNNERS[0]  # "local" or "celery" (needs redis_url)
    warm: bool = True  # dashboard.web.warm: opening views computed before anyone asks

    def checked(self) -> Settings:
        """Return self, or raise UnsafeConfigError naming the first setting that must not run."""
        if self.debug and not is_loopback(self.host):
            raise UnsafeConfigError(
                f"refusing to run with debug on host {self.host!r}: Dash debug mode executes code "
                "sent by the browser; use --host 127.0.0.1 or turn debug off"
            )
        if not 0 < self.port < 65536:
            raise UnsafeConfigError(f"port must be 1-65535, got {self.port}")
        for name, value, lo, hi in (("workers", self.workers, 0, 64), ("threads", self.threads, 1, 64),
                                    ("timeout", self.timeout_s, 1, 3600),
                                    ("graceful timeout", self.graceful_timeout_s, 1, 3600),
                                    ("max requests", self.max_requests, 0, 10**7),
                                    ("max request bytes", self.max_request_bytes, 1024, 2**30),
                                    ("login user failures", self.login_user_failures, 1, 10**6),
                                    ("login address failures", self.login_address_failures, 1, 10**6),
                                    ("login window", self.login_window_s, 1, 86400),
                                    ("login hash slots", self.login_hash_slots, 1, 64),
                                    ("cache timeout", self.cache_timeout_s, 1, 30 * 86400),
                                    ("cache entries", self.cache_threshold, 1, 10**6),
                                    ("cache item bytes", self.cache_max_item_bytes, 1024, 2**31),
                                    ("background rows", self.background_rows or 0, 0, 10**9)):
            if not lo <= value <= hi:
                raise UnsafeConfigError(f"{name} must be {lo}-{hi}, got {value}")
        if not 0 <= self.rescan_s <= 3600:
            raise UnsafeConfigError(f"rescan seconds must be 0-3600, got {self.rescan_s}")
        self.proxy_networks()  # raises on a bad address
        if self.auth_proxy_header and not self.trusted_proxies:
            raise UnsafeConfigError("MMPOS_AUTH_PROXY_HEADER needs MMPOS_TRUSTED_PROXIES (the proxy addresses "
                                    "allowed to set it); without them anyone could claim a user")
        if self.redis_url and not self.redis_url.startswith(_REDIS_SCHEMES):
            raise UnsafeConfigError("MMPOS_REDIS_URL must start with redis://, rediss:// or unix://")
        if self.jobs not in JOB_RUNNERS:
            raise UnsafeConfigError(f"MMPOS_JOBS must be one of {', '.join(JOB_RUNNERS)}, got {self.jobs[:40]!r}")
        if self.jobs == "celery" and not self.redis_url:
            raise UnsafeConfigError("MMPOS_JOBS=celery needs MMPOS_REDIS_URL (the Celery broker, its results and "
                                    "the shared cache the workers fill)")
        if self.jobs == "celery" and not self.shared_cache:
            raise UnsafeConfigError("MMPOS_JOBS=celery needs MMPOS_SHARED_CACHE on (the workers' analyses reach "
                                    "the page through it)")
        if self.auth_file is not None and not self.auth_file.is_file():
            raise UnsafeConfigError(f"MMPOS_AUTH_FILE {self.auth_file.name!r} is not a readable file")
        return self

    @property
    def auth_enabled(self) -> bool:
        """True when a login is configured (credentials file or proxy header)."""
        return self.auth_file is not None or bool(self.auth_proxy_header)

    def worker_count(self) -> int:
        """``workers``, or the default from the core count."""
        return self.workers or default_workers()

    def host_allow_list(self) -> frozenset[str] | None:
        """Lower-case Host names served (without port), or None for any (``*``)."""
        if "*" in self.allowed_hosts:
            return None
        names = set(self.allowed_hosts) or set(LOOPBACK_NAMES)
        if not self.allowed_hosts and self.host not in _ANY_INTERFACE:
            names.add(self.host)
        return frozenset(n.strip().strip("[]").lower() for n in names if n.strip())

    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``trusted_proxies`` as networks (a bare address is a /32 or /128)."""
        try:
            return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in self.trusted_proxies if p.strip())
        except ValueError as err:
            raise UnsafeConfigError(f"MMPOS_TRUSTED_PROXIES: {err}") from err

    def override(self, **values: Any) -> Settings:
        """A copy with every non-None value replaced (CLI flags over the environment)."""
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in values.items() if v is not None and k in known})


def default_workers() -> int:
    """Worker processes from the cores this process may use (the analytics are CPU-bound: one per
    core; at least 2, so a worker that dies or recycles never leaves the desk without a server)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(2, cores)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_underlying(env: Mapping[str, str] | None = None) -> str:
    """The underlying a page without one in its link opens on (``MMPOS_DEFAULT_UNDERLYING``, else SPX).

    The page falls back to the first underlying of the data folder when this one is not there.

    Examples
    --------
    >>> default_underlying({}), default_underlying({"MMPOS_DEFAULT_UNDERLYING": " btc "})
    ('SPX', 'BTC')
    """
    env = os.environ if env is None else env
    return (env.get("MMPOS_DEFAULT_UNDERLYING") or "").strip().upper() or DEFAULT_UNDERLYING


def data_dir_from_env(env: Mapping[str, str] | None = None) -> Path | None:
    """``MMPOS_DATA_DIR`` as a path, or None when unset (the catalog's default folder then)."""
    env = os.environ if env is None else env
    value = env.get("MMPOS_DATA_DIR", "").strip()
    return Path(value).expanduser() if value else None


def _text(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    text = _text(env, name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError as err:
        raise UnsafeConfigError(f"{name} must be an integer, got {text[:40]!r}") from err


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    text = _text(env, name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError as err:
        raise UnsafeConfigError(f"{name} must be a number, got {text[:40]!r}") from err
    if value != value or value in (float("inf"), float("-inf")):
        raise UnsafeConfigError(f"{name} must be a finite number, got {text[:40]!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    text = _text(env, name).lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UnsafeConfigError(f"{name} must be on or off, got {text[:40]!r}")


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in _text(env, name).split(",") if x.strip())


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``MMPOS_*`` environment variables (see the module docstring).

    Raises
    ------
    UnsafeConfigError
        One line naming the variable whose value cannot be used.
    """
    env = os.environ if env is None else env
    strike_window_pct(env)  # read when a view is drawn; a bad value stops serve here, with one line
    auth_file = _text(env, "MMPOS_AUTH_FILE")
    cache_dir = _text(env, "MMPOS_CACHE_DIR")
    return Settings(
        data_dir=data_dir_from_env(env),
        host=_text(env, "MMPOS_HOST") or DEFAULT_HOST,
        port=_int(env, "MMPOS_PORT", DEFAULT_PORT),
        debug=_bool(env, "MMPOS_DEBUG"),
        workers=_int(env, "MMPOS_WORKERS", 0),
        threads=_int(env, "MMPOS_THREADS", DEFAULT_THREADS),
        timeout_s=_int(env, "MMPOS_TIMEOUT", DEFAULT_TIMEOUT_S),
        graceful_timeout_s=_int(env, "MMPOS_GRACEFUL_TIMEOUT", DEFAULT_GRACEFUL_TIMEOUT_S),
        max_requests=_int(env, "MMPOS_MAX_REQUESTS", DEFAULT_MAX_REQUESTS),
        access_log=env.get("MMPOS_ACCESS_LOG", "-").strip(),
        allowed_hosts=_list(env, "MMPOS_ALLOWED_HOSTS"),
        max_request_bytes=_int(env, "MMPOS_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES),
        auth_file=Path(auth_file).expanduser() if auth_file else None,
        auth_proxy_header=_text(env, "MMPOS_AUTH_PROXY_HEADER") or None,
        trusted_proxies=_list(env, "MMPOS_TRUSTED_PROXIES"),
        login_user_failures=_int(env, "MMPOS_LOGIN_PER_USER", DEFAULT_LOGIN_USER_FAILURES),
        login_address_failures=_int(env, "MMPOS_LOGIN_PER_ADDRESS", DEFAULT_LOGIN_ADDRESS_FAILURES),
        login_window_s=_int(env, "MMPOS_LOGIN_WINDOW", DEFAULT_LOGIN_WINDOW_S),
        login_hash_slots=_int(env, "MMPOS_LOGIN_HASH_SLOTS", DEFAULT_LOGIN_HASH_SLOTS),
        rescan_s=_float(env, "MMPOS_RESCAN_SECONDS", RESCAN_INTERVAL_S),
        shared_cache=_bool(env, "MMPOS_SHARED_CACHE", default=True),
        cache_dir=Path(cache_dir).expanduser() if cache_dir else None,
        redis_url=_text(env, "MMPOS_REDIS_URL") or None,
        cache_timeout_s=_int(env, "MMPOS_CACHE_TIMEOUT", DEFAULT_CACHE_TIMEOUT_S),
        cache_threshold=_int(env, "MMPOS_CACHE_ENTRIES", DEFAULT_CACHE_ENTRIES),
        cache_max_item_bytes=_int(env, "MMPOS_CACHE_ITEM_BYTES", DEFAULT_CACHE_ITEM_BYTES),
        background_rows=(None if _text(env, "MMPOS_BACKGROUND_ROWS").lower() == "off"
                         else _int(env, "MMPOS_BACKGROUND_ROWS", DEFAULT_BACKGROUND_ROWS)),
        jobs=_text(env, "MMPOS_JOBS").lower() or JOB_RUNNERS[0],
        warm=_bool(env, "MMPOS_WARM", default=True),
    )


# --- the strike view's default frame -------------------------------------------------------------
STRIKE_WINDOW_ENV = "MMPOS_STRIKE_WINDOW_PCT"
DEFAULT_STRIKE_WINDOW_PCT = 5.0  # the gamma/vanna/charm/change views open at spot +/- this many %
STRIKE_WINDOW_LIMITS_PCT = (0.5, 100.0)


def strike_window_pct(env: Mapping[str, str] | None = None) -> float:
    """The strike view's initial half-width in percent of spot: ``$MMPOS_STRIKE_WINDOW_PCT`` or 5.

    Raises
    ------
    UnsafeConfigError
        A value that is not a number from 0.5 to 100.

    Examples
    --------
    >>> strike_window_pct({}), strike_window_pct({"MMPOS_STRIKE_WINDOW_PCT": "10"})
    (5.0, 10.0)
    """
    env = os.environ if env is None else env
    value = _float(env, STRIKE_WINDOW_ENV, DEFAULT_STRIKE_WINDOW_PCT)
    lo, hi = STRIKE_WINDOW_LIMITS_PCT
    if not lo <= value <= hi:
        raise UnsafeConfigError(f"{STRIKE_WINDOW_ENV}={value:g} is out of range: allowed {lo:g} to {hi:g} (percent)")
    return value
