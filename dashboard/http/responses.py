"""Identical callback requests get the same bytes back without running the callback again.

A desk opens the same few views: fifty people on today's SPX snapshot post the very same
``/_dash-update-component`` bodies (view state, last drawn keys), and a callback's output depends on
nothing else than its body and the data folder. Each worker keeps the last responses, keyed by a
hash of the body and of the data folder's state (every entry's id and current
:class:`~analytics.catalog.FileVersion`, stat'ed per request, so a file replaced with its mtime kept
is never answered from here). A warm main update then costs a lookup and the compression
(~5 ms) instead of ~20-30 ms of tables, KPI cards and JSON; on a loaded machine that is what keeps
p95 under a second at fifty users (``benchmarks/load.py``).

Fifty people open the same view within the same second, before its first response is stored: the
first request for a key computes it and the others in the worker wait for its bytes
(:data:`FOLLOWER_WAIT_S` at most), instead of each running the callback (on two cores, ten copies of a
250 ms update queue up to seconds). A response that is not kept (an error, :func:`skip`) releases them
at once to run the callback themselves.

Workers share their answers: with the shared cache on (:func:`dashboard.service.shared_cache`), a
kept response is also written to it (its own folder, :func:`dashboard.runtime.cache.responses_dir`, or the same
Redis) for :data:`SHARED_TIMEOUT_S`, and a request no thread of this worker is computing is looked up
there before its callback runs; the key then also holds a digest of the code, so a response written
before an upgrade is never read after it. Fifty users on two workers, demo data, four runs each
interleaved with the code before (``benchmarks/load.py --sessions 50``, load 1.8-5): main update p95
306-428 ms instead of 411-709 (p50 mixed: 25-114 against 45-97 ms); on real data within the noise
(the cold views' background jobs set its p95). No cross-worker lock: at most one computation per worker.

Bounded: :data:`RESPONSE_CACHE_ENTRIES` responses and :data:`RESPONSE_CACHE_BYTES` in all per
worker, none larger than :data:`RESPONSE_MAX_BYTES`. Only 200 responses are kept, never a background
job's (:mod:`dashboard.web.callbacks.work`), nor a callback that calls :func:`skip`. The lookup runs
after the edge (:mod:`dashboard.http.edge`: Host check, login, size limit, the body's shape), so nobody
gets a response they could not have asked for; the key holds the Content-Type, and a body that is not
JSON is never answered from here (a body refused as text/plain once got 200 after the same bytes were
answered as JSON).
"""

from __future__ import annotations

import functools
import hashlib
import threading
import weakref
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, request

from analytics.catalog import file_version
from analytics.locks import ForkSafeLock
from dashboard import service
from dashboard.http.edge import DATA_DIR_KEY
from dashboard.runtime import caches

UPDATE_PATH = "/_dash-update-component"
# a demo response is ~70 KB on average (some a few hundred): the bytes bound what varies. 128 hold ~3x the
# distinct requests of the load benchmark's four steps (33-49 bodies); 256 held 18 MB of the 200-view memory
# figure (bench_dashboard.py: 358 -> 350 MB with 128)
RESPONSE_CACHE_ENTRIES = 128
RESPONSE_CACHE_BYTES = 32 * 1024 * 1024  # per worker
RESPONSE_MAX_BYTES = 4 * 1024 * 1024
EXTENSION_KEY = "mmpos_responses"
BACKGROUND_ARGS = ("cacheKey", "job", "oldJob", "cancelJob")  # Dash's background-job handles
SHARED_TIMEOUT_S = 300  # a response in the shared cache (its key names the file versions: never stale)
SHARED_NAMESPACE = "response"
FOLLOWER_WAIT_S = 30.0  # longest wait for an identical request in flight (then run the callback here)
_ALL: weakref.WeakSet[ResponseCache] = weakref.WeakSet()


def _body_bytes(item: tuple[bytes, str]) -> int:
    return len(item[0])


class ResponseCache:
    """A bounded LRU of response bodies (bytes and mimetype) by key, at most ``entries`` of them and
    ``max_bytes`` of bodies; thread-safe. Every instance is emptied by :func:`clear_all` (registered
    in :mod:`dashboard.runtime.caches` as ``dashboard.http.responses``)."""

    def __init__(self, entries: int = RESPONSE_CACHE_ENTRIES, max_bytes: int = RESPONSE_CACHE_BYTES) -> None:
        self._items = caches.LockedLRU(max_bytes, getsizeof=_body_bytes, max_entries=entries)
        self._lock = threading.Lock()
        self.hits = 0
        self._inflight: dict[str, threading.Event] = {}
        _ALL.add(self)

    def lead_or_follow(self, key: str) -> threading.Event | None:
        """None when this request computes ``key`` (the leader: it must :meth:`release` it); else the
        event the leader sets when its response is stored or dropped."""
        with self._lock:
            event = self._inflight.get(key)
            if event is None:
                self._inflight[key] = threading.Event()
            return event

    def release(self, key: str) -> None:
        """The leader of ``key`` is done (its response stored or not): wake the requests waiting for it."""
        with self._lock:
            event = self._inflight.pop(key, None)
        if event is not None:
            event.set()

    def get(self, key: str) -> tuple[bytes, str] | None:
        item = self._items.get(key)
        if item is not None:
            with self._lock:
                self.hits += 1
        return item

    def put(self, key: str, body: bytes, mimetype: str) -> None:
        if len(body) > min(RESPONSE_MAX_BYTES, self._items.maxsize):
            return
        self._items[key] = (body, mimetype)

    def clear(self) -> None:
        self._items.clear()


