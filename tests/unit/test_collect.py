"""``mmpos collect`` (issue 19): the schedule against the NYSE calendar, backoff, retention, and the
collector against a local HTTP server replaying recorded CBOE and Deribit answers (no network, no
sleeps: a fake clock is injected)."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from analytics import collect_rules as rules
from analytics.calendars import nyse_session_bounds
from analytics.catalog import scan_catalog
from analytics.history import HistoryStore
from dashboard.collect import Collector, read_status, status_path, status_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NY = "America/New_York"


def ny(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=NY)


def ns(t: pd.Timestamp) -> int:
    return int(t.tz_convert("UTC").as_unit("ns").value)


# --------------------------------------------------------------------------- the pure rules


@pytest.fixture(scope="module")
def sessions():
    return nyse_session_bounds()


EVERY_5M = 300 * rules.NS


@pytest.mark.parametrize(("last", "expected"), [
    ("2025-05-30 15:00", "2025-05-30 15:05"),  # inside Friday's session: every 5 minutes
    ("2025-05-30 15:57", "2025-05-30 16:20"),  # the next would fall after the close: the after-close snapshot
    ("2025-05-30 16:05", "2025-05-30 16:20"),  # between the close and its snapshot
    ("2025-05-30 16:20", "2025-06-02 09:30"),  # after-close taken: the weekend is skipped to Monday's open
    ("2025-07-03 12:58", "2025-07-03 13:20"),  # early close (13:00) before Independence Day
    ("2025-07-03 13:20", "2025-07-07 09:30"),  # Friday 4 July is a holiday, then the weekend
    ("2025-11-27 03:00", "2025-11-28 09:30"),  # Thanksgiving night: the next session is the half day
])
def test_cboe_fetches_follow_the_nyse_sessions(sessions, last, expected):
    got = rules.next_fetch_ns("cboe", ns(ny(last)), EVERY_5M, *sessions)
    assert pd.Timestamp(got, tz="UTC").tz_convert(NY) == ny(expected)


def test_deribit_runs_around_the_clock_and_a_first_fetch_is_due_at_once(sessions):
    saturday = ny("2025-05-31 03:00")
    assert rules.next_fetch_ns("deribit", ns(saturday), EVERY_5M, *sessions) == ns(saturday) + EVERY_5M
    assert rules.next_fetch_ns("cboe", None, EVERY_5M, *sessions) < ns(saturday)


def test_backoff_doubles_to_a_cap_and_respects_retry_after():
    assert [rules.backoff_s(n) for n in range(1, 8)] == [15, 30, 60, 120, 240, 480, 900]
    assert rules.backoff_s(40) == rules.BACKOFF_CAP_S
    assert rules.backoff_s(1, retry_after_s=120) == 120
    assert rules.backoff_s(5, retry_after_s=10) == 240  # the backoff is longer than asked
    assert rules.backoff_s(1, retry_after_s=10**6) == rules.RETRY_AFTER_CAP_S


def test_retention_keeps_the_last_days_and_the_last_of_each_older_session_day():
    now = pd.Timestamp("2025-06-10 12:00", tz="UTC")
    items = [
        ("SPX", ny("2025-06-02 10:00")), ("SPX", ny("2025-06-02 15:55")), ("SPX", ny("2025-06-02 16:20")),
        ("SPX", ny("2025-06-03 11:00")),  # alone on its day: kept
        ("BTC", pd.Timestamp("2025-06-02 23:55", tz="UTC")), ("BTC", pd.Timestamp("2025-06-02 01:00", tz="UTC")),
        ("BTC", pd.Timestamp("2025-06-03 00:05", tz="UTC")),  # the next UTC day for BTC
        ("SPX", ny("2025-06-09 10:00")), ("SPX", ny("2025-06-09 10:05")),  # the last 2 days: all kept
    ]
    assert rules.to_delete(items, now, keep_days=2) == [0, 1, 5]
    # SPX 16:20 New York on 2 June is 20:20 UTC: still 2 June's session for SPX (New York's day)
    assert rules.session_day("SPX", pd.Timestamp("2025-06-03 00:20", tz="UTC")) == dt.date(2025, 6, 2)
    assert rules.to_delete(items, now, keep_days=30) == []


def test_collect_setting_and_interval_parsing():
    assert rules.parse_collect("spx, BTC ,SPX@90s") == (("SPX", "BTC"), 90.0)
    for bad in ("SPX@5x", "SPX@10s", "@5m", "S P X"):
        with pytest.raises(ValueError):
            rules.parse_collect(bad)


# --------------------------------------------------------------------------- a local server, a fake clock


class FakeClock:
    def __init__(self, start: pd.Timestamp):
        self.t = start.tz_convert("UTC").to_pydatetime()
        self.slept: list[float] = []

    def __call__(self) -> dt.datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept.append(seconds)
        self.t += dt.timedelta(seconds=seconds)


class Replay:
    """A local HTTP server answering from per-path queues of (status, headers, body); the last answer of a
    queue repeats. A body may be a callable of the fake time (CBOE's ``timestamp`` follows the clock)."""

    def __init__(self, clock: FakeClock, routes: dict[str, list]):
        self.clock, self.routes, self.log, self.queries = clock, routes, [], []
        replay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                replay.log.append((path, pd.Timestamp(replay.clock())))
                replay.queries.append(self.path)
                queue = replay.routes.get(path) or [(404, {}, b"{}")]
                status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
                body = body(replay.clock()) if callable(body) else body
                truncated = headers.get("X-Truncate")
                self.send_response(status)
                for k, v in headers.items():
                    if k != "X-Truncate":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body[: int(truncated)] if truncated else body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # shutdown() waits for serve_forever's next poll: 0.5 s by default, at the end of every test
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def times(self, path: str) -> list[pd.Timestamp]:
        return [t for p, t in self.log if p == path]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def cboe_body(now: dt.datetime) -> bytes:
    """The recorded SPX answer, its quote time 15 minutes before the fake now (CBOE's delay)."""
    obj = json.loads((FIXTURES / "cboe_delayed_spx_response.json").read_text())
    obj["timestamp"] = f"{pd.Timestamp(now).tz_convert(NY) - pd.Timedelta(minutes=15):%Y-%m-%d %H:%M:%S}"
    return json.dumps(obj).encode()


BOOK = (FIXTURES / "deribit_book_summary_btc_response.json").read_bytes()
INDEX = (FIXTURES / "deribit_index_price_btc_response.json").read_bytes()
CBOE_PATH = "/cboe/_SPX.json"
BOOK_PATH = "/deribit/get_book_summary_by_currency"
INDEX_PATH = "/deribit/get_index_price"
TRADES_PATH = "/deribit/get_last_trades_by_currency_and_time"
NO_TRADES = json.dumps({"jsonrpc": "2.0", "result": {"trades": [], "has_more": False}}).encode()


def collector(tmp_path, replay, clock, underlyings, every_s=300.0, **kw) -> Collector:
    lines: list[str] = []
    c = Collector(tmp_path, underlyings, every_s, clock=clock, sleep=clock.sleep,
                  base_urls={"cboe": replay.base + "/cboe", "deribit": replay.base + "/deribit"},
                  sessions=nyse_session_bounds(), say=lines.append, **kw)
    c.lines = lines  # type: ignore[attr-defined]
    return c


def until(clock: FakeClock, when: pd.Timestamp):
    return lambda: pd.Timestamp(clock()) >= when


def test_cboe_is_collected_in_session_then_once_after_the_close_written_catalogued_summarised(tmp_path):
    clock = FakeClock(ny("2025-06-02 15:40"))
    with Replay(clock, {CBOE_PATH: [(200, {}, cboe_body)]}) as replay:
        c = collector(tmp_path, replay, clock, ["SPX"])
        c.run(should_stop=until(clock, ny("2025-06-02 17:30")))
    taken = [t.tz_convert(NY) for t in replay.times(CBOE_PATH)]
    assert taken == [ny("2025-06-02 15:40"), ny("2025-06-02 15:45"), ny("2025-06-02 15:50"),
                     ny("2025-06-02 15:55"), ny("2025-06-02 16:20")]
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert files == ["collect_cboe_spx_20250602T194000Z.json", "collect_cboe_spx_20250602T194500Z.json",
                     "collect_cboe_spx_20250602T195000Z.json", "collect_cboe_spx_20250602T195500Z.json",
                     "collect_cboe_spx_20250602T202000Z.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]  # every write was renamed into place
    catalog = scan_catalog(tmp_path)
    assert [e.underlying for e in catalog.snapshots()] == ["SPX"] * 5 and not catalog.broken()
    with HistoryStore(tmp_path) as store:
        assert store.stale() == []  # each file was summarised as it landed
        assert len(store.summaries("SPX", refresh=False)) == 5
    status = read_status(tmp_path)
    assert status is not None and status_path(tmp_path).parent.name == ".mmpos"
    spx = status["underlyings"]["SPX"]
    assert spx["last_fetch_at"] == "2025-06-02T20:20:00+00:00" and spx["failures"] == 0
    assert spx["next_at"] == "2025-06-03T13:30:00+00:00"  # Tuesday's open
    assert max(clock.slept) <= 60  # the loop wakes at least once a minute


def test_a_weekend_and_a_holiday_fetch_nothing(tmp_path):
    # Friday's after-close snapshot is in the folder: Saturday to Monday's open fetches nothing
    (tmp_path / "collect_cboe_spx_20250606T202000Z.json").write_bytes(cboe_body(ny("2025-06-06 16:20")))
    clock = FakeClock(ny("2025-06-07 08:00"))
    with Replay(clock, {CBOE_PATH: [(200, {}, cboe_body)]}) as replay:
        c = collector(tmp_path, replay, clock, ["SPX"], every_s=3600)
        c.run(should_stop=until(clock, ny("2025-06-09 10:00")))
    assert [t.tz_convert(NY) for t in replay.times(CBOE_PATH)] == [ny("2025-06-09 09:30")]


def test_errors_rate_limits_and_cut_bodies_back_off_then_recover(tmp_path):
    clock = FakeClock(pd.Timestamp("2025-06-02 10:00", tz="UTC"))
    book_answers = [
        (500, {}, b"Internal Server Error"),
        (429, {"Retry-After": "120"}, b"{}"),
        (200, {"X-Truncate": "300"}, BOOK),  # the connection closes 300 bytes into the body
        (200, {}, BOOK),
    ]
    with Replay(clock, {BOOK_PATH: book_answers, INDEX_PATH: [(200, {}, INDEX)],
                        TRADES_PATH: [(200, {}, NO_TRADES)]}) as replay:
        c = collector(tmp_path, replay, clock, ["BTC"])
        c.step()
        first = read_status(tmp_path)
        c.run(should_stop=until(clock, pd.Timestamp("2025-06-02 10:10", tz="UTC")))
    assert first is not None and first["underlyings"]["BTC"]["failures"] == 1
    assert "HTTP 500" in first["underlyings"]["BTC"]["last_error"]
    assert "BTC failing x1" in (status_text(first) or "")
    t0 = pd.Timestamp("2025-06-02 10:00", tz="UTC")
    seconds = [(t - t0).total_seconds() for t in replay.times(BOOK_PATH)]
    # 500 -> 15 s; 429 asks 120 s (more than the 30 s backoff); cut body -> 60 s; success; then every 5 min
    assert seconds == [0, 15, 135, 195, 495]
    assert any("cut short" in line or "JSON" in line for line in c.lines)  # type: ignore[attr-defined]
    written = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".") and "_trades_" not in p.name)
    assert written == ["collect_deribit_btc_book_summary_20250602T100315Z.json",
                       "collect_deribit_btc_book_summary_20250602T100815Z.json"]
    status = read_status(tmp_path)
    assert status is not None
    btc = status["underlyings"]["BTC"]
    assert btc["failures"] == 0 and btc["failures_total"] == 3 and btc["last_error"] is None
    assert btc["last_fetch_at"] == "2025-06-02T10:08:15+00:00"


