"""The password login under attack: failure limits, one bounded pool of hash checks, a session cookie.

A wrong password costs the server a scrypt check (0.1-0.6 s of a core). Unguarded, sixty guesses in a
row all got 401, an 8-thread flood raised a signed-in user's callback median from 4 ms to 536 ms, and
an unknown user was refused in 1-2 ms against 115-660 ms for a known one (user names found by timing).
What :func:`dashboard.http.edge` does with a basic-auth request, in order:

1. A valid session cookie (:data:`SESSION_COOKIE`, set after a password was checked) signs the user in
   with one HMAC, in any worker of the server: no hash, no limit (a user already signed in keeps
   working while their name is locked out by someone else's guesses).
2. A password this process already verified (user, password and hash) is taken without a hash.
3. :class:`FailureCounter`: after ``MMPOS_LOGIN_PER_USER`` (5) wrong passwords for one user name, or
   ``MMPOS_LOGIN_PER_ADDRESS`` (20) from one client address, within ``MMPOS_LOGIN_WINDOW`` (900 s),
   the next attempts get 429 with ``Retry-After`` before any hash runs. Unknown names count like
   known ones. Counted in Redis when ``MMPOS_REDIS_URL`` is set (every worker and host sees the same
   counts), else per worker (then a guesser gets up to ``workers x`` the limit).
4. :class:`HashSlots`: at most ``MMPOS_LOGIN_HASH_SLOTS`` (1) hash checks run at once per worker; one
   more gets 503 with ``Retry-After: 1`` at once, never waiting for a thread.
5. An unknown user's password is checked against a dummy hash made like the real ones: the same work
   and time as a known user's wrong password.

Memory: the in-process counter keeps at most :data:`LOCAL_ENTRIES` (10,000) keys: 2.4 MB per worker
measured with tracemalloc after 30,000 distinct user/address pairs (it stays there); the verified set of
:class:`dashboard.http.edge.Credentials` at most 1,024 digests (~100 KB).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

from dashboard.runtime import config

SESSION_COOKIE = "mmpos_session"
SESSION_TTL_S = 12 * 3600  # a working day: then the password once more
LOCAL_ENTRIES = 10_000
KEY_PREFIX = "mmpos:login:"

log = logging.getLogger(__name__)


class FailureCounter:
    """Wrong passwords per key (``user:<digest>``, ``addr:<ip>``) within a fixed window from the first.

    In Redis when ``settings.redis_url`` is set (a Redis that does not answer falls back to this
    process's counts, with one warning), else in a bounded in-process map.
    """

    def __init__(self, settings: config.Settings) -> None:
        self.window_s = settings.login_window_s
        self.limits = {"user": settings.login_user_failures, "addr": settings.login_address_failures}
        self._redis_url = settings.redis_url if settings.shared_cache else None
        self._local: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key -> (count, window end)
        self._lock = threading.Lock()
        self._warned = False

    @staticmethod
    def keys(user: str, address: str) -> dict[str, str]:
        digest = hashlib.sha256(user.encode("utf-8", "replace")).hexdigest()[:32]
        return {"user": f"user:{digest}", "addr": f"addr:{address[:64]}"}

    def _redis(self) -> Any:
        if self._redis_url is None:
            return None
        from dashboard.runtime.cache import quick_redis

        return quick_redis(self._redis_url)

    def _redis_failed(self, exc: Exception) -> None:
        if not self._warned:
            log.warning("login failure counts: Redis unusable (%s), counting in this worker", type(exc).__name__)
            self._warned = True

    def retry_after_s(self, keys: dict[str, str]) -> int:
        """Seconds until these keys may try again (0: now)."""
        redis = self._redis()
        if redis is not None:
            try:
                pipe = redis.pipeline(transaction=False)
                for key in keys.values():
                    pipe.get(KEY_PREFIX + key)
                    pipe.ttl(KEY_PREFIX + key)
                got = pipe.execute()
                wait = 0
                for i, kind in enumerate(keys):
                    count, ttl = got[2 * i], got[2 * i + 1]
                    if count is not None and int(count) >= self.limits[kind]:
                        wait = max(wait, int(ttl) if ttl and ttl > 0 else 1)
                return wait
            except Exception as exc:  # noqa: BLE001 - any Redis fault: count here instead
                self._redis_failed(exc)
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for kind, key in keys.items():
                count, end = self._local.get(key, (0, 0.0))
                if end > now and count >= self.limits[kind]:
                    wait = max(wait, end - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, keys: dict[str, str]) -> None:
        """Count one wrong password for each key."""
        redis = self._redis()
        if redis is not None:
            try:
                pipe = redis.pipeline(transaction=False)
                for key in keys.values():
                    pipe.set(KEY_PREFIX + key, 0, ex=self.window_s, nx=True)
                    pipe.incr(KEY_PREFIX + key)
                pipe.execute()
                return
            except Exception as exc:  # noqa: BLE001
                self._redis_failed(exc)
        now = time.monotonic()
        with self._lock:
            for key in keys.values():
                count, end = self._local.pop(key, (0, 0.0))
                if end <= now:
                    count, end = 0, now + self.window_s
                self._local[key] = (count + 1, end)
            while len(self._local) > LOCAL_ENTRIES:
                self._local.popitem(last=False)

    def forget(self, key: str) -> None:
        """Clear one key (a user who signed in starts again from zero)."""
        redis = self._redis()
        if redis is not None:
            try:
                redis.delete(KEY_PREFIX + key)
                return
            except Exception as exc:  # noqa: BLE001
                self._redis_failed(exc)
        with self._lock:
            self._local.pop(key, None)


class HashSlots:
    """At most ``n`` password hashes checked at once in this process; :meth:`take` never waits."""

    def __init__(self, n: int) -> None:
        self._sem = threading.BoundedSemaphore(n)

    def take(self) -> bool:
        return self._sem.acquire(blocking=False)

    def give_back(self) -> None:
        self._sem.release()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """Signed session cookies: ``<user>.<expiry>.<HMAC(user, expiry, the user's password hash)>``.

    The key is made once per server (before gunicorn forks its workers, so every worker reads the
    cookies of the others). Changing a user's password (their hash) ends their sessions.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key or secrets.token_bytes(32)

    def _sign(self, user: str, expires: int, hashed: str) -> str:
        msg = f"{user}\0{expires}\0{hashed}".encode()
        return _b64(hmac.new(self.key, msg, hashlib.sha256).digest())

    def make(self, user: str, hashed: str, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + SESSION_TTL_S)
        return f"{_b64(user.encode())}.{expires}.{self._sign(user, expires, hashed)}"

    def user_of(self, cookie: str, hash_of: Any, now: float | None = None) -> str | None:
        """The user a cookie names, if its signature holds with their current hash and it has not expired."""
        try:
            user_part, expires_text, sig = cookie.split(".")
            user = _unb64(user_part).decode("utf-8")
            expires = int(expires_text)
        except (ValueError, UnicodeDecodeError):
            return None
        if expires < (time.time() if now is None else now):
            return None
        hashed = hash_of(user)
        if hashed is None:
            return None
        return user if hmac.compare_digest(sig, self._sign(user, expires, hashed)) else None
