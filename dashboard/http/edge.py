"""The HTTP edge of the dashboard: health, request ids, security headers, Host check, size limit, login.

:func:`install` wraps a Flask server (Dash's ``app.server``) once; calling it again only replaces the
settings. Per request, in this order:

1. A request id: the caller's ``X-Request-ID`` when it is a short token, else a new one; echoed on the
   response and written to the access log (``mmpos.request_id``) and to every error logged.
2. ``/healthz`` (liveness: the process answers, JSON 200) and ``/readyz`` (readiness, :func:`readiness`)
   skip the checks below, so a load balancer can probe them without a Host name or a login. They
   reveal no path, no file and no host name.
3. The Host header must be in the allow-list (``MMPOS_ALLOWED_HOSTS``; default the loopback names and
   the bind host): 400 otherwise, against DNS rebinding. So must the host of an absolute-form request
   line (``GET http://evil.example/ HTTP/1.1``), which names the host in place of the header.
4. A body larger than its route's limit gets a JSON 413 before it is read (or, without a
   ``Content-Length``, as soon as reading passes it): ``MMPOS_MAX_REQUEST_BYTES`` (1 MiB) for every
   route but those given their own with :func:`allow_body` (the dropped-file route,
   :mod:`dashboard.uploads`). A callback body that is not a JSON object, or nests deeper than
   ``MAX_JSON_DEPTH``, gets 400 (depth checked before parsing), and so does one whose shape is not the
   browser's or that names no declared callback (:mod:`dashboard.http.callback_body`, against the map
   given to :func:`declare_callbacks`). The values inside are each callback's to check
   (:mod:`dashboard.web.inputs`).
5. Optional login, on when configured: the user named by ``MMPOS_AUTH_PROXY_HEADER`` when the
   request comes straight from one of ``MMPOS_TRUSTED_PROXIES`` (the header is ignored from anyone
   else), else HTTP basic auth checked against ``MMPOS_AUTH_FILE`` (``user:hash`` lines, werkzeug
   password hashes), with failure limits (429), a bounded number of hash checks at once (503) and a
   signed session cookie after the first check (:mod:`dashboard.http.login`).
6. Every response carries a Content-Security-Policy (scripts only from this server plus the hashes of
   the page's own inline scripts, computed from the page itself, so no ``unsafe-inline`` for scripts;
   styles allow inline because Dash and Plotly set style attributes), ``X-Frame-Options: DENY``,
   ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer``.
7. An exception becomes a JSON 500 naming only the request id; the traceback goes to the log. A path
   under ``/_dash-component-suites/`` that Dash did not register is a 404, logged by nobody (Dash's
   exception lists every file it serves).

Create a credentials file (the password is read from the terminal, or stdin when piped)::

    python -m dashboard.http.edge add-user /etc/mmpos/users alice
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import io
import ipaddress
import json
import logging
import os
import re
import secrets
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from dash.exceptions import DependencyException
from flask import Flask, Response, g, has_request_context, request
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash, generate_password_hash

from analytics.catalog import FileVersion, file_version, holder_for
from analytics.sources.common import MAX_JSON_DEPTH, json_depth
from dashboard.http import callback_body, login
from dashboard.runtime import cache, config, jobs
from dashboard.runtime.config import DATA_DIR_KEY  # where create_app keeps the data folder

EXTENSION_KEY = "mmpos_edge"
SESSION_KEY = "mmpos_session_key"  # the HMAC key of the login's session cookies (dashboard.http.login)
CALLBACKS_KEY = "mmpos_callbacks"  # Dash's callback map, for the shape check of callback bodies
BODY_LIMITS_KEY = "mmpos_body_limits"  # {path: largest body} of routes allowed more than the default
REQUEST_ID_HEADER = "X-Request-ID"
USER_ENVIRON_KEY = "mmpos.user"  # read by the access log (dashboard.runtime.server)
HEALTH_PATH, READY_PATH = "/healthz", "/readyz"
CALLBACK_PATH = "/_dash-update-component"
COMPONENT_SUITES_PREFIX = "/_dash-component-suites/"
REALM = "mmpos"
_ABSOLUTE_TARGET = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#]*)")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_USER_NAME = re.compile(r"^[^\s:]{1,64}$")
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", re.S | re.I)
_VERIFIED_MAX = 1024
SECURITY_HEADERS: dict[str, str] = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CSP_DIRECTIVES: tuple[tuple[str, str], ...] = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),  # + the sha256 of each inline script of an HTML page
    ("style-src", "'self' 'unsafe-inline'"),
    ("img-src", "'self' data: blob:"),
    ("font-src", "'self' data:"),
    ("connect-src", "'self'"),
    ("worker-src", "'self' blob:"),
    ("object-src", "'none'"),
    ("base-uri", "'self'"),
    ("form-action", "'self'"),
    ("frame-ancestors", "'none'"),
)

log = logging.getLogger(__name__)


def content_security_policy(script_hashes: tuple[str, ...] = ()) -> str:
    """The CSP header value, with ``'sha256-…'`` sources added to ``script-src``.

    Examples
    --------
    >>> "frame-ancestors 'none'" in content_security_policy()
    True
    >>> "script-src 'self' 'sha256-abc='" in content_security_policy(("sha256-abc=",))
    True
    """
    parts = []
    for name, value in CSP_DIRECTIVES:
        if name == "script-src" and script_hashes:
            value = " ".join([value, *(f"'{h}'" for h in script_hashes)])
        parts.append(f"{name} {value}")
    return "; ".join(parts)


def inline_script_hashes(html: str) -> tuple[str, ...]:
    """``sha256-<base64>`` of every inline ``<script>`` body of a page (in page order, unique)."""
    out: list[str] = []
    for _attrs, body in _INLINE_SCRIPT.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        token = f"sha256-{digest}"
        if token not in out:
            out.append(token)
    return tuple(out)


# --------------------------------------------------------------------------- credentials


class Credentials:
    """The ``user:hash`` lines of a credentials file, re-read when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._version: FileVersion | None = None
        self._hashes: dict[str, str] = {}
        self._verified: set[str] = set()
        # an unknown user's password is checked against this, so they cost what a known user does
        self._dummy = generate_password_hash(uuid.uuid4().hex)

    def _refresh(self) -> None:
        version = file_version(self.path)
        if version == self._version and version is not None:
            return
        hashes: dict[str, str] = {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.error("cannot read the credentials file %s (%s): nobody can sign in", self.path.name,
                      getattr(exc, "strerror", None) or type(exc).__name__)
            text = ""
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, hashed = line.partition(":")
            if not sep or not _USER_NAME.match(user) or not hashed:
                log.warning("credentials file %s: line %d is not user:hash, skipped", self.path.name, number)
                continue
            hashes[user] = hashed
        self._hashes, self._verified, self._version = hashes, set(), version

    def hash_of(self, user: str) -> str | None:
        """``user``'s current password hash (None: not in the file)."""
        with self._lock:
            self._refresh()
            return self._hashes.get(user)

    def _token(self, user: str, password: str, hashed: str) -> str:
        return hashlib.sha256(f"{user}\0{password}\0{hashed}".encode()).hexdigest()

    def verified_before(self, user: str, password: str) -> bool:
        """True when this process already checked this password of ``user`` against their current hash
        (no hash run: the cheap path of a signed-in user's later requests)."""
        with self._lock:
            self._refresh()
            hashed = self._hashes.get(user)
            return hashed is not None and self._token(user, password, hashed) in self._verified

    def check(self, user: str, password: str) -> bool:
        """True when ``password`` is ``user``'s. The hash runs once per process and password; an
        unknown user's password is checked against a dummy hash (the same work as a known user's)."""
        with self._lock:
            self._refresh()
            hashed = self._hashes.get(user)
            if hashed is not None and self._token(user, password, hashed) in self._verified:
                return True
        # slow on purpose (scrypt): outside the lock
        ok = check_password_hash(hashed or self._dummy, password) and hashed is not None
        if ok and hashed is not None:
            with self._lock:
                if len(self._verified) >= _VERIFIED_MAX:
                    self._verified.clear()
                self._verified.add(self._token(user, password, hashed))
        return ok


def add_user(path: Path, user: str, password: str) -> None:
    """Add ``user`` to a credentials file (replacing an existing line for them); the file is 0600."""
    if not _USER_NAME.match(user):
        raise ValueError(f"user names are 1-64 characters without spaces or ':', got {user!r}")
    if not password:
        raise ValueError("empty password")
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [ln for ln in lines if ln.partition(":")[0].strip() != user]
    kept.append(f"{user}:{generate_password_hash(password)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(kept) + "\n")
    os.chmod(path, 0o600)


# --------------------------------------------------------------------------- the edge


@dataclass
class _Edge:
    settings: config.Settings
    hosts: frozenset[str] | None
    proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    credentials: Credentials | None
    failures: login.FailureCounter
    hash_slots: login.HashSlots
    sessions: login.Sessions
    csp_cache: dict[str, str] = field(default_factory=dict)


def install(server: Flask, settings: config.Settings | None = None) -> Flask:
    """Put the edge in front of ``server`` (idempotent: a second call only replaces the settings).

    Parameters
    ----------
    server : flask.Flask
        Dash's ``app.server``.
    settings : dashboard.runtime.config.Settings, optional
        Default :func:`dashboard.runtime.config.from_env`.

    Returns
    -------
    flask.Flask
        ``server``.
    """
    settings = (settings or config.from_env()).checked()
    first = EXTENSION_KEY not in server.extensions
    server.extensions[EXTENSION_KEY] = _Edge(
        settings=settings,
        hosts=settings.host_allow_list(),
        proxies=settings.proxy_networks(),
        credentials=Credentials(settings.auth_file) if settings.auth_file is not None else None,
        failures=login.FailureCounter(settings),
        hash_slots=login.HashSlots(settings.login_hash_slots),
        # one key per server, made before gunicorn forks: every worker reads the others' cookies
        sessions=login.Sessions(server.extensions.setdefault(SESSION_KEY, secrets.token_bytes(32))),
    )
    server.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    server.extensions.setdefault(BODY_LIMITS_KEY, {})
    if first:
        server.before_request_funcs.setdefault(None, []).insert(0, _before_request)  # before Dash's own
        server.after_request(_after_request)
        server.register_error_handler(Exception, _on_error)
        server.add_url_rule(HEALTH_PATH, "mmpos_healthz", _healthz, methods=["GET", "HEAD"])
        server.add_url_rule(READY_PATH, "mmpos_readyz", _readyz, methods=["GET", "HEAD"])
    return server


def declare_callbacks(server: Flask, callback_map: dict) -> None:
    """Check callback bodies posted to ``server`` against Dash's ``app.callback_map`` (the dict
    itself: Dash fills it as the app is set up): an unknown output, or inputs that are not the
    callback's, get 400 instead of an error inside Dash."""
    server.extensions[CALLBACKS_KEY] = callback_map


def allow_body(server: Flask, path: str, limit_bytes: int) -> None:
    """Give the route ``path`` of ``server`` its own request-body limit (every other route keeps
    ``MMPOS_MAX_REQUEST_BYTES``). Werkzeug enforces it while reading too, so a body sent without a
    ``Content-Length`` (chunked) cannot pass it either."""
    server.extensions.setdefault(BODY_LIMITS_KEY, {})[path] = int(limit_bytes)


def body_limit() -> int:
    """The largest body the current request's route accepts."""
    from flask import current_app

    limits = current_app.extensions.get(BODY_LIMITS_KEY, {})
    return limits.get(request.path, _edge().settings.max_request_bytes)


def _edge() -> _Edge:
    from flask import current_app

    return current_app.extensions[EXTENSION_KEY]


def _json(payload: dict, status: int, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({**payload, "request_id": getattr(g, "request_id", None)})
    response = Response(body, status=status, mimetype="application/json", headers=headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    return getattr(g, "request_id", None) if has_request_context() else None


def _host_name(host: str) -> str:
    """``Host`` header without the port, lower-case, IPv6 brackets removed."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _absolute_target_host(environ: dict) -> str | None:
    """The host of an absolute-form request target (``GET http://host/path HTTP/1.1``), else None.

    Such a request names its host in the request line, which takes precedence over the ``Host``
    header (RFC 9112 3.2.2): the allow-list applies to it too. gunicorn and Werkzeug keep the raw
    target in ``RAW_URI`` (``REQUEST_URI`` elsewhere)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    match = _ABSOLUTE_TARGET.match(raw)
    return match.group(1) if match else None


def _peer_is_trusted_proxy(edge: _Edge) -> bool:
    try:
        peer = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(peer in net for net in edge.proxies)


def client_address(edge: _Edge) -> str:
    """The client's address: the peer, or the last ``X-Forwarded-For`` hop when the peer is a trusted
    proxy (the address the proxy saw; nginx appends it)."""
    peer = request.remote_addr or ""
    if edge.proxies and _peer_is_trusted_proxy(edge):
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        if hops:
            return hops[-1][:64]
    return peer


def _authenticated_user(edge: _Edge) -> str | Response | None:
    """The signed-in user, None (no valid login), or the refusal to send (429 limit, 503 busy)."""
    header = edge.settings.auth_proxy_header
    if header:
        value = request.headers.get(header, "").strip()
        if value and _peer_is_trusted_proxy(edge) and _USER_NAME.match(value):
            return value
        if value:
            log.warning("request %s: %s header from %s, not a trusted proxy: ignored", g.request_id, header,
                        request.remote_addr)
    creds = edge.credentials
    if creds is None:
        return None
    cookie = request.cookies.get(login.SESSION_COOKIE)
    if cookie:
        user = edge.sessions.user_of(cookie, creds.hash_of)
        if user is not None:
            return user
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
        return None
    user, password = auth.username, auth.password
    keys = login.FailureCounter.keys(user, client_address(edge))
    wait_s = edge.failures.retry_after_s(keys)  # first: a locked name tells nothing, not even from the cache
    if wait_s:
        return _json({"error": "too many failed sign-ins: try again later", "retry_after_s": wait_s}, 429,
                     {"Retry-After": str(wait_s)})
    if creds.verified_before(user, password):
        g.mmpos_new_session = user
        return user
    if not edge.hash_slots.take():
        return _json({"error": "sign-in busy: try again in a second"}, 503, {"Retry-After": "1"})
    try:
        ok = creds.check(user, password)
    finally:
        edge.hash_slots.give_back()
    if not ok:
        edge.failures.failed(keys)
        return None
    edge.failures.forget(keys["user"])
    g.mmpos_new_session = user
    return user


def _before_request() -> Response | None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    request.environ["mmpos.request_id"] = g.request_id
    if request.path in (HEALTH_PATH, READY_PATH):
        return None
    edge = _edge()
    if edge.hosts is not None and _host_name(request.host) not in edge.hosts:
        log.warning("request %s: Host %r is not in the allow-list: refused", g.request_id, request.host[:100])
        return _json({"error": "host not allowed"}, 400)
    target_host = _absolute_target_host(request.environ)
    if target_host is not None and (edge.hosts is not None and _host_name(target_host) not in edge.hosts):
        log.warning("request %s: request target names host %r, not in the allow-list: refused", g.request_id,
                    target_host[:100])
        return _json({"error": "host not allowed"}, 400)
    limit = body_limit()
    request.max_content_length = limit
    length = request.content_length
    if length is not None and length > limit:
        return _json({"error": "request too large", "limit_bytes": limit}, 413)
    if length is None and request.headers.get("Transfer-Encoding"):
        # chunked, no length to check first: werkzeug would cut such a body at the limit without a
        # word, so it is read here, one byte past the limit at most, and refused when it goes past
        body = request.environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            return _json({"error": "request too large", "limit_bytes": limit}, 413)
        request.environ["wsgi.input"] = io.BytesIO(body)
    if request.method == "POST" and request.path.endswith(CALLBACK_PATH):
        refused = _refused_callback_body()
        if refused is not None:
            return refused
    if edge.settings.auth_enabled:
        user = _authenticated_user(edge)
        if isinstance(user, Response):
            return user
        if user is None:
            if edge.credentials is not None:
                return _json({"error": "sign in required"}, 401,
                             {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'})
            return _json({"error": "sign in through the desk's proxy"}, 403)
        g.user = user
        request.environ[USER_ENVIRON_KEY] = user
    return None


def _refused_callback_body() -> Response | None:
    """400 for a callback body that is not a JSON object, or nests deeper than ``MAX_JSON_DEPTH``
    (checked before parsing: a 100k-deep body made the parser raise RecursionError)."""
    if not request.is_json:
        return None  # Dash answers 415 itself
    data = request.get_data(cache=True)
    depth = json_depth(data)
    if depth > MAX_JSON_DEPTH:
        return _json({"error": "JSON nested too deeply", "limit": MAX_JSON_DEPTH}, 400)
    body = request.get_json(silent=True)  # cached: Dash reads this same parse
    if body is None and data.strip() != b"null":
        return None  # not JSON: Dash answers 400 itself
    if not isinstance(body, dict):
        return _json({"error": "a callback request is a JSON object"}, 400)
    from flask import current_app

    found = callback_body.problem(body, current_app.extensions.get(CALLBACKS_KEY))
    if found is not None:
        return _json({"error": f"not a callback request: {found}"}, 400)
    return None


def _after_request(response: Response) -> Response:
    rid = getattr(g, "request_id", None)
    if rid:
        response.headers[REQUEST_ID_HEADER] = rid
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    hashes: tuple[str, ...] = ()
    if response.mimetype == "text/html" and not response.direct_passthrough:
        hashes = inline_script_hashes(response.get_data(as_text=True))
    edge = _edge()
    key = ",".join(hashes)
    csp = edge.csp_cache.get(key)
    if csp is None:
        csp = edge.csp_cache[key] = content_security_policy(hashes)
        if len(edge.csp_cache) > 64:
            edge.csp_cache.clear()
    response.headers["Content-Security-Policy"] = csp
    new_session = g.pop("mmpos_new_session", None)
    if new_session is not None and edge.credentials is not None and response.status_code < 400:
        hashed = edge.credentials.hash_of(new_session)
        if hashed is not None:
            response.set_cookie(login.SESSION_COOKIE, edge.sessions.make(new_session, hashed),
                                max_age=login.SESSION_TTL_S, path="/", secure=request.is_secure,
                                httponly=True, samesite="Strict")
    return response


def _on_error(exc: Exception) -> Response:
    if isinstance(exc, DependencyException) and request.path.startswith(COMPONENT_SUITES_PREFIX):
        # a path Dash did not register (unknown, misspelt, ../): Dash's message lists every file it serves
        return _json({"error": "not found"}, 404)
    if isinstance(exc, HTTPException):
        if exc.code is not None and exc.code < 400:
            return exc.get_response()
        code = exc.code or 500
        if code == 413:
            return _json({"error": "request too large", "limit_bytes": body_limit()}, 413)
        return _json({"error": (exc.name or "error").lower()}, code)
    log.error("request %s failed: %s %s", request_id(), request.method, request.path, exc_info=exc)
    return _json({"error": "internal error: the server log has the details under this request id"}, 500)


def _healthz() -> Response:
    return _json({"status": "ok"}, 200)


def readiness(data_dir: str | Path | None, settings: config.Settings) -> tuple[int, dict]:
    """``/readyz``: every piece the server uses, in one answer (HTTP status, JSON body).

    ``checks`` holds ``data`` (the data folder can be listed and its catalog is loaded: the catalog's
    own check, which rescans no more often than the pages do), ``cache`` (:func:`dashboard.runtime.cache.health`:
    kind ``folder``, ``redis`` or ``off``; Redis's ``PING`` latency in ms or its error) and ``jobs``
    (:func:`dashboard.runtime.jobs.health`: ``local``, or ``celery`` with the number of live workers).

    A load balancer takes a server answering 503 out of rotation, so only what stops it from serving
    pages is a 503: the data folder (``"status": "not ready"``, ``reason``). A shared cache that fails
    (Redis down, the folder gone) or no live Celery worker only makes the pages slower: each worker
    computes its views in the request, as with neither configured. That is a 200 with
    ``"status": "degraded"`` and the ``reason``; otherwise ``"status": "ready"``. Redis is asked with
    a ``QUICK_TIMEOUT_S`` timeout (0.5 s), once for the ``PING`` and once for the workers.
    """
    ready, detail = holder_for(data_dir, settings.rescan_s).readiness()
    shared = cache.health(settings)
    if settings.jobs == "celery" and shared["kind"] == "redis" and not shared["ok"]:
        runner = {"kind": "celery", "ok": False, "workers": None, "error": shared["error"]}  # asked already
    else:
        runner = jobs.health(settings)
    checks = {"data": {"ok": ready, "detail": detail}, "cache": shared, "jobs": runner}
    if not ready:
        return 503, {"status": "not ready", "reason": detail, "checks": checks}
    degraded = []
    if not shared["ok"]:
        degraded.append(f"shared cache ({shared['kind']}) unusable ({shared['error']}): each worker computes "
                        "its own views")
    if not runner["ok"]:
        cause = "Redis cannot say" if runner["workers"] is None else "no mmpos worker alive"
        degraded.append(f"{cause}: cold views are computed in the request")
    if degraded:
        return 200, {"status": "degraded", "reason": "; ".join(degraded), "detail": detail, "checks": checks}
    return 200, {"status": "ready", "detail": detail, "checks": checks}


def _readyz() -> Response:
    from flask import current_app

    edge = _edge()
    status, body = readiness(current_app.config.get(DATA_DIR_KEY) or edge.settings.data_dir, edge.settings)
    return _json(body, status)


# --------------------------------------------------------------------------- credentials command


def main(argv: list[str] | None = None) -> int:
    """``python -m dashboard.http.edge add-user FILE USER``: add or replace a user of a credentials file."""
    parser = argparse.ArgumentParser(prog="python -m dashboard.http.edge")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("add-user", help="add a user (or change their password) in a credentials file")
    p.add_argument("file", type=Path)
    p.add_argument("user")
    args = parser.parse_args(argv)
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.user}: ")
        if getpass.getpass("again: ") != password:
            sys.stderr.write("passwords differ\n")
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        add_user(args.file, args.user, password)
    except (ValueError, OSError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    sys.stdout.write(f"{args.user} can sign in (file {args.file}, mode 0600)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
