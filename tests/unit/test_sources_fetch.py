"""Live fetchers with recorded responses (no network)."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from analytics.errors import ChainDataError
from analytics.sources import detect_format, fetch, load_chain
from analytics.sources.fetch import fetch_cboe, fetch_deribit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FETCHED_AT = dt.datetime(2025, 6, 2, 9, 15, 1, tzinfo=dt.UTC)


class Recorded:
    """A stand-in for ``urllib.request.urlopen`` serving recorded files by URL substring."""

    def __init__(self, routes: dict[str, str]):
        self.routes = routes
        self.urls: list[str] = []

    def __call__(self, request, timeout=None):
        url = request.full_url
        self.urls.append(url)
        for part, name in self.routes.items():
            if part in url:
                return _Response((FIXTURES / name).read_bytes())
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)


class _Response:
    def __init__(self, body: bytes):
        self.body = body

    def read(self, n: int = -1) -> bytes:
        return self.body if n < 0 else self.body[:n]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


DERIBIT_ROUTES = {
    "get_book_summary_by_currency": "deribit_book_summary_btc_response.json",
    "get_index_price": "deribit_index_price_btc_response.json",
}


def test_deribit_fetch_asks_for_btc_options_and_the_btc_index(tmp_path):
    opener = Recorded(DERIBIT_ROUTES)
    fetch_deribit("btc", tmp_path, opener=opener, now=lambda: FETCHED_AT)
    assert opener.urls[0] == (
        "https://www.deribit.com/api/v2/public/get_book_summary_by_currency?currency=BTC&kind=option"
    )
    assert opener.urls[1] == "https://www.deribit.com/api/v2/public/get_index_price?index_name=btc_usd"


def test_deribit_snapshot_file_carries_its_time_and_index_price(tmp_path):
    path = fetch_deribit("BTC", tmp_path, opener=Recorded(DERIBIT_ROUTES), now=lambda: FETCHED_AT)
    assert path.name == "deribit_btc_book_summary_20250602T091501Z.json"
    meta = json.loads(path.read_text())["mmpos"]
    assert meta["as_of"] == "2025-06-02T09:15:01+00:00" and meta["index_price"] == 105000.0
    assert detect_format(path) == "deribit-book-summary"
    chain = load_chain(path)
    assert chain.as_of == pd.Timestamp("2025-06-02 09:15:01", tz="UTC")
    assert chain.spot == 105000.0
    assert len(chain.rows) == 12 and chain.warnings == ()


def test_fetch_dispatches_by_source_name(tmp_path):
    path = fetch.fetch("deribit", "BTC", tmp_path, opener=Recorded(DERIBIT_ROUTES), now=lambda: FETCHED_AT)
    assert load_chain(path).underlying == "BTC"
    with pytest.raises(ChainDataError, match=r"unknown source 'yahoo'; supported: deribit, cboe"):
        fetch.fetch("yahoo", "SPY", tmp_path, opener=Recorded({}))


def test_http_errors_become_chain_data_errors_naming_the_url(tmp_path):
    with pytest.raises(ChainDataError, match=r"get_book_summary_by_currency\?currency=BTC&kind=option: HTTP 404"):
        fetch_deribit("BTC", tmp_path, opener=Recorded({}))


def test_unreachable_server_is_a_readable_error(tmp_path):
    def offline(request, timeout=None):
        raise urllib.error.URLError("Temporary failure in name resolution")

    with pytest.raises(ChainDataError, match=r"_SPX\.json: cannot reach the server \(Temporary failure"):
        fetch_cboe("SPX", tmp_path, opener=offline)


def test_importing_the_fetchers_touches_no_network(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("network at import")

    monkeypatch.setattr(urllib.request, "urlopen", forbidden)
    importlib.reload(fetch)


def test_cboe_fetch_uses_the_underscore_for_indices_and_not_for_etfs(tmp_path):
    opener = Recorded({"options/": "cboe_delayed_spx_response.json"})
    fetch_cboe("SPX", tmp_path, opener=opener, now=lambda: FETCHED_AT)
    fetch_cboe("SPY", tmp_path, opener=opener, now=lambda: FETCHED_AT)
    assert opener.urls == [
        "https://cdn.cboe.com/api/global/delayed_quotes/options/_SPX.json",
        "https://cdn.cboe.com/api/global/delayed_quotes/options/SPY.json",
    ]


def test_cboe_timestamp_reading_follows_the_recorded_fetch_time(tmp_path):
    # fetched at 19:46 UTC: "15:45:02" is New York time (19:45 UTC), not UTC
    path = fetch_cboe(
        "SPX", tmp_path, opener=Recorded({"options/": "cboe_delayed_spx_response.json"}),
        now=lambda: dt.datetime(2025, 6, 2, 19, 46, tzinfo=dt.UTC),
    )
    assert detect_format(path) == "cboe-json"
    chain = load_chain(path)
    assert chain.as_of == pd.Timestamp("2025-06-02 15:45:02", tz="America/New_York")
    assert any("New York" in w for w in chain.warnings)


def test_a_snapshot_is_written_under_a_dotted_name_then_renamed(tmp_path, monkeypatch):
    # the catalog skips dotted names: a scan during the write never lists a half-written file
    import os

    renamed = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (renamed.append((Path(src).name, Path(dst).name)),
                                                        real_replace(src, dst))[1])
    path = fetch_deribit("BTC", tmp_path, opener=Recorded(DERIBIT_ROUTES), now=lambda: FETCHED_AT)
    assert renamed and renamed[0][0].startswith(".") and renamed[0][1] == path.name
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_cut_body_and_a_rate_limit_are_fetch_errors_with_the_servers_delay(tmp_path):
    import http.client

    from analytics.sources.fetch import FetchError

    def cut(request, timeout=None):
        raise http.client.IncompleteRead(b"{", 100)

    with pytest.raises(FetchError, match="cut short"):
        fetch_cboe("SPX", tmp_path, opener=cut)

    def limited(request, timeout=None):
        raise urllib.error.HTTPError(request.full_url, 429, "Too Many Requests", {"Retry-After": "30"}, None)

    with pytest.raises(FetchError) as err:
        fetch_cboe("SPX", tmp_path, opener=limited)
    assert err.value.status == 429 and err.value.retry_after_s == 30.0 and "HTTP 429" in str(err.value)


def test_a_timeout_is_a_fetch_error_without_a_status(tmp_path):
    from analytics.sources.fetch import FetchError

    def slow(request, timeout=None):
        raise TimeoutError("timed out")

    with pytest.raises(FetchError, match="cannot reach the server") as err:
        fetch_deribit("BTC", tmp_path, opener=slow)
    assert err.value.status is None and err.value.retry_after_s is None