def clear_all() -> None:
    """Empty every response cache this process reads: its own and the shared one every worker sees
    (benchmarks measure uncached requests)."""
    for cache in list(_ALL):
        cache.clear()
    shared = shared_responses()
    if shared is not None:
        shared.clear()


caches.register("dashboard.http.responses", clear_all)


_SHARED: dict[int, Any] = {}  # the service's shared cache (by id) -> the one for responses
_SHARED_LOCK = ForkSafeLock()  # a forked job gets its own


def shared_responses() -> Any:
    """The :class:`~dashboard.runtime.cache.SharedCache` of responses every worker sees, or None (shared cache off)."""
    base = service.shared_cache()
    if base is None:
        return None
    with _SHARED_LOCK:
        got = _SHARED.get(id(base))
        if got is None or got[0] is not base:
            from dashboard.runtime.cache import SharedCache, responses_dir

            # as many as a worker keeps (the folder: 128 x ~70 KB typical, 512 MB at the very most)
            settings = base.settings.override(cache_dir=responses_dir(base.settings),
                                           cache_threshold=RESPONSE_CACHE_ENTRIES)
            got = _SHARED[id(base)] = (base, SharedCache(settings))
        return got[1]


@functools.cache
def code_digest() -> bytes:
    """A digest of the code answering callbacks (the dashboard's and the analytics' sources)."""
    digest = hashlib.sha256(service.code_version().encode())
    for path in sorted(Path(__file__).resolve().parents[1].rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.digest()


def _shared_key(key: str) -> str:
    return f"{SHARED_NAMESPACE}:{key}"


def folder_state(data_dir: str | None) -> bytes:
    """What every callback output may depend on besides its body: the catalog's entries (ids, kinds,
    errors) and each good file's current content version."""
    catalog = service.get_catalog(data_dir)
    parts = [repr(hash(catalog.entries))]
    parts += [f"{e.id}:{tuple(file_version(e.path) or ())}" for e in catalog.entries if not e.broken]
    return "\n".join(parts).encode()


def skip() -> None:
    """Do not keep this request's response (a callback whose answer depends on more than its body,
    e.g. on what the shared cache holds now); identical requests waiting for it run their own."""
    key = g.pop("mmpos_response_key", None)
    if key is not None:
        current_app.extensions[EXTENSION_KEY].release(key)


def _key() -> str | None:
    if request.method != "POST" or request.path != UPDATE_PATH:
        return None
    if any(arg in request.args for arg in BACKGROUND_ARGS):  # polls of a background job
        return None
    if not request.is_json:  # Dash answers 415 to any other content type: never from here
        return None
    try:
        state = folder_state(current_app.config.get(DATA_DIR_KEY))
    except Exception:  # noqa: BLE001 - no catalog: let the callback answer (and show why)
        return None
    digest = hashlib.sha256(request.get_data(cache=True))
    digest.update(b"\0" + request.mimetype.encode() + b"\0")  # the answer depends on how the body is read
    digest.update(state)
    digest.update(code_digest())
    return digest.hexdigest()


def _before_request() -> Response | None:
    key = _key()
    if key is None:
        return None
    cache = current_app.extensions[EXTENSION_KEY]
    hit = cache.get(key)
    if hit is None:
        in_flight = cache.lead_or_follow(key)
        if in_flight is None:
            shared = shared_responses()
            hit = shared.get(_shared_key(key)) if shared is not None else None
            if hit is None:
                g.mmpos_response_key = key  # stored after the callback ran, then released
                return None
            cache.put(key, *hit)  # another worker's answer
            cache.release(key)
        else:
            in_flight.wait(FOLLOWER_WAIT_S)
            hit = cache.get(key)
            if hit is None:  # not kept (an error, skip()): run the callback here
                return None
    body, mimetype = hit
    return Response(body, status=200, mimetype=mimetype)


def _after_request(response: Response) -> Response:
    key = g.pop("mmpos_response_key", None)
    if key is not None:
        cache = current_app.extensions[EXTENSION_KEY]
        if response.status_code == 200 and not response.direct_passthrough:
            body = response.get_data()
            if b'"cacheKey"' not in body:  # a background job was started: its handle is for this page only
                cache.put(key, body, response.mimetype)
                shared = shared_responses()
                if shared is not None:
                    shared.set(_shared_key(key), (body, response.mimetype), SHARED_TIMEOUT_S)
        cache.release(key)
    return response


def _teardown_request(_exc: BaseException | None) -> None:
    """A leader whose request ended without ``_after_request`` (an exception) still wakes its followers."""
    key = g.pop("mmpos_response_key", None)
    if key is not None:
        current_app.extensions[EXTENSION_KEY].release(key)


def install(server: Flask) -> Flask:
    """Answer repeated callback requests of ``server`` from this worker's cache (idempotent)."""
    if EXTENSION_KEY not in server.extensions:
        server.extensions[EXTENSION_KEY] = ResponseCache()
        server.before_request(_before_request)
        server.after_request(_after_request)
        server.teardown_request(_teardown_request)
    return server
