"""Every MMPOS_* setting declared once (dashboard.runtime.config.Settings): bounds in the fields, one line
naming the variable for a bad value, the README's table generated from the declaration."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from analytics import calendars, catalog, history
from dashboard.runtime import config
from dashboard.runtime.config import Settings, UnsafeConfigError, env_name, from_env

ROOT = Path(__file__).resolve().parents[2]
TABLE = re.compile(r"<!-- settings table:[^\n]*-->\n(.*?)<!-- end of settings table -->", re.S)


def test_the_readme_table_is_the_generated_one():
    found = TABLE.search((ROOT / "docs" / "operations.md").read_text(encoding="utf-8"))
    assert found is not None, "docs/operations.md lost its settings table markers"
    assert found.group(1) == config.markdown_table(), "run: python -m dashboard.runtime.config --markdown"


def test_the_table_is_printed_by_the_module():
    out = subprocess.run([sys.executable, "-m", "dashboard.runtime.config", "--markdown"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert out == config.markdown_table() and out.count("\n") == len(Settings.model_fields) + 2


def test_every_mmpos_variable_the_code_names_is_declared():
    declared = {env_name(name) for name in Settings.model_fields}
    named: dict[str, str] = {}
    for path in [*(ROOT / "dashboard").rglob("*.py"), *(ROOT / "analytics").rglob("*.py")]:
        for name in re.findall(r"\bMMPOS_[A-Z][A-Z_]*[A-Z]\b", path.read_text(encoding="utf-8")):
            named.setdefault(name, str(path.relative_to(ROOT)))
    missing = {name: where for name, where in named.items() if name not in declared}
    assert not missing, f"MMPOS_* variables read outside Settings: {missing}"


def test_analytics_reads_its_two_variables_as_the_settings_declare_them(monkeypatch, tmp_path):
    assert history.STATE_DIR_ENV == env_name("state_dir") and catalog.DATA_DIR_ENV == env_name("data_dir")
    data = tmp_path / "data"
    for raw in (f"  {tmp_path}/state  ", "~/state", "", "   "):
        monkeypatch.setenv(history.STATE_DIR_ENV, raw)
        monkeypatch.setenv(catalog.DATA_DIR_ENV, raw)
        declared = from_env()
        store = history.default_store_dir(data)
        if declared.state_dir is None:
            assert store == data / history.STORE_DIRNAME
        else:
            assert store.parent == declared.state_dir
        assert catalog.default_data_dir() == (declared.data_dir or catalog.default_data_dir())
        if declared.data_dir is not None:
            assert catalog.default_data_dir() == declared.data_dir


@pytest.mark.parametrize("raw", ["off", "0", "no", "false", "OFF", "on", "1", "yes", ""])
def test_analytics_reads_the_calendar_cache_switch_as_the_settings_declare_it(monkeypatch, raw):
    assert calendars.CALENDAR_CACHE_ENV == env_name("calendar_cache")
    monkeypatch.setenv(calendars.CALENDAR_CACHE_ENV, raw)
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent-cache-home")
    assert (calendars._bounds_cache_path() is not None) == from_env().calendar_cache


def _bounded() -> list[tuple[str, float, float]]:
    out = []
    for name, field in Settings.model_fields.items():
        lo = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), None)
        hi = next((m.le for m in field.metadata if getattr(m, "le", None) is not None), None)
        if lo is not None and hi is not None:
            out.append((name, lo, hi))
    return out


@pytest.mark.parametrize(("name", "lo", "hi"), _bounded())
def test_a_value_out_of_its_bounds_is_refused_with_one_line_naming_the_variable(name, lo, hi):
    var = env_name(name)
    step = 1 if isinstance(lo, int) and isinstance(hi, int) else 0.01
    for bad in (lo - step, hi + step):
        with pytest.raises(UnsafeConfigError) as got:
            from_env({var: str(bad)})
        message = str(got.value)
        assert message.startswith(f"{var} must be ") and "\n" not in message, message
    assert getattr(from_env({var: str(lo)}), name) == lo and getattr(from_env({var: str(hi)}), name) == hi


@pytest.mark.parametrize(("env", "message"), [
    ({"MMPOS_PORT": "abc"}, "MMPOS_PORT must be an integer, got 'abc'"),
    ({"MMPOS_RESCAN_SECONDS": "inf"}, "MMPOS_RESCAN_SECONDS must be a finite number, got 'inf'"),
    ({"MMPOS_WARM": "maybe"}, "MMPOS_WARM must be on or off, got 'maybe'"),
    ({"MMPOS_STRIKE_WINDOW_PCT": "wide"}, "MMPOS_STRIKE_WINDOW_PCT must be a finite number, got 'wide'"),
    ({"MMPOS_THREADS": "0"}, "MMPOS_THREADS must be 1-64, got '0'"),
])
def test_a_bad_value_is_one_line(env, message):
    with pytest.raises(UnsafeConfigError) as got:
        from_env(env)
    assert str(got.value) == message


def test_environment_text_becomes_typed_values():
    s = from_env({"MMPOS_PORT": "9000", "MMPOS_ALLOWED_HOSTS": " a.example, b.example ,", "MMPOS_DEBUG": "on",
                  "MMPOS_BACKGROUND_ROWS": "off", "MMPOS_ACCESS_LOG": "", "MMPOS_HOST": "",
                  "MMPOS_JOBS": "Celery", "MMPOS_DEFAULT_UNDERLYING": " btc ", "MMPOS_TIMEOUT": "5"})
    assert (s.port, s.allowed_hosts, s.debug, s.background_rows) == (9000, ("a.example", "b.example"), True, None)
    assert (s.access_log, s.host, s.jobs, s.default_underlying, s.timeout_s) == ("", "127.0.0.1", "celery", "BTC", 5)
    assert from_env({}) == Settings()


def test_settings_built_in_code_ignore_the_environment_and_overrides_are_checked(monkeypatch):
    monkeypatch.setenv("MMPOS_PORT", "1234")
    assert Settings().port == config.DEFAULT_PORT and from_env().port == 1234
    assert from_env().override(port=9001, host=None).port == 9001
    with pytest.raises(UnsafeConfigError, match="^--threads must be 1-64, got 0$"):  # a CLI flag is named as such
        Settings().override(threads=0)


def test_one_setting_is_read_without_the_others(monkeypatch):
    monkeypatch.setenv("MMPOS_PORT", "not a port")
    monkeypatch.setenv("MMPOS_DEFAULT_UNDERLYING", "eth")
    assert config.default_underlying() == "ETH"
    with pytest.raises(UnsafeConfigError, match="MMPOS_PORT"):
        from_env()