def test_retention_deletes_only_the_collectors_old_files(tmp_path):
    names = ["collect_cboe_spx_20250602T194000Z.json", "collect_cboe_spx_20250602T202000Z.json",
             "collect_deribit_btc_book_summary_20250602T100000Z.json",
             "collect_deribit_btc_book_summary_20250602T230000Z.json",
             "collect_cboe_spx_20250609T140000Z.json"]
    names.append("collect_deribit_btc_trades_20250602T080000Z_20250602T100000Z.trades.json")  # older than 3 days
    others = ["cboe_spx_20250602T194000Z.json", "collect_notes.txt", "positions.csv",
              "collect_deribit_btc_trades_20250609T080000Z_20250609T100000Z.trades.json",  # recent trades: kept
              "deribit_btc_trades_20250602T080000Z_20250602T100000Z.trades.json"]  # not the collector's: kept
    for name in names + others:
        (tmp_path / name).write_text("{}")
    clock = FakeClock(pd.Timestamp("2025-06-10 12:00", tz="UTC"))
    c = Collector(tmp_path, ["SPX", "BTC"], 300, keep_days=3, clock=clock, sleep=clock.sleep,
                  sessions=nyse_session_bounds())
    removed = c.apply_retention()
    assert sorted(p.name for p in removed) == ["collect_cboe_spx_20250602T194000Z.json",
                                               "collect_deribit_btc_book_summary_20250602T100000Z.json",
                                               "collect_deribit_btc_trades_20250602T080000Z_20250602T100000Z.trades.json"]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert set(others) <= set(left) and "collect_cboe_spx_20250602T202000Z.json" in left


