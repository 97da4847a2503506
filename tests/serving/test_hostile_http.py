"""The hostile-input corpus over HTTP: what any client can post to ``/_dash-update-component``.

Bodies are built from the app's own ``/_dash-dependencies`` (the shapes the browser posts, as in
benchmarks/bench_dashboard.py), then given hostile values: huge shock ranges, NaN/inf/1e308 as
numbers and text, wrong types, 10k-element lists, unknown and path-traversal snapshot ids, huge
strings, deep nesting, an oversize body, wrong content types. Every one is posted through the Flask
test client, a sample through the real gunicorn. The promise: no 500, no exception text (no
traceback, no exception class name, no absolute path) in any response, and memory stays bounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dashboard.app import create_app
from dashboard.runtime.config import DEFAULT_MAX_REQUEST_BYTES
from dashboard.web import ids
from dashboard.web.state import default_state
from tests.serving.conftest import DEMO, DEMO_FILES, ROOT, Served

UPDATE = "/_dash-update-component"
RSS_GROWTH_LIMIT_MB = 50.0
HUGE = "A" * 200_000
DEEP = 100_000
NESTED = {"a": 1}
for _ in range(40):  # deep, yet under the edge's depth limit: it reaches the callbacks
    NESTED = {"a": NESTED}
TOO_DEEP = {"a": 1}
for _ in range(200):  # parseable, but over the edge's depth limit
    TOO_DEEP = {"a": TOO_DEEP}
EXCEPTION_TEXT = re.compile(r"Traceback|\b[A-Z][A-Za-z]*(Error|Exception)\b|File \"")


# --------------------------------------------------------------------------- request bodies


def deps_of(client) -> list[dict[str, Any]]:
    return json.loads(client.get("/_dash-dependencies").data)


def callback_body(deps: list[dict[str, Any]], first_input: str, values: dict[str, Any],
                  changed: str | None = None, output: str | None = None) -> dict[str, Any]:
    """The body the browser posts for the server callback whose first input is ``first_input``
    (``"<id>.<prop>"``) and, when given, whose outputs include ``output``; inputs and states take
    ``values`` (by ``"<id>.<prop>"``, else None)."""
    spec = next(d for d in deps if d.get("clientside_function") is None
                and f"{d['inputs'][0]['id']}.{d['inputs'][0]['property']}" == first_input
                and (output is None or output in d["output"].strip(".").split("...")))
    outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1].split("@")[0]}
               for part in spec["output"].strip(".").split("...")]

    def items(kind: str) -> list[dict[str, Any]]:
        return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in spec[kind]]

    return {"output": spec["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": items("inputs"), "state": items("state"), "changedPropIds": [changed or first_input]}


MAIN = f"{ids.READY_VIEW_STORE}.data"  # the main update (behind the gate of callbacks/work.py)
VIEW = f"{ids.VIEW_STORE}.data"  # the view state: made by the controls callback (which runs the gate)
CONTROLS = f"{ids.URL}.search"
COMPARE = f"{ids.RESULT_STORE}.data"
CSV = f"{ids.CSV_BUTTON}.n_clicks"


SNAP = "spx-20261120-1615"  # the catalog id of the newest demo file served (a test checks)


def state(**changes: Any) -> dict[str, Any]:
    """A view state on the newest SPX snapshot, as the page posts it, with ``changes``."""
    return default_state(**{"u": "SPX", "snap": SNAP, **changes})


@dataclass(frozen=True)
class Case:
    name: str
    body: Callable[[list[dict[str, Any]]], bytes]
    content_type: str = "application/json"
    statuses: tuple[int, ...] = (200, 204)  # 204: Dash's "nothing to update"
    banner: str | None = None  # text the response must hold (a refusal the user sees)


def main_case(name: str, view_state: Any, banner: str | None = None) -> Case:
    return Case(name, lambda deps: json.dumps(callback_body(deps, MAIN, {MAIN: view_state})).encode(),
                banner=banner)


def gate_case(name: str, view_state: Any) -> Case:
    """The same hostile view state as the controls callback's previous state, a control changed: the
    state it makes goes through the gate in front of the main update (callbacks/work.py)."""
    horizon = f"{ids.HORIZON}.value"
    return Case(f"gate: {name}", lambda deps: json.dumps(callback_body(
        deps, CONTROLS, {CONTROLS: "", horizon: 1, VIEW: view_state}, changed=horizon, output=MAIN)).encode())


def control_case(name: str, key: str, value: Any, previous: Any = None, banner: str | None = None) -> Case:
    def body(deps):
        return json.dumps(callback_body(deps, CONTROLS, {key: value, VIEW: previous or state()}, key)).encode()

    return Case(name, body, banner=banner)


def raw_case(name: str, data: bytes, content_type: str, statuses: tuple[int, ...]) -> Case:
    return Case(name, lambda deps: data, content_type, statuses)


REFUSED = "Scenario value refused"
TEN_K_DATES = [f"2026-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)] * 30  # 10,080

CORPUS: list[Case] = [
    # the view state posted straight to the main update
    main_case("shock range 1e7", state(shock=1e7), "shock range 1e+07 is out of range"),
    main_case("shock range 3e7 as text", state(shock="3e7"), "shock range"),
    main_case("shock range -1e308", state(shock=-1e308), "shock range"),
    main_case("shock NaN as text", state(shock="NaN"), "finite"),
    main_case("shock inf as text", state(shock="inf"), "finite"),
    main_case("shock a list", state(shock=[1, 2]), "shock range must be a number"),
    main_case("shock an object", state(shock={"$gt": 0}), "shock range must be a number"),
    main_case("shock true", state(shock=True), "shock range must be a number"),
    main_case("vol shift 1e308", state(vol="shift", volv=1e308), "vol shift 1e+308 is out of range"),
    main_case("vol shift NaN as text", state(vol="shift", volv="NaN"), "finite"),
    main_case("vol shift -inf as text", state(vol="shift", volv="-inf"), "finite"),
    main_case("vol shift 1e308 as text", state(vol="shift", volv="1e308"), "vol shift"),
    main_case("spot-vol beta 1e300", state(vol="beta", volv=1e300), "spot-vol beta"),
    main_case("vol shift a dict", state(vol="shift", volv={"x": 1}), "must be a number"),
    main_case("vol mode unknown", state(vol="explode"), "vol scenario must be one of"),
    main_case("horizon 1e308", state(h=1e308), "horizon 1e+308 is out of range"),
    main_case("horizon a list", state(h=[1]), "horizon must be a number"),
    main_case("10k custom expiries", state(preset="custom", exp=TEN_K_DATES), "at most 2,000 dates"),
    main_case("expiries not dates", state(preset="custom", exp=["2024-13-01", "garbage"]), "not a date"),
    main_case("expiries a list of objects", state(preset="custom", exp=[{"a": 1}] * 5), "list of dates"),
    main_case("expiries a string", state(preset="custom", exp="2026-11-27"), "list of dates"),
    main_case("unknown snapshot id", state(snap="spx-19990101-0000")),
    main_case("path-traversal snapshot id", state(snap="../../etc/passwd")),
    main_case("snapshot id an object", state(snap={"$ne": None}), "snapshot must be text"),
    main_case("huge underlying", state(u=HUGE), "underlying must be text"),
    main_case("underlying a list", state(u=["SPX", "NDX"]), "underlying must be text"),
    main_case("huge convention", state(conv=HUGE), "convention must be text"),
    main_case("convention a number", state(conv=5), "convention must be text"),
    main_case("unknown convention", state(conv="dealer-owns-the-moon"), "unknown convention"),
    main_case("strike NaN", state(strike="nan"), "strike must be a finite number"),
    main_case("strike 1e308", state(strike=1e308), "is not a strike"),
    main_case("units a dict", state(units={"a": 1}), "hedge units must be one of"),
    main_case("stack a string", state(stack="yes"), "stacking must be true or false"),
    main_case("view state a list", [1, 2, 3], "the view state must be an object"),
    main_case("view state a string", "SPX", "the view state must be an object"),
    main_case("view state a number", 1e308, "the view state must be an object"),
    main_case("view state null", None),
    main_case("40-deep nesting in a field", state(snap=NESTED), "snapshot must be text"),
    Case("200-deep nesting in a field",
         lambda deps: json.dumps(callback_body(deps, MAIN, {MAIN: state(snap=TOO_DEEP)})).encode(), statuses=(400,),
         banner="JSON nested too deeply"),
    main_case("30 unknown keys with long values", {**state(), **{f"k{i}": HUGE[:20_000] for i in range(30)}},
              "refused: not a short scalar"),
    # the controls callback: one control changed to a hostile value
    control_case("vol value NaN", f"{ids.VOL_VALUE}.value", "NaN", banner="vol value must be a finite number"),
    control_case("vol value 1e308", f"{ids.VOL_VALUE}.value", 1e308, state(vol="shift"), banner="vol shift"),
    control_case("shock control 1e7", f"{ids.SHOCK_RANGE}.value", 1e7, banner="shock range 1e+07 is out of range"),
    control_case("shock control text", f"{ids.SHOCK_RANGE}.value", "abc", banner="shock range must be a number"),
    control_case("expiries control 10k", f"{ids.EXPIRIES}.value", TEN_K_DATES, banner="at most 2,000 dates"),
    control_case("expiries control a dict", f"{ids.EXPIRIES}.value", {"a": 1}, banner="list of dates"),
    control_case("stack control a number", f"{ids.STACK}.value", 5, banner="stacking must be a short list"),
    control_case("snapshot control traversal", f"{ids.SNAPSHOT}.value", "../../etc/passwd"),
    control_case("underlying control huge", f"{ids.UNDERLYING}.value", HUGE, banner="underlying must be text"),
    control_case("address with hostile numbers", f"{ids.URL}.search", "?u=SPX&shock=1e7&vol=shift:1e308&h=nan"),
    control_case("address huge", f"{ids.URL}.search", "?u=" + HUGE, banner="address must be a query"),
    control_case("gamma click NaN strike", f"{ids.GAMMA_GRAPH}.clickData", {"points": [{"customdata": "nan"}]}),
    control_case("gamma click inf x", f"{ids.GAMMA_GRAPH}.clickData", {"points": [{"x": 1e308}]}),
    control_case("gamma click points a string", f"{ids.GAMMA_GRAPH}.clickData", {"points": "x"},
                 banner="gamma click must be an object with a list of points"),
    control_case("term selection 10k points", f"{ids.TERM_GRAPH}.selectedData",
                 {"points": [{"customdata": d} for d in TEN_K_DATES]}, banner="at most 2,000 points"),
    control_case("term click deep customdata", f"{ids.TERM_GRAPH}.clickData", {"points": [{"customdata": [NESTED]}]},
                 banner="term-structure click has a value that is not a scalar"),
    control_case("hostile previous state", f"{ids.HORIZON}.value", 1, {"shock": 1e7, "snap": ["x"], "exp": "x"},
                 banner="shock range 1e+07"),
    # the comparison and the download
    Case("comparison with a hostile result and state",
         lambda deps: json.dumps(callback_body(deps, COMPARE, {COMPARE: {"drawn": HUGE, "keys": [1]},
                                                               VIEW: state(shock=1e7)})).encode()),
    Case("csv download with a traversal snapshot",
         lambda deps: json.dumps(callback_body(deps, CSV, {CSV: "1e308", VIEW: state(snap="../../etc/passwd")})).encode()),
    # the body itself
    raw_case("JSON nested 100k deep", b'{"output": ' + b"[" * DEEP + b"]" * DEEP + b"}", "application/json", (400,)),
    raw_case("oversize body", b"{" + b" " * DEFAULT_MAX_REQUEST_BYTES + b"}", "application/json", (413,)),
    raw_case("not JSON", b"{\"output\": ", "application/json", (400,)),
    raw_case("wrong content type", b'{"output": "x"}', "text/plain", (400, 415)),
    raw_case("form post", b"output=x&inputs=y", "application/x-www-form-urlencoded", (400, 415)),
    raw_case("empty body", b"", "application/json", (400,)),
    raw_case("NaN literal body", b"NaN", "application/json", (400,)),
    raw_case("null body", b"null", "application/json", (400,)),
    raw_case("a list as the body", b"[1, 2, 3]", "application/json", (400,)),
]
# the same view states posted to the gate in front of the main update (it must route, never fail)
CORPUS += [gate_case(name, view) for name, view in (
    ("shock range 1e7", state(shock=1e7)), ("vol shift NaN as text", state(vol="shift", volv="NaN")),
    ("a list", [1, 2, 3]), ("a string", "x" * 10_000), ("unknown snapshot", state(snap="../../etc/passwd")),
    ("10k expiries", state(preset="custom", exp=[f"2026-12-{1 + i % 28:02d}" for i in range(10_000)])),
)]


def assert_no_exception_text(case: Case, status: int, body: str, paths: tuple[str, ...]) -> None:
    assert status != 500, f"{case.name}: 500"
    assert status in case.statuses, f"{case.name}: HTTP {status}: {body[:300]}"
    found = EXCEPTION_TEXT.search(body)
    assert found is None, f"{case.name}: exception text {found.group(0)!r} in {body[:300]}"
    for path in paths:
        assert path not in body, f"{case.name}: absolute path in the response"
    assert re.search(r"(?<!\.\./\.\.)/etc/passwd", body) is None, f"{case.name}: file content or path"
    if case.banner is not None:
        assert case.banner in body, f"{case.name}: no {case.banner!r} in {body[:300]}"


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile") / "data"
    folder.mkdir()
    for name in DEMO_FILES:
        (folder / name).write_bytes((DEMO / name).read_bytes())
    return folder


@pytest.fixture(scope="module")
def client(demo_dir):
    app = create_app(demo_dir)
    return app.server.test_client()


def post(client, case: Case, deps) -> tuple[int, str]:
    response = client.post(UPDATE, data=case.body(deps), headers={"Content-Type": case.content_type})
    return response.status_code, response.get_data(as_text=True)


def warm_up(post_json: Callable[[dict[str, Any]], Any], deps) -> None:
    """Every callback once with good values, so caches and lazy imports are not counted as growth."""
    for body in (callback_body(deps, MAIN, {MAIN: state()}),
                 callback_body(deps, CONTROLS, {CONTROLS: "?u=SPX"}),
                 callback_body(deps, COMPARE, {COMPARE: {"drawn": ["summary", "gamma"]}, VIEW: state()})):
        post_json(body)


def test_the_corpus_has_at_least_forty_hostile_payloads_on_a_snapshot_that_exists(client):
    assert len(CORPUS) >= 40 and len({c.name for c in CORPUS}) == len(CORPUS)
    body = callback_body(deps_of(client), CONTROLS, {CONTROLS: "?u=SPX"})
    assert client.post(UPDATE, json=body).get_json()["response"][ids.VIEW_STORE]["data"]["snap"] == SNAP


def test_every_hostile_payload_gets_a_short_answer_without_exception_text_and_memory_stays_bounded(client, demo_dir):
    deps = deps_of(client)
    warm_up(lambda body: client.post(UPDATE, json=body), deps)
    before = rss_mb()
    failures = []
    for case in CORPUS:
        status, body = post(client, case, deps)
        try:
            assert_no_exception_text(case, status, body, (str(ROOT), str(demo_dir)))
        except AssertionError as err:
            failures.append(str(err).splitlines()[0])
    growth = rss_mb() - before
    assert failures == [], "\n".join(failures)
    assert growth < RSS_GROWTH_LIMIT_MB, f"RSS grew {growth:.0f} MB across the corpus"


def test_a_refused_view_state_is_titled_as_a_refusal_not_an_unreadable_snapshot(client):
    deps = deps_of(client)
    body = callback_body(deps, MAIN, {MAIN: state(shock=1e7, vol="shift", volv="NaN")})
    reply = client.post(UPDATE, json=body).get_json()
    banner = json.dumps(reply["response"][ids.BANNER]["children"])
    assert REFUSED in banner and "could not be read" not in banner
    assert "shock range 1e+07 is out of range: allowed 5 to 30 (percent); using 30" in banner
    assert reply["response"][ids.HEDGE_GRAPH]["figure"]["data"]  # the view is drawn with the nearest values


GUNICORN_SAMPLE = ("shock range 1e7", "vol shift NaN as text", "10k custom expiries", "path-traversal snapshot id",
                   "huge underlying", "view state a list", "shock control 1e7", "term selection 10k points",
                   "JSON nested 100k deep", "wrong content type", "csv download with a traversal snapshot")
# the oversize body through gunicorn is tests/serving/test_serve.py's (it sends the length, not 43 MB)


def test_a_sample_through_the_real_gunicorn_gets_no_500_and_no_exception_text(server: Served):
    log_start = len(server.log())  # the server is shared: earlier modules' faults are theirs
    deps = json.loads(server.get("/_dash-dependencies").body)

    def post_json(body: dict[str, Any]):
        return server.request("POST", UPDATE, body=json.dumps(body).encode(),
                              headers={"Content-Type": "application/json"})

    for _ in range(4):  # each worker sees the good views first
        warm_up(post_json, deps)
    before = {pid: rss_mb(pid) for pid in server.worker_pids()}
    cases = [c for c in CORPUS if c.name in GUNICORN_SAMPLE]
    assert len(cases) == len(GUNICORN_SAMPLE)
    failures = []
    for case in cases:
        reply = server.request("POST", UPDATE, body=case.body(deps), headers={"Content-Type": case.content_type})
        try:
            assert_no_exception_text(case, reply.status, reply.text, (str(ROOT), str(server.data_dir)))
        except AssertionError as err:
            failures.append(str(err).splitlines()[0])
    growth = {pid: rss_mb(pid) - mb for pid, mb in before.items() if Path(f"/proc/{pid}").exists()}
    assert failures == [], "\n".join(failures)
    assert max(growth.values()) < RSS_GROWTH_LIMIT_MB, f"worker RSS growth {growth}"
    assert "Traceback" not in server.log()[log_start:]  # refusals are not errors
