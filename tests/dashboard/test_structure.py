"""The composition root and what the layers below it use instead of importing it: the named app
factory (dashboard.runtime.factory) and the cache registry (dashboard.runtime.caches). The layers
themselves are import-linter contracts in pyproject.toml (`make lint`)."""

from __future__ import annotations

import pytest

from dashboard import app as root
from dashboard import service
from dashboard.http.responses import ResponseCache
from dashboard.runtime import caches, factory
from dashboard.runtime.caches import LockedLRU


def test_the_runtime_finds_the_roots_factory_by_name_and_takes_another():
    assert factory.load() is root.create_app
    assert factory.resolve(None) is root.create_app

    def other(data_dir, *, settings=None):
        return "built"

    assert factory.resolve(other) is other


@pytest.mark.parametrize("spec", ["dashboard.app", "dashboard.app:", ":create_app", "dashboard.app:ASSETS_DIR"])
def test_a_factory_name_that_names_no_callable_is_refused(spec):
    with pytest.raises(ValueError, match="app factory"):
        factory.load(spec)


def test_clear_caches_empties_every_registered_cache_of_the_process():
    names = set(caches.registered())
    assert {"dashboard.service.analysis", "analytics.catalog.files", "dashboard.http.responses",
            "dashboard.app.compressed_static", "dashboard.web.callbacks.views.figures"} <= names
    responses = ResponseCache(entries=4)
    responses.put("k", b"body", "application/json")
    static = root.CompressedStatic()
    static.set("br;GET /assets/style.css", b"compressed")
    assert responses.get("k") is not None and static.get("br;GET /assets/style.css") == b"compressed"
    service.clear_caches()
    assert responses.get("k") is None and static.get("br;GET /assets/style.css") is None


def test_the_response_cache_is_bounded_by_entries_and_by_bytes_least_recent_first():
    cache = ResponseCache(entries=2, max_bytes=10)
    cache.put("a", b"12", "t")
    cache.put("b", b"34", "t")
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", b"56", "t")  # three entries: b, the least recent, goes
    assert [cache.get(k) is not None for k in "abc"] == [True, False, True]
    cache.put("d", b"123456789", "t")  # 2 + 2 + 9 bytes > 10: the older ones go
    assert [cache.get(k) is not None for k in "acd"] == [False, False, True]
    cache.put("e", b"x" * 11, "t")  # larger than the whole budget: not kept, nothing else lost
    assert cache.get("e") is None and cache.get("d") is not None


def test_a_registered_lru_is_emptied_with_the_rest():
    lru = caches.lru("tests.structure.lru", 2)
    try:
        lru["x"] = 1
        lru["y"] = 2
        lru["z"] = 3
        assert isinstance(lru, LockedLRU) and sorted(lru) == ["y", "z"]
        caches.clear_all()
        assert len(lru) == 0
    finally:
        caches.unregister("tests.structure.lru")


def test_gunicorn_finds_the_flask_app_under_dashboard_app_server(monkeypatch, demo_dir):
    """`gunicorn 'dashboard.app:server'` (README): the name is the lazily built Flask app, not a module."""
    import flask

    monkeypatch.setenv("MMPOS_DATA_DIR", str(demo_dir))
    root._default_server.cache_clear()
    try:
        assert isinstance(root.server, flask.Flask)
    finally:
        root._default_server.cache_clear()


def test_the_page_offers_the_expiry_presets_the_calendar_rules_know():
    """One home for the preset rules (analytics.calendars.preset_expiries, used by the service and the
    warmer); the page's labels (dashboard.web.state.PRESETS) name the same presets."""
    from analytics.calendars import EXPIRY_PRESETS
    from dashboard.web.state import PRESET_NAMES

    assert PRESET_NAMES == set(EXPIRY_PRESETS)
