"""Alert delivery (dashboard/alerts.py, dashboard/runtime/notify.py) against a local HTTP receiver and a
local SMTP sink started by the tests; the proof: spot crossing zero gamma between two demo snapshots
posts exactly one webhook, and checking again posts none."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shutil
import socketserver
import threading
from pathlib import Path

import pandas as pd
import pytest

from analytics import demo
from analytics.alerts import Alert, AlertConfigError
from analytics.history import HistoryStore
from dashboard import alerts
from dashboard.runtime import config, notify

FAST = config.Settings(alerts_attempts=3, alerts_backoff_s=0.01)


# --------------------------------------------------------------------------- local receivers


class Receiver:
    """An HTTP server on a free loopback port answering POSTs with the given statuses (then 200)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.bodies: list[dict] = []
        self.answers: list[int] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = outer.statuses.pop(0) if outer.statuses else 200
                outer.answers.append(status)
                if status == 200:
                    assert self.headers["Content-Type"] == "application/json"
                    outer.bodies.append(json.loads(body))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        # a short poll so that shutdown() returns at once (the default half second was paid per test)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A minimal SMTP server on a free loopback port keeping each message's envelope and data."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], str]] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                def say(line):
                    self.wfile.write(line.encode() + b"\r\n")

                say("220 sink ESMTP")
                sender, rcpts = "", []
                while True:
                    line = self.rfile.readline().decode().rstrip("\r\n")
                    verb = line[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        say("250 sink")
                    elif verb == "MAIL":
                        sender = line.split(":", 1)[1].strip(" <>")
                        say("250 ok")
                    elif verb == "RCPT":
                        rcpts.append(line.split(":", 1)[1].strip(" <>"))
                        say("250 ok")
                    elif verb == "DATA":
                        say("354 go on")
                        data = []
                        while (part := self.rfile.readline().decode()) not in (".\r\n", ""):
                            data.append(part)
                        outer.messages.append((sender, rcpts, "".join(data)))
                        say("250 queued")
                    elif verb == "QUIT" or not line:
                        say("221 bye")
                        return
                    else:
                        say("250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def smtp_sink():
    s = SmtpSink()
    yield s
    s.close()


def write_config(path: Path, *, url: str | None = None, smtp_port: int | None = None,
                 rules: str = "[rules.zero_gamma_cross]\n") -> Path:
    text = rules
    if url:
        text += f'\n[webhook]\nurl = "{url}"\n'
    if smtp_port:
        text += f'\n[email]\nhost = "127.0.0.1"\nport = {smtp_port}\nfrom = "mmpos@desk.test"\nto = ["desk@desk.test"]\n'
    path.write_text(text, encoding="utf-8")
    return path


def an_alert(rule="zero_gamma_cross", snapshot_id="spx-20261120-1615") -> Alert:
    return Alert(rule, "SPX", snapshot_id, pd.Timestamp("2026-11-20 16:15", tz="America/New_York"),
                 "SPX: spot 7,100.0 is now above zero gamma 7,032.5", {"spot": 7100.0})


# --------------------------------------------------------------------------- delivery


def test_webhook_posts_slack_and_teams_text_json(tmp_path, receiver):
    cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", url=receiver.url))
    with alerts.AlertLog(tmp_path / "state") as log:
        [sent] = alerts.deliver([an_alert()], cfg, log, attempts=3, backoff_s=0.0)
    assert sent.status == "delivered"
    assert receiver.bodies == [{"text": "2026-11-20 16:15 EST SPX: spot 7,100.0 is now above zero gamma 7,032.5"}]


def test_a_500_answer_is_retried_then_delivered(tmp_path):
    receiver = Receiver(statuses=[500, 503])
    try:
        cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", url=receiver.url))
        waits: list[float] = []
        with alerts.AlertLog(tmp_path / "state") as log:
            [sent] = alerts.deliver([an_alert()], cfg, log, attempts=4, backoff_s=0.5, sleep=waits.append)
    finally:
        receiver.close()
    assert receiver.answers == [500, 503, 200] and len(receiver.bodies) == 1
    assert sent.status == "delivered" and sent.deliveries[0].attempts == 3
    assert waits == [0.5, 1.0]  # backoff doubles
    assert not (tmp_path / "state" / alerts.DEAD_LETTER_NAME).exists()


def test_permanent_failure_writes_one_dead_letter_line(tmp_path):
    receiver = Receiver(statuses=[500] * 10)
    try:
        cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", url=receiver.url))
        with alerts.AlertLog(tmp_path / "state") as log:
            [sent] = alerts.deliver([an_alert()], cfg, log, attempts=3, backoff_s=0.0)
            rows = log.rows("SPX")
    finally:
        receiver.close()
    assert receiver.answers == [500, 500, 500]
    assert sent.status == "failed"
    [line] = (tmp_path / "state" / alerts.DEAD_LETTER_NAME).read_text().splitlines()
    dead = json.loads(line)
    assert (dead["channel"], dead["attempts"]) == ("webhook", 3) and "500" in dead["error"]
    assert dead["alert"]["rule"] == "zero_gamma_cross" and dead["alert"]["snapshot_id"] == "spx-20261120-1615"
    assert rows[0]["status"] == "failed"


def test_a_client_error_is_not_retried(tmp_path):
    receiver = Receiver(statuses=[404])
    try:
        cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", url=receiver.url))
        with alerts.AlertLog(tmp_path / "state") as log:
            [sent] = alerts.deliver([an_alert()], cfg, log, attempts=4, backoff_s=0.0)
    finally:
        receiver.close()
    assert receiver.answers == [404] and sent.status == "failed" and sent.deliveries[0].attempts == 1


def test_an_unreachable_receiver_is_retried_then_dead_lettered(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    delivery = notify.send_with_retries(notify.Webhook(f"http://127.0.0.1:{port}/"), "s", "t", attempts=2,
                                        backoff_s=0.0)
    assert not delivery.delivered and delivery.attempts == 2 and "refused" in delivery.error.lower()


def test_email_through_a_local_smtp_server(tmp_path, smtp_sink):
    cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", smtp_port=smtp_sink.port))
    with alerts.AlertLog(tmp_path / "state") as log:
        [sent] = alerts.deliver([an_alert()], cfg, log, attempts=2, backoff_s=0.0)
    assert sent.status == "delivered"
    [(sender, rcpts, data)] = smtp_sink.messages
    assert sender == "mmpos@desk.test" and rcpts == ["desk@desk.test"]
    assert "Subject: [mmpos] SPX zero gamma cross" in data and "now above zero gamma 7,032.5" in data


def test_at_most_one_alert_per_rule_and_snapshot_across_logs_of_the_same_folder(tmp_path, receiver):
    cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", url=receiver.url))
    with alerts.AlertLog(tmp_path / "state") as first, alerts.AlertLog(tmp_path / "state") as second:
        a = alerts.deliver([an_alert(), an_alert("total_sign")], cfg, first, attempts=1, backoff_s=0.0)
        b = alerts.deliver([an_alert(), an_alert("total_sign"), an_alert(snapshot_id="spx-next")], cfg, second,
                           attempts=1, backoff_s=0.0)
    assert [s.status for s in a] == ["delivered", "delivered"]
    assert [s.status for s in b] == ["duplicate", "duplicate", "delivered"]
    assert len(receiver.bodies) == 3


def test_without_a_channel_alerts_are_only_logged(tmp_path):
    cfg = alerts.load_config(write_config(tmp_path / "alerts.toml"))
    with alerts.AlertLog(tmp_path / "state") as log:
        [sent] = alerts.deliver([an_alert()], cfg, log, attempts=1, backoff_s=0.0)
        assert sent.status == "logged" and log.rows()[0]["status"] == "logged"


@pytest.mark.parametrize(("text", "message"), [
    ("[rules.zero_gamma_cross]\n[webhook]\nurl = 'ftp://x'\n", "field 'webhook.url': must start with https://"),
    ("[rules.zero_gamma_cross]\n[webhook]\nuri = 'https://x'\n", "field 'webhook.uri': unknown key"),
    ("[rules.zero_gamma_cross]\n[email]\nhost = 'h'\nfrom = 'a@b'\n", "field 'email.to': required"),
    ("[rules.zero_gamma_cross]\n[email]\nhost = 'h'\nfrom = 'a@b'\nto = 'c@d'\nport = 0\n", "field 'email.port'"),
    ("[rules.zero_gamma_cross]\n[email]\nhost = 'h'\nfrom = 'a@b'\nto = 'c@d'\npassword_env = 'MMPOS_TEST_NO_SUCH'\n",
     "field 'email.password_env': the environment variable MMPOS_TEST_NO_SUCH is not set"),
    ("[rules]\n", "field 'rules': no rule is on"),
    ("[rule.zero_gamma_cross]\n", "field 'rule': unknown key"),
    ("[rules.zero_gamma_cross\n", "not valid TOML"),
])
def test_a_bad_alerts_file_is_refused_in_one_line_naming_the_file(tmp_path, text, message):
    path = tmp_path / "alerts.toml"
    path.write_text(text)
    with pytest.raises(AlertConfigError) as err:
        alerts.load_config(path, env={})
    assert str(err.value).startswith("alerts.toml: ") and message in str(err.value) and "\n" not in str(err.value)


# --------------------------------------------------------------------------- the proof: two demo snapshots


@pytest.fixture(scope="module")
def crossing_folder(tmp_path_factory) -> Path:
    """Two demo SPX snapshots, a session apart, built around the same open interest: spot 6,770 below
    zero gamma (~6,890), then 7,100 above it (~7,030)."""
    folder = tmp_path_factory.mktemp("alerts-data")
    for day, spot in ((dt.date(2026, 11, 19), 6770.0), (dt.date(2026, 11, 20), 7100.0)):
        text = demo.spx_quote_table(day, spot, 6760.0, 0.0, demo.DEFAULT_SEED,
                                    demo._day_rng(demo.DEFAULT_SEED, 1, day), 6750.0)
        (folder / demo.demo_file_name("SPX", day)).write_text(text, encoding="utf-8")
    with HistoryStore(folder, store_dir=folder.parent / "summaries") as store:  # summarised once for the module
        store.sync()
    return folder


@pytest.fixture
def data_dir(crossing_folder, tmp_path, monkeypatch) -> Path:
    """The two snapshots with a state folder of this test's own (a fresh sent-log each test; the
    history summaries copied in)."""
    monkeypatch.setenv("MMPOS_STATE_DIR", str(tmp_path / "state"))
    shutil.copytree(crossing_folder.parent / "summaries", alerts.state_dir(crossing_folder))
    return crossing_folder


def test_spot_crossing_zero_gamma_between_two_demo_snapshots_posts_exactly_one_webhook(data_dir, tmp_path, receiver):
    cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", url=receiver.url))
    sent = alerts.check(data_dir, cfg, FAST)
    assert [(s.alert.rule, s.alert.snapshot_id, s.status) for s in sent] == \
        [("zero_gamma_cross", "spx-20261120-1615", "delivered")]
    assert len(receiver.bodies) == 1
    text = receiver.bodies[0]["text"]
    assert text.startswith("2026-11-20 16:15 EST SPX: spot 7,100.0 is now above zero gamma")
    assert "on 2026-11-19 spot 6,770.0 was below zero gamma" in text

    again = alerts.check(data_dir, cfg, FAST)  # a restart, another worker, cron: nothing new is sent
    assert [s.status for s in again] == ["duplicate"] and len(receiver.bodies) == 1


def test_every_rule_on_the_demo_pair_and_the_page_lines(data_dir, tmp_path):
    rules = ("[rules.zero_gamma_cross]\n[rules.wall_move]\n[rules.total_sign]\n"
             "[rules.flow_1pct]\nthreshold_usd = 1e12\n")  # no -1%/+1% flow reaches $1tn
    cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", rules=rules))
    sent = alerts.check(data_dir, cfg, FAST)
    assert [s.alert.rule for s in sent] == ["zero_gamma_cross", "wall_move", "total_sign"]
    lines = alerts.recent_alerts(data_dir, "spx")
    assert len(lines) == 3 and all(line.startswith("2026-11-20 16:15 EST SPX: ") for line in lines)
    assert alerts.recent_alerts(data_dir, "BTC") == []


def test_the_first_snapshot_has_no_previous_and_fires_nothing(data_dir, tmp_path, receiver):
    from dashboard import service

    cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", url=receiver.url))
    first = service.get_catalog(data_dir).get("spx-20261119-1615")
    assert alerts.check(data_dir, cfg, FAST, entries=[first]) == [] and receiver.bodies == []


def test_dry_run_sends_and_logs_nothing(data_dir, tmp_path, receiver):
    cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", url=receiver.url))
    assert [s.status for s in alerts.check(data_dir, cfg, FAST, dry_run=True)] == ["dry-run"]
    assert receiver.bodies == [] and alerts.recent_alerts(data_dir, "SPX") == []


def test_the_watcher_checks_a_new_snapshot_once(data_dir, tmp_path, receiver):
    cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", url=receiver.url))
    watcher = alerts.AlertWatcher(data_dir, cfg, FAST)
    assert [s.status for s in watcher.pass_once()] == ["delivered"]
    assert watcher.pass_once() == [] and len(receiver.bodies) == 1


def test_mmpos_alerts_command(data_dir, tmp_path, receiver, capsys):
    from dashboard.cli import main

    path = write_config(tmp_path / "alerts.toml", url=receiver.url)
    assert main(["alerts", "--data-dir", str(data_dir), "--config", str(path), "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("dry-run   2026-11-20 16:15 EST SPX: spot 7,100.0 is now above")
    assert main(["alerts", "--data-dir", str(data_dir), "--config", str(path), "--format", "json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert (record["rule"], record["status"], len(receiver.bodies)) == ("zero_gamma_cross", "delivered", 1)
    (tmp_path / "bad.toml").write_text("[rules.wall_move]\nmin_move_pct = 'x'\n")
    assert main(["alerts", "--data-dir", str(data_dir), "--config", str(tmp_path / "bad.toml")]) == 2
    assert capsys.readouterr().err == ("mmpos: bad.toml: field 'rules.wall_move.min_move_pct': must be a number "
                                       ">= 0, got 'x'\n")


def test_the_page_shows_each_alert_as_a_dated_line(data_dir, tmp_path):
    from dashboard.web.callbacks.alerts import alert_lines

    assert alert_lines({"u": "SPX"}, str(data_dir)) == []  # nothing logged yet: the slot stays hidden
    cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", rules="[rules.zero_gamma_cross]\n[rules.total_sign]\n"))
    alerts.check(data_dir, cfg, FAST)
    [panel] = alert_lines({"u": "SPX"}, str(data_dir))
    items = [li.children for li in panel.children[1].children]
    assert len(items) == 2 and all(i.startswith("2026-11-20 16:15 EST SPX: ") for i in items)
    assert "now above zero gamma" in items[1] and "total GEX changed sign" in items[0]
    assert alert_lines({"u": "BTC"}, str(data_dir)) == [] and alert_lines(None, str(data_dir)) == []


def test_the_documented_example_file_is_valid():
    example = Path(__file__).resolve().parents[2] / "docs" / "alerts.example.toml"
    cfg = alerts.load_config(example, env={"MMPOS_SMTP_PASSWORD": "secret"})
    assert cfg.rules.enabled == ("zero_gamma_cross", "wall_move", "total_sign", "flow_1pct")
    assert [c.name for c in cfg.channels] == ["webhook", "email"] and cfg.channels[1].password == "secret"


def test_the_server_starts_no_alert_thread_without_a_file_or_with_a_bad_one(tmp_path, caplog):
    assert alerts.start(config.Settings()) is None
    bad = tmp_path / "alerts.toml"
    bad.write_text("[rules.total_sign]\nmin_abs_usd = -1\n")
    with caplog.at_level("ERROR", logger="dashboard.alerts"):
        assert alerts.start(config.Settings(alerts_file=bad)) is None
    assert "alerts off: alerts.toml: field 'rules.total_sign.min_abs_usd': must be a number >= 0" in caplog.text


@pytest.mark.parametrize(("env", "message"), [
    ({"MMPOS_ALERTS_ATTEMPTS": "0"}, "MMPOS_ALERTS_ATTEMPTS must be 1-20, got '0'"),
    ({"MMPOS_ALERTS_ATTEMPTS": "many"}, "MMPOS_ALERTS_ATTEMPTS must be an integer"),
    ({"MMPOS_ALERTS_BACKOFF": "-1"}, "MMPOS_ALERTS_BACKOFF must be 0-600, got '-1'"),
])
def test_alert_settings_are_checked(env, message):
    with pytest.raises(config.UnsafeConfigError, match=message):
        config.from_env(env).checked()


def test_alert_settings_from_the_environment(tmp_path):
    s = config.from_env({"MMPOS_ALERTS_FILE": str(tmp_path / "a.toml"), "MMPOS_ALERTS_ATTEMPTS": "2",
                         "MMPOS_ALERTS_BACKOFF": "0.5"}).checked()
    assert (s.alerts_file, s.alerts_attempts, s.alerts_backoff_s) == (tmp_path / "a.toml", 2, 0.5)


def test_an_alert_logged_after_the_page_asked_shows_on_the_next_identical_request(data_dir, tmp_path):
    """The response cache answers identical callback bodies while the data folder is unchanged; the
    alert log is not the data folder, so the alert lines are never answered from it."""
    from dashboard.app import create_app
    from dashboard.web import ids

    app = create_app(data_dir)
    body = {"output": f"{ids.ALERT_LINES}.children", "outputs": {"id": ids.ALERT_LINES, "property": "children"},
            "inputs": [{"id": ids.VIEW_STORE, "property": "data", "value": {"u": "SPX"}}],
            "changedPropIds": [f"{ids.VIEW_STORE}.data"]}

    def lines() -> str:
        response = app.server.test_client().post("/_dash-update-component", json=body)
        assert response.status_code in (200, 204)
        return response.get_data(as_text=True)

    assert "zero gamma" not in lines()
    alerts.check(data_dir, alerts.load_config(write_config(tmp_path / "alerts.toml")), FAST)
    assert "now above zero gamma" in lines()


def test_workers_checking_at_the_same_moment_send_once(tmp_path, receiver):
    """Four processes' worth of sent-log connections deliver the same alerts at once: each goes out once."""
    cfg = alerts.load_config(write_config(tmp_path / "alerts.toml", url=receiver.url))
    start = threading.Barrier(4)
    results: list[list[str]] = []

    def worker() -> None:
        with alerts.AlertLog(tmp_path / "state") as log:
            start.wait()
            sent = alerts.deliver([an_alert(), an_alert("wall_move")], cfg, log, attempts=1, backoff_s=0.0)
            results.append([s.status for s in sent])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = [s for r in results for s in r]
    assert statuses.count("delivered") == 2 and statuses.count("duplicate") == 6
    assert sorted(b["text"][:40] for b in receiver.bodies) == sorted(
        alerts.alert_line(a)[:40] for a in (an_alert(), an_alert("wall_move")))