def test_the_collect_command_once_uses_the_base_url_setting(tmp_path, monkeypatch, capsys):
    from dashboard.cli import main

    clock = FakeClock(pd.Timestamp("2025-06-02 10:00", tz="UTC"))
    with Replay(clock, {BOOK_PATH: [(200, {}, BOOK)], INDEX_PATH: [(200, {}, INDEX)],
                        TRADES_PATH: [(200, {}, NO_TRADES)]}) as replay:
        monkeypatch.setenv("MMPOS_DERIBIT_BASE_URL", replay.base + "/deribit")
        assert main(["collect", "--underlying", "btc", "--every", "5m", "--once", "--data-dir", str(tmp_path)]) == 0
    assert [p for p, _ in replay.log] == [BOOK_PATH, INDEX_PATH]  # (a real clock: the recorded book has expired)
    written = [p.name for p in tmp_path.iterdir() if p.name.startswith("collect_deribit_btc_book_summary_")]
    assert len(written) == 1
    status = read_status(tmp_path)
    assert status is not None and status["underlyings"]["BTC"]["last_file"] == written[0]
    assert capsys.readouterr().err == ""


def test_the_collect_command_refuses_a_bad_interval_in_one_line(capsys):
    from dashboard.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["collect", "--underlying", "SPX", "--every", "2s"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interval '2s' is outside" in err


def test_serve_runs_one_collector_process_named_by_the_setting(tmp_path):
    from dashboard.runtime import config, server

    settings = config.Settings(collect="SPX,BTC@5m", data_dir=str(tmp_path))
    cmd = server.collector_command(settings, 1234)
    assert cmd is not None and cmd[1:4] == ["-m", "dashboard.cli", "collect"]
    assert cmd[cmd.index("--underlying") + 1] == "SPX,BTC" and cmd[cmd.index("--parent-pid") + 1] == "1234"
    assert server.collector_command(config.Settings(), 1234) is None
    # the command line parses as mmpos collect's (the child would refuse anything else)
    from dashboard.cli import build_parser

    args = build_parser().parse_args(cmd[3:])
    assert args.underlying == ("SPX", "BTC") and args.every == 300.0 and args.parent_pid == 1234


def test_a_collector_whose_parent_is_gone_stops(tmp_path, monkeypatch):
    import os

    from dashboard.cli import main

    monkeypatch.setattr(os, "getppid", lambda: 1)  # re-parented: the server died
    monkeypatch.setenv("MMPOS_DERIBIT_BASE_URL", "http://127.0.0.1:9")  # nothing listens: one failure
    assert main(["collect", "--underlying", "BTC", "--data-dir", str(tmp_path), "--parent-pid", "999999"]) == 0
    status = read_status(tmp_path)
    assert status is not None and status["underlyings"]["BTC"]["failures"] == 1


def test_serve_starts_the_collector_before_serving_and_stops_it_with_the_server(tmp_path, monkeypatch):
    import subprocess
    import sys

    from dashboard.runtime import config, server

    children: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def popen(cmd, **kw):
        assert cmd[3] == "collect"
        children.append(real_popen([sys.executable, "-c", "import time; time.sleep(60)"], **kw))
        return children[-1]

    monkeypatch.setattr(subprocess, "Popen", popen)
    seen = []
    monkeypatch.setattr(server, "_serve", lambda *a: seen.append(children[0].poll()))
    server.run(config.Settings(collect="SPX@5m", data_dir=str(tmp_path)))
    assert seen == [None]  # running while the server ran
    assert len(children) == 1 and children[0].poll() is not None  # stopped with it
    server.run(config.Settings(data_dir=str(tmp_path)))  # MMPOS_COLLECT unset: no process
    assert len(children) == 1


def test_a_bad_base_url_setting_is_one_line_for_fetch_and_collect(tmp_path, monkeypatch, capsys):
    from dashboard.cli import main

    monkeypatch.setenv("MMPOS_CBOE_BASE_URL", "cdn.cboe.com/api")
    assert main(["fetch", "cboe", "SPX", "--out", str(tmp_path)]) == 2
    assert main(["collect", "--underlying", "SPX", "--once", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["mmpos fetch: MMPOS_CBOE_BASE_URL must start with http:// or https://, got 'cdn.cboe.com/api'",
                   "mmpos collect: MMPOS_CBOE_BASE_URL must start with http:// or https://, got 'cdn.cboe.com/api'"]
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- Deribit trades with each snapshot


def _trades_body(rows_of_minutes_ago: list[tuple[str, int, str, float]], has_more: bool = False):
    """An answer of get_last_trades_by_currency_and_time (the documented layout: docs.deribit.com,
    api-reference/market-data; values made up) with trades some minutes before the fake now."""
    def body(now: dt.datetime) -> bytes:
        trades = [{"trade_id": tid, "instrument_name": name, "direction": side, "amount": amount, "price": 0.01,
                   "iv": 48.0, "index_price": 105000.0,
                   "timestamp": int((pd.Timestamp(now) - pd.Timedelta(minutes=ago)).value // 1_000_000)}
                  for tid, ago, (name, side, amount) in rows_of_minutes_ago]
        return json.dumps({"jsonrpc": "2.0", "result": {"trades": trades, "has_more": has_more}}).encode()
    return body


def _query(url: str) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(url).query))


def test_deribit_trades_are_fetched_with_each_snapshot_in_windows_without_gaps(tmp_path):
    from analytics.scenario import Scenario
    from dashboard import service

    clock = FakeClock(pd.Timestamp("2025-06-02 10:00", tz="UTC"))
    first_page = _trades_body([("t1", 150, ("BTC-6JUN25-100000-C", "buy", 3.0)),    # 07:30: before the 08:00 OI
                               ("t2", 60, ("BTC-6JUN25-100000-C", "buy", 2.0))], has_more=True)
    second_page = _trades_body([("t2", 60, ("BTC-6JUN25-100000-C", "buy", 2.0)),    # the page boundary repeats it
                                ("t3", 30, ("BTC-6JUN25-100000-P", "sell", 1.5))])
    answers = [(200, {}, first_page), (200, {}, second_page),
               (500, {}, b"Internal Server Error"),                                  # 10:05: the trades fetch fails
               (200, {}, NO_TRADES)]
    with Replay(clock, {BOOK_PATH: [(200, {}, BOOK)], INDEX_PATH: [(200, {}, INDEX)], TRADES_PATH: answers}) as replay:
        c = collector(tmp_path, replay, clock, ["BTC"])
        c.run(should_stop=until(clock, pd.Timestamp("2025-06-02 10:11", tz="UTC")))
        status_after = read_status(tmp_path)
    asked = [_query(q) for q in replay.queries if q.startswith(TRADES_PATH)]
    ms = [(pd.Timestamp(int(q["start_timestamp"]), unit="ms", tz="UTC"), pd.Timestamp(int(q["end_timestamp"]), unit="ms", tz="UTC"))
          for q in asked]
    at = pd.Timestamp("2025-06-02", tz="UTC")
    assert all(q["kind"] == "option" and q["currency"] == "BTC" and q["sorting"] == "asc" for q in asked)
    assert ms[0] == (at + pd.Timedelta(hours=8), at + pd.Timedelta(hours=10))  # the first: since the 08:00 settlement
    assert ms[1][0] == at + pd.Timedelta(hours=9)  # the second page starts at the first page's last trade
    # 10:05 failed: 10:10 asks again from 10:00, where the last window written ended
    assert ms[2] == (at + pd.Timedelta(hours=10), at + pd.Timedelta(hours=10, minutes=5))
    assert ms[3] == (at + pd.Timedelta(hours=10), at + pd.Timedelta(hours=10, minutes=10))
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert [n for n in names if n.endswith(".trades.json")] == [
        "collect_deribit_btc_trades_20250602T080000Z_20250602T100000Z.trades.json",
        "collect_deribit_btc_trades_20250602T100000Z_20250602T101000Z.trades.json"]
    assert not [n for n in names if n.endswith(".part")]
    catalog = scan_catalog(tmp_path)
    assert len(catalog.snapshots("BTC")) == 3 and not catalog.broken()  # trades files are neither
    assert status_after is not None and status_after["underlyings"]["BTC"]["failures_total"] == 1
    assert status_after["underlyings"]["BTC"]["trades_until_at"] == "2025-06-02T10:10:00+00:00"
    # the first snapshot's flow: t2 (customer buys 2 calls) and t3 (sells 1.5 puts), t1 before the OI
    first = tmp_path / "collect_deribit_btc_book_summary_20250602T100000Z.json"
    from analytics.sources import load_chain

    flow = service.trades_flow(tmp_path, load_chain(first))
    assert sorted(flow.tape["trade_id"]) == ["t2", "t3"] and flow.duplicates == 1
    assert flow.by_series["dealer_flow"].tolist() == [-2.0, 1.5]
    analysis = service.analyze_path(first, Scenario(convention="flow-inferred"))
    assert any("flow-inferred: 2 trades" in w for w in analysis.warnings)


def test_a_restarted_collector_resumes_the_trades_window_from_its_files(tmp_path):
    (tmp_path / "collect_deribit_btc_trades_20250602T080000Z_20250602T093000Z.trades.json").write_text("{}")
    c = Collector(tmp_path, ["BTC"], 300, clock=FakeClock(pd.Timestamp("2025-06-02 10:00", tz="UTC")),
                  sessions=nyse_session_bounds())
    assert pd.Timestamp(c.targets["BTC"].trades_until_ns, tz="UTC") == pd.Timestamp("2025-06-02 09:30", tz="UTC")


# --------------------------------------------------------------------------- the serving process restarts it


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_dead_collector_is_restarted_with_backoff_and_a_long_run_starts_the_count_over():
    import os
    import signal

    from dashboard.runtime.server import CollectorSupervisor

    now = [0.0]
    started = []

    def start():
        started.append(_sleeper())
        return started[-1]

    sup = CollectorSupervisor(start, poll_s=3600, base_s=0.001, cap_s=0.004, reset_s=60, clock=lambda: now[0])
    try:
        assert [CollectorSupervisor(lambda: None).restart_delay_s(n) for n in (1, 2, 3, 4, 20)] == [1, 2, 4, 8, 300]
        assert sup.check() is False  # running: nothing to do
        for expected in (1, 2, 3):  # dies at once, again and again: the backoff grows
            os.kill(sup.child.pid, signal.SIGKILL)
            sup.child.wait()
            assert sup.check() is True and sup.restarts == expected
        now[0] += 120.0  # then runs two minutes before it dies: the count starts over
        os.kill(sup.child.pid, signal.SIGKILL)
        sup.child.wait()
        assert sup.check() is True and sup.restarts == 1 and sup.restarts_total == 4
        assert len({p.pid for p in started}) == 5 and sup.child.poll() is None
    finally:
        sup.stop()
    assert all(p.poll() is not None for p in started)  # stopped with the server
