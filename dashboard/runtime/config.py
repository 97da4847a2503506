"""Every ``MMPOS_*`` setting, declared once: :class:`Settings` (pydantic-settings, prefix ``MMPOS_``).

Each field carries its environment variable, meaning, default and bounds; the README's table is
generated from them (``python -m dashboard.runtime.config --markdown``; a test checks the README's copy).
CLI flags of ``mmpos serve`` override the environment (:meth:`Settings.override`).

``Settings(...)`` is the defaults plus the values given; :func:`from_env` reads the environment (or a
mapping standing for it). A bad value raises :class:`UnsafeConfigError` with one line naming the
variable (the CLI exits 2); :meth:`Settings.checked` adds the rules that join several settings (debug
on loopback only, a proxy header needs trusted proxies, Celery needs Redis). Three are read by
:mod:`analytics`, which never imports the dashboard: ``MMPOS_DATA_DIR`` (:data:`analytics.catalog.DATA_DIR_ENV`),
``MMPOS_STATE_DIR`` (:data:`analytics.history.STATE_DIR_ENV`) and ``MMPOS_CALENDAR_CACHE``
(:data:`analytics.calendars.CALENDAR_CACHE_ENV`); they are declared here too (a test checks both
read them alike).

Fixed sizes (per worker, in front of the shared cache): ``dashboard.service.ANALYSIS_MEMORY_ENTRIES``
analyses (48; 30 KB-2 MB each pickled, so under 100 MB), ``dashboard.web.callbacks.views.FIGURE_CACHE_SIZE``
figures, and the request budget's measurements (``dashboard.service._Measured``: one rate and the
keys of the analyses the worker computed, as many as it keeps, < 10 KB). An analysis pickles to 30 KB (demo BTC) to 1.7 MB (a real 20k-row SPX chain): the folder's
500 entries stay under 1 GB; give Redis ``maxmemory`` with ``volatile-lru`` (every cache entry
expires, so they go first; the job queue of ``MMPOS_JOBS=celery`` and Dash's signing secret never).

Nothing here touches the network or the clock; reading the environment is the only side effect.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict

from analytics.catalog import RESCAN_INTERVAL_S
from analytics.collect_rules import parse_collect
from analytics.sources.fetch import CBOE_DELAYED_API, DERIBIT_API

ENV_PREFIX = "MMPOS_"
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
# seconds of work one page request may start (dashboard.service.estimated_cost_s); a view estimated to cost
# more goes to a background job, or is refused with a banner when none can take it (issue #17)
DEFAULT_REQUEST_BUDGET_S = 3.0
DEFAULT_JOB_TIME_LIMIT_S = 120  # a background job still running after this is stopped (the page says so)
DEFAULT_STRIKE_WINDOW_PCT = 5.0  # the gamma/vanna/charm/change views open at spot +/- this many %
STRIKE_WINDOW_LIMITS_PCT = (0.5, 100.0)
STRIKE_WINDOW_ENV = "MMPOS_STRIKE_WINDOW_PCT"
DEFAULT_ALERTS_ATTEMPTS = 4  # a webhook or SMTP relay down for a few seconds is retried, not lost
DEFAULT_ALERTS_BACKOFF_S = 2.0  # 2, 4, 8 s between the tries: 14 s in all before the dead-letter log
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
JOB_RUNNERS = ("local", "celery")  # MMPOS_JOBS: Dash's DiskcacheManager here, or CeleryManager on Redis
LOOPBACK_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
_ANY_INTERFACE = frozenset({"0.0.0.0", "::", ""})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class UnsafeConfigError(ValueError):
    """A configuration that must not run: a bad value, or debug mode on a non-loopback interface."""


def _env(name: str, meaning: str, default_text: str | None = None, **extra: Any) -> dict[str, Any]:
    """A field's environment variable (``MMPOS_`` + ``name``), its meaning and, when the default is not
    a plain value, how the README states it."""
    return {"validation_alias": ENV_PREFIX + name, "description": meaning,
            "json_schema_extra": {"env": ENV_PREFIX + name, "default_text": default_text, **extra}}


Hosts = Annotated[tuple[str, ...], NoDecode]  # comma-separated in the environment


class Settings(BaseSettings):
    """Every ``MMPOS_*`` setting (environment variable = ``MMPOS_`` + the name in ``env``); see the
    module docstring. Frozen: :meth:`override` makes a validated copy."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, case_sensitive=True, frozen=True,
                                      populate_by_name=True, extra="ignore")

    data_dir: Path | None = Field(None, **_env("DATA_DIR", "folder of snapshots (`--data-dir`)",
                                               "`data/` of the project"))
    host: str = Field(DEFAULT_HOST, **_env("HOST", "interface to bind (`--host`)"))
    port: int = Field(DEFAULT_PORT, ge=1, le=65535, **_env("PORT", "TCP port (`--port`)"))
    debug: bool = Field(False, **_env("DEBUG", "Werkzeug/Dash debug server (loopback hosts only)"))
    workers: int = Field(0, ge=0, le=64, **_env("WORKERS", "gunicorn worker processes (`--workers`); 0: "
                                                "one per core", "the core count, min 2"))
    threads: int = Field(DEFAULT_THREADS, ge=1, le=64, **_env("THREADS", "threads per worker (`--threads`)"))
    timeout_s: int = Field(DEFAULT_TIMEOUT_S, ge=1, le=3600,
                           **_env("TIMEOUT", "seconds a request may run before its worker restarts"))
    graceful_timeout_s: int = Field(DEFAULT_GRACEFUL_TIMEOUT_S, ge=1, le=3600,
                                    **_env("GRACEFUL_TIMEOUT", "seconds a stopping worker may finish its requests"))
    max_requests: int = Field(DEFAULT_MAX_REQUESTS, ge=0, le=10**7,
                              **_env("MAX_REQUESTS", "requests a worker serves before it is recycled "
                                     "(+ up to 10 % jitter)"))
    access_log: str = Field("-", **_env("ACCESS_LOG", "access-log file (`-`: stdout, empty: none)", "`-`",
                                        empty_is_value=True))
    allowed_hosts: Hosts = Field((), **_env("ALLOWED_HOSTS", "Host names served, comma-separated (`*`: any)",
                                            "loopback names + the bind host"))
    max_request_bytes: int = Field(DEFAULT_MAX_REQUEST_BYTES, ge=1024, le=2**30,
                                   **_env("MAX_REQUEST_BYTES", "largest request body but a dropped file's (its "
                                          "own route takes up to the loaders' 32 MiB)", "1048576 (1 MiB)"))
    auth_file: Path | None = Field(None, **_env("AUTH_FILE", "`user:hash` lines (werkzeug hashes): basic auth on",
                                                "none (no login)"))
    auth_proxy_header: str | None = Field(None, **_env("AUTH_PROXY_HEADER",
                                                       "header a trusted proxy sets to the signed-in user"))
    trusted_proxies: Hosts = Field((), **_env("TRUSTED_PROXIES", "addresses or networks allowed to set that "
                                              "header (and `X-Forwarded-Proto`), comma-separated"))
    login_user_failures: int = Field(DEFAULT_LOGIN_USER_FAILURES, ge=1, le=10**6,
                                     **_env("LOGIN_PER_USER", "wrong passwords for one user name, then 429 until "
                                            "the window ends (dashboard.http.login; counted in Redis when "
                                            "`MMPOS_REDIS_URL` is set, else per worker)"))
    login_address_failures: int = Field(DEFAULT_LOGIN_ADDRESS_FAILURES, ge=1, le=10**6,
                                        **_env("LOGIN_PER_ADDRESS", "wrong passwords from one client address, "
                                               "then 429"))
    login_window_s: int = Field(DEFAULT_LOGIN_WINDOW_S, ge=1, le=86400,
                                **_env("LOGIN_WINDOW", "seconds a failure counts"))
    login_hash_slots: int = Field(DEFAULT_LOGIN_HASH_SLOTS, ge=1, le=64,
                                  **_env("LOGIN_HASH_SLOTS", "password hashes (scrypt) checked at once per worker; "
                                         "one more gets 503 at once"))
    rescan_s: float = Field(RESCAN_INTERVAL_S, ge=0, le=3600, allow_inf_nan=False,
                            **_env("RESCAN_SECONDS", "at most one data-folder rescan per this many seconds"))
    strike_window_pct: float = Field(DEFAULT_STRIKE_WINDOW_PCT, ge=STRIKE_WINDOW_LIMITS_PCT[0],
                                     le=STRIKE_WINDOW_LIMITS_PCT[1], allow_inf_nan=False,
                                     **_env("STRIKE_WINDOW_PCT", "the strike view opens at spot ± this many percent"))
    default_underlying: str = Field(DEFAULT_UNDERLYING, min_length=1, max_length=40,
                                    **_env("DEFAULT_UNDERLYING", "underlying a link without one opens on (when "
                                           "in the data folder)", "`SPX`, else the first"))
    state_dir: Path | None = Field(None, **_env("STATE_DIR", "writable folder for the history store and the "
                                                "page's uploads when the data folder is read-only",
                                                "none (`<data>/.mmpos`; uploads: the temp folder)"))
    shared_cache: bool = Field(True, **_env("SHARED_CACHE", "analyses shared by the workers through the cache "
                                            "folder (or Redis)"))
    cache_dir: Path | None = Field(None, **_env("CACHE_DIR", "results cache shared by the workers of one machine",
                                                "`$XDG_CACHE_HOME/mmpos` (`~/.cache/mmpos`)"))
    redis_url: str | None = Field(None, **_env("REDIS_URL", "results cache in Redis instead, shared by several "
                                               "machines (`redis://`, `rediss://`, `unix://`)", "none (the folder)"))
    cache_timeout_s: int = Field(DEFAULT_CACHE_TIMEOUT_S, ge=1, le=30 * 86400,
                                 **_env("CACHE_TIMEOUT", "seconds a cached result lives"))
    cache_threshold: int = Field(DEFAULT_CACHE_ENTRIES, ge=1, le=10**6,
                                 **_env("CACHE_ENTRIES", "most entries the cache folder keeps"))
    cache_max_item_bytes: int = Field(DEFAULT_CACHE_ITEM_BYTES, ge=1024, le=2**31,
                                      **_env("CACHE_ITEM_BYTES", "largest result cached (pickled bytes)",
                                             "67108864 (64 MiB)"))
    background_rows: int | None = Field(DEFAULT_BACKGROUND_ROWS, ge=0, le=10**9,
                                        **_env("BACKGROUND_ROWS", "a not-yet-cached view of a chain with this many "
                                               "rows runs as a background job, with progress and cancel (0: every "
                                               "cold view; `off`: none)"))
    request_budget_s: float = Field(DEFAULT_REQUEST_BUDGET_S, gt=0, le=600, allow_inf_nan=False,
                                    **_env("REQUEST_BUDGET_S", "seconds of work a page request may start: a view "
                                           "estimated (rows x grid points x curves) or measured to cost more runs "
                                           "as a background job, or is refused with a banner when no job can "
                                           "take it"))
    job_time_limit_s: int = Field(DEFAULT_JOB_TIME_LIMIT_S, ge=1, le=86400,
                                  **_env("JOB_TIME_LIMIT", "seconds a background job may run before it is stopped"))
    jobs: str = Field(JOB_RUNNERS[0], **_env("JOBS", "where background jobs run: `local` (this machine) or "
                                             "`celery` (`mmpos worker` processes on any machine, through "
                                             "`MMPOS_REDIS_URL`)", "`local`"))
    calendar_cache: bool = Field(True, **_env("CALENDAR_CACHE", "the NYSE session bounds kept on disk under "
                                              "`$XDG_CACHE_HOME/mmpos-calendars` (off: built from the library in "
                                              "every process)"))
    warm: bool = Field(True, **_env("WARM", "each underlying's newest snapshot's opening view is computed when "
                                    "the file is found, before anyone opens it (needs the shared cache)"))
    alerts_file: Path | None = Field(None, **_env("ALERTS_FILE", "alert rules and where to send them (TOML, "
                                                  "[alerts.md](alerts.md)): checked as each new snapshot "
                                                  "lands", "none (no alerts)"))
    alerts_attempts: int = Field(DEFAULT_ALERTS_ATTEMPTS, ge=1, le=20,
                                 **_env("ALERTS_ATTEMPTS", "tries per alert and channel before the dead-letter log"))
    alerts_backoff_s: float = Field(DEFAULT_ALERTS_BACKOFF_S, ge=0, le=600, allow_inf_nan=False,
                                    **_env("ALERTS_BACKOFF", "seconds before an alert's first retry (doubling "
                                           "after)"))

    collect: str | None = Field(None, **_env("COLLECT", "`mmpos serve` also runs one `mmpos collect` process for "
                                             "these underlyings and interval, e.g. `SPX,BTC@5m`", "none (off)"))
    collect_keep_days: int | None = Field(None, ge=1, le=36500,
                                          **_env("COLLECT_KEEP_DAYS", "the collector keeps every snapshot of this "
                                                 "many days, then the last of each day (`--keep-days`)",
                                                 "none (keeps all)"))
    cboe_base_url: str = Field(CBOE_DELAYED_API, **_env("CBOE_BASE_URL", "CBOE delayed-quotes root "
                                                        "(`<root>/_SPX.json`) for `mmpos fetch`/`collect`"))
    deribit_base_url: str = Field(DERIBIT_API, **_env("DERIBIT_BASE_URL", "Deribit public API root for "
                                                      "`mmpos fetch`/`collect`"))

    def __init__(self, _flags: frozenset[str] = frozenset(), **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as err:  # one line; a value given as a CLI flag (``_flags``) is named as the flag
            raise UnsafeConfigError(_one_line(err, _flags)) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (init_settings,)  # Settings(...) is the defaults plus what is given; from_env reads the environment

    @field_validator("data_dir", "auth_file", "state_dir", "cache_dir", "alerts_file", mode="before")
    @classmethod
    def _path(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return Path(value).expanduser() if value else None
        return value

    @field_validator("host", "auth_proxy_header", "redis_url", "access_log", mode="before")
    @classmethod
    def _stripped(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("auth_proxy_header", "redis_url", mode="after")
    @classmethod
    def _none_if_empty(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("host", mode="after")
    @classmethod
    def _host(cls, value: str) -> str:
        return value or DEFAULT_HOST

    @field_validator("allowed_hosts", "trusted_proxies", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(x.strip() for x in value.split(",") if x.strip())
        return tuple(value) if isinstance(value, list) else value

    @field_validator("debug", "shared_cache", "warm", "calendar_cache", mode="before")
    @classmethod
    def _on_off(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError("must be on or off")
        return value

    @field_validator("collect", mode="before")
    @classmethod
    def _collect(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip() or value.strip().lower() == "off":
                return None
            parse_collect(value)  # raises ValueError naming the problem
            return value.strip()
        return value

    @field_validator("cboe_base_url", "deribit_base_url", mode="before")
    @classmethod
    def _base_url(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().rstrip("/")
            if not value.startswith(("http://", "https://")):
                raise ValueError("must start with http:// or https://")
        return value

    @field_validator("collect_keep_days", mode="before")
    @classmethod
    def _keep_all(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip().lower() in ("", "all") else value

    @field_validator("background_rows", mode="before")
    @classmethod
    def _off_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == "off":
            return None
        return value

    @field_validator("jobs", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() or JOB_RUNNERS[0] if isinstance(value, str) else value

    @field_validator("default_underlying", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() or DEFAULT_UNDERLYING if isinstance(value, str) else value

    def checked(self) -> Settings:
        """Return self, or raise UnsafeConfigError naming the first setting that must not run (the bounds
        of each value are checked when it is set; these rules join several)."""
        if self.debug and not is_loopback(self.host):
            raise UnsafeConfigError(
                f"refusing to run with debug on host {self.host!r}: Dash debug mode executes code "
                "sent by the browser; use --host 127.0.0.1 or turn debug off"
            )
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
        """A validated copy with every non-None value replaced (CLI flags over the environment)."""
        given = {k: v for k, v in values.items() if v is not None and k in type(self).model_fields}
        return type(self)(frozenset(given), **{**self.model_dump(), **given}) if given else self


def env_name(field: str) -> str:
    """The environment variable of the :class:`Settings` field ``field``.

    Examples
    --------
    >>> env_name("timeout_s"), env_name("state_dir")
    ('MMPOS_TIMEOUT', 'MMPOS_STATE_DIR')
    """
    return str(Settings.model_fields[field].validation_alias)


def _one_line(err: ValidationError, flags: frozenset[str] = frozenset()) -> str:
    """The first problem of ``err`` as one line naming the variable (``MMPOS_PORT must be an integer, got
    'abc'``), or the CLI flag when the value came from one of ``flags`` (``--port must be 1-65535, got 0``)."""
    problem = err.errors()[0]
    field = str(problem["loc"][0]) if problem["loc"] else ""
    if field in flags:
        name = "--" + field.replace("_", "-")
    elif field in Settings.model_fields:
        name = env_name(field)
    else:
        name = field
    value = problem.get("input")
    shown = repr(value[:40]) if isinstance(value, str) else repr(value)
    kind, ctx = problem["type"], problem.get("ctx") or {}
    if kind.startswith("int_"):
        return f"{name} must be an integer, got {shown}"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"{name} must be a finite number, got {shown}"
    if kind in ("greater_than_equal", "less_than_equal"):
        meta = Settings.model_fields.get(field) or next(
            (f for f in Settings.model_fields.values() if f.validation_alias == field), None)
        lo, hi = _bounds(meta)
        return f"{name} must be {_num(lo)}-{_num(hi)}, got {shown}"
    if kind == "value_error":
        return f"{name} {str(ctx.get('error', problem['msg']))}, got {shown}"
    return f"{name}: {problem['msg'].lower()}, got {shown}"


def _num(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:g}"


def _bounds(field: Any) -> tuple[float, float]:
    lo = hi = float("nan")
    for rule in getattr(field, "metadata", ()):
        lo = getattr(rule, "ge", lo) if getattr(rule, "ge", None) is not None else lo
        hi = getattr(rule, "le", hi) if getattr(rule, "le", None) is not None else hi
    return lo, hi


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source reading a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._mapping = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # an empty value is unset, but for the access log, where empty means none
        return {k: v for k, v in self._mapping.items()
                if k.startswith(ENV_PREFIX) and (v.strip() or k == env_name("access_log"))}


def env_values(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``MMPOS_*`` values set in ``env`` (default ``os.environ``), by field name, as text. An empty
    value is unset (the default), but for ``MMPOS_ACCESS_LOG`` where empty means no access log."""
    env = os.environ if env is None else env
    found = _MappingSource(Settings, env)()
    by_alias = {str(f.validation_alias): name for name, f in Settings.model_fields.items()}
    return {by_alias.get(k, k): v for k, v in found.items()}


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``MMPOS_*`` environment variables (``env`` stands for ``os.environ`` when given).

    Raises
    ------
    UnsafeConfigError
        One line naming the variable whose value cannot be used.
    """
    return Settings(**env_values(env))


def setting(field: str, env: Mapping[str, str] | None = None) -> Any:
    """One setting from the environment, the others not read (a bad ``MMPOS_PORT`` does not stop the
    page from reading ``MMPOS_DEFAULT_UNDERLYING``). Raises UnsafeConfigError for a bad value of it."""
    values = env_values(env)
    return getattr(Settings(**{k: v for k, v in values.items() if k == field}), field)


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
    return setting("default_underlying", env)


def data_dir_from_env(env: Mapping[str, str] | None = None) -> Path | None:
    """``MMPOS_DATA_DIR`` as a path, or None when unset (the catalog's default folder then)."""
    return setting("data_dir", env)


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
    return setting("strike_window_pct", env)


# --------------------------------------------------------------------------- the README's table


def _default_text(name: str) -> str:
    field = Settings.model_fields[name]
    extra = field.json_schema_extra or {}
    text = extra.get("default_text") if isinstance(extra, dict) else None
    if text:
        return str(text)
    value = field.default
    if value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"`{value}`" if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)


def _bounds_text(name: str) -> str:
    lo, hi = _bounds(Settings.model_fields[name])
    if lo != lo and hi != hi:
        return ""
    if lo == lo and hi == hi:
        return f"; {_num(lo)}-{_num(hi)}"
    return f"; at least {_num(lo)}" if lo == lo else f"; at most {_num(hi)}"


def markdown_table() -> str:
    """The README's table of settings, one row per ``MMPOS_*`` variable (generated from :class:`Settings`)."""
    rows = ["| variable | meaning | default |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `{field.validation_alias}` | {field.description}{_bounds_text(name)} | {_default_text(name)} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m dashboard.runtime.config --markdown``: print the README's table of settings."""
    parser = argparse.ArgumentParser(prog="python -m dashboard.runtime.config",
                                     description="The MMPOS_* settings (dashboard/runtime/config.py).")
    parser.add_argument("--markdown", action="store_true", help="print the README's table of settings")
    parser.parse_args(argv)
    sys.stdout.write(markdown_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
