"""The shared results cache: what one process stores, another reads (a folder, or a real redis-server)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask

from dashboard.runtime.cache import SharedCache, cache_key
from dashboard.runtime.config import Settings
from tests.serving.conftest import ROOT, free_port

# One process stores an analysis-sized value; the other must read it without computing.
WORKER = """
import json, os, sys
from dashboard.runtime.cache import SharedCache, cache_key
from dashboard.runtime.config import from_env
cache = SharedCache(from_env())
key = cache_key("analysis", "spx-20261120-1615", (6798, 1, 2, 3), ("2026-12-18",), "dealer-long-calls")
role = sys.argv[1]
def compute():
    if role == "reader":
        raise SystemExit("the reader had to compute: nothing shared")
    return {"pid": os.getpid(), "gex": list(range(10_000))}
value = cache.get_or_compute(key, compute)
print(json.dumps({"pid": os.getpid(), "stored_by": value["pid"], "n": len(value["gex"]), "backend": cache.backend}))
"""


def run_worker(role: str, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", WORKER, role], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": env.pop("HOME", "/tmp"), **env})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_a_value_stored_by_one_process_is_read_by_another_through_the_cache_folder(tmp_path):
    env = {"MMPOS_CACHE_DIR": str(tmp_path / "cache")}
    writer = run_worker("writer", dict(env))
    reader = run_worker("reader", dict(env))
    assert writer["backend"] == reader["backend"] == "filesystem"
    assert reader["stored_by"] == writer["pid"] != reader["pid"] and reader["n"] == 10_000
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700


def test_a_value_stored_by_one_process_is_read_by_another_through_redis(redis_url, tmp_path):
    env = {"MMPOS_REDIS_URL": redis_url, "MMPOS_CACHE_DIR": str(tmp_path / "unused")}
    writer = run_worker("writer", dict(env))
    reader = run_worker("reader", dict(env))
    assert writer["backend"] == reader["backend"] == "redis"
    assert reader["stored_by"] == writer["pid"] != reader["pid"]
    assert not (tmp_path / "unused").exists()


def test_a_value_over_the_size_limit_is_returned_but_not_stored(tmp_path):
    cache = SharedCache(Settings(cache_dir=tmp_path, cache_max_item_bytes=4096))
    key = cache_key("big", 1)
    assert cache.get_or_compute(key, lambda: b"x" * 10_000) == b"x" * 10_000
    assert cache.get(key) is None
    assert cache.set(cache_key("small", 1), b"x" * 100) and cache.get(cache_key("small", 1)) == b"x" * 100


def test_an_unreachable_redis_costs_the_cache_not_the_answer(caplog):
    cache = SharedCache(Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    assert cache.get_or_compute(cache_key("k", 1), lambda: 42) == 42
    assert "shared cache (redis) read failed" in caplog.text


def test_keys_differ_when_any_part_differs():
    base = cache_key("analysis", "spx", (1, 2), 20.0)
    assert base == cache_key("analysis", "spx", (1, 2), 20.0)
    assert len({base, cache_key("analysis", "spx", (1, 3), 20.0), cache_key("analysis", "spx", (1, 2), 20.5),
                cache_key("term", "spx", (1, 2), 20.0)}) == 4


def test_threads_asking_for_one_missing_value_at_once_compute_it_once(tmp_path):
    cache = SharedCache(Settings(cache_dir=tmp_path / "cache"))
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.3)
        return "value"

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: cache.get_or_compute(cache_key("herd", 1), slow), range(8)))
    assert got == ["value"] * 8
    assert len(calls) == 1


# Two processes ask for the same missing value at the same moment: only one computes it.
RACER = """
import sys, time
from dashboard.runtime.cache import SharedCache, cache_key
from dashboard.runtime.config import from_env
cache = SharedCache(from_env())
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))  # start together
def compute():
    print("computed", flush=True)
    time.sleep(1.0)
    return 42
assert cache.get_or_compute(cache_key("race", 1), compute) == 42
"""


@pytest.mark.parametrize("backend", ["filesystem", "redis"])
def test_two_workers_asking_for_one_missing_value_at_once_compute_it_once(backend, tmp_path, request):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "MMPOS_CACHE_DIR": str(tmp_path / "cache")}
    if backend == "redis":
        env["MMPOS_REDIS_URL"] = request.getfixturevalue("redis_url")
    start = f"{time.time() + 1.5:.3f}"
    procs = [subprocess.Popen([sys.executable, "-c", RACER, start], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-1000:] for _, err in outs]
    assert sum(out.count("computed") for out, _ in outs) == 1


def test_the_cache_works_inside_another_apps_request(tmp_path):
    cache = SharedCache(Settings(cache_dir=tmp_path / "cache"))
    with Flask("the-dashboard").test_request_context("/_dash-update-component"):
        assert cache.set(cache_key("in-request", 1), {"a": 1})
        assert cache.get(cache_key("in-request", 1)) == {"a": 1}
        assert cache.contains(cache_key("in-request", 1))
