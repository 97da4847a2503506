"""The catalog's quick description of canonical Parquet tables (``analytics.catalog_files.quick_facts``):
the entry is the one loading the file gives, on every demo file and on the real files written as tables;
a table it cannot prove clean (a broken rule, an unusual layout, misleading metadata, a cut file) is
loaded instead, with the same entry and the same reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import catalog_scan
from analytics.catalog import clear_cache, scan_catalog
from analytics.catalog_files import QUICK_FORMAT, _FileKey, quick_facts
from analytics.demo import write_table_parquet
from analytics.sources import load_chain
from analytics.sources.table import write_table

SMALL_TABLE = "intraday/btc_intraday_2026-11-19_0000_near35d.parquet"  # 360 rows, with forwards


def both_ways(root: Path) -> list[tuple[str, object, object, bool]]:
    """(rel, quick entry, loaded entry, quick facts were used) for every data file under ``root``."""
    root = root.resolve()
    out = []
    for found in catalog_scan._walk(root):
        if found.refused is not None:
            continue
        key = _FileKey(str(found.path.resolve()), found.version, str(root))
        used = quick_facts(key) is not None
        quick = catalog_scan._describe(found, root, quick=True)
        loaded = catalog_scan._describe(found, root, quick=False)
        out.append((found.rel, quick, loaded, used))
    clear_cache()
    return out


@pytest.mark.slow  # loads all 214 files the slow way too (~10 s of a core)
def test_every_demo_file_is_described_as_its_load(demo_data_dir):
    described = both_ways(demo_data_dir)
    assert len(described) > 200
    for rel, quick, loaded, _ in described:
        assert quick == loaded, rel
    parquet = {rel for rel, *_ in described if rel.endswith(".parquet")}
    assert {rel for rel, _, _, used in described if used} == parquet  # every demo table, and only tables
    assert all(entry.format == QUICK_FORMAT for rel, (_, entry), _, used in described if used)


@pytest.mark.parametrize("writer", [write_table, write_table_parquet], ids=["write_table", "demo_writer"])
def test_real_files_written_as_tables_are_described_as_their_load(
    tmp_path, writer, spx_path, ndx_path, deribit_ticker_path, deribit_book_summary_path
):
    root = tmp_path / "data"
    root.mkdir()
    for src in (spx_path, ndx_path, deribit_ticker_path, deribit_book_summary_path):
        writer(load_chain(src), root / f"{src.stem}.parquet")
    described = both_ways(root)
    assert len(described) == 4
    for rel, quick, loaded, used in described:
        assert used, rel
        assert quick == loaded and not loaded[1].broken, rel


def small_frame(demo_data_dir) -> pd.DataFrame:
    return pd.read_parquet(demo_data_dir / SMALL_TABLE)


def _set(col, row, value):
    def change(f):
        f[col] = f[col].astype(object)
        f.loc[row, col] = value
        return f
    return change


def _scale(col, factor):
    def change(f):
        f[col] = f[col] * factor
        return f
    return change


def _dup(f):
    f.loc[5] = f.loc[4]
    return f


def _replace(col, value):
    def change(f):
        f[col] = value
        return f
    return change


# name -> (change of the small table, the file is broken, the quick path applies)
VARIANTS = {
    "two underlyings": (_set("underlying", 3, "ETH"), True, False),
    "unknown side": (_set("side", 3, "X"), True, False),
    "bad expiry": (_set("expiry", 3, "2026-13-01"), True, False),
    "as_of without offset": (_replace("as_of", "2026-11-19T00:00:00"), True, False),
    "two spots": (_set("spot", 3, 1.0), True, False),
    "no spot": (_replace("spot", np.nan), True, False),
    "duplicate contract": (_dup, True, False),
    "negative open interest": (_set("open_interest", 3, -1.0), True, False),
    "absurd open interest": (_set("open_interest", 3, 2e9), True, False),
    "zero strike": (_set("strike", 3, 0.0), True, False),
    "strike far above spot": (_set("strike", 3, 1e9), True, False),
    "iv in percent": (_scale("iv", 100.0), True, False),
    "markup as underlying": (_replace("underlying", "<b>BTC</b>"), True, False),
    "formula as root": (_set("root", 3, "=HYPERLINK(1)"), True, False),
    "all settled": (_replace("as_of", "2030-01-01T00:00:00+00:00"), True, False),
    "settlement without offset": (_set("settlement", 3, "2026-12-25T08:00:00"), True, False),
    "zero multiplier": (_set("multiplier", 3, 0.0), True, False),
    "missing side column": (lambda f: f.drop(columns=["side"]), True, False),
    "no rows": (lambda f: f.iloc[:0], True, False),
    "as_of not a time": (_replace("as_of", "yesterday"), True, False),
    "settlement not a time": (_set("settlement", 3, "2026-13-25T08:00:00+00:00"), True, False),
    "strike not a number": (lambda f: _set("strike", 3, "abc")(f.assign(strike=f["strike"].astype(str))), True, False),
    "zero spot": (_replace("spot", 0.0), True, False),
    "infinite multiplier": (_set("multiplier", 3, np.inf), True, False),
    # loads, but not in the plain layout: loaded all the same
    "lower-case sides": (lambda f: f.assign(side=f["side"].str.lower()), False, False),
    "spaces around the underlying": (_replace("underlying", " BTC "), False, False),
    "one blank settlement": (_set("settlement", 3, None), False, False),
    "upper-case column names": (lambda f: f.rename(columns=str.upper), False, False),
    "typed expiry": (lambda f: f.assign(expiry=pd.to_datetime(f["expiry"])), False, False),
    "extra column": (lambda f: f.assign(note="x"), False, False),
    # the plain layout with defaults: described quickly
    "no root, no settlement": (lambda f: f.drop(columns=["root", "settlement"]), False, True),
    "no multiplier": (lambda f: f.drop(columns=["multiplier"]), False, True),
    "integer open interest": (lambda f: f.assign(open_interest=f["open_interest"].round().astype("int64")),
                              False, True),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_table_the_quick_path_cannot_prove_is_loaded_with_the_same_entry(tmp_path, demo_data_dir, name):
    change, broken, quick = VARIANTS[name]
    root = tmp_path / "data"
    root.mkdir()
    change(small_frame(demo_data_dir)).to_parquet(root / "t.parquet", index=False)
    ((_, quick_entry, loaded_entry, used),) = both_ways(root)
    assert quick_entry == loaded_entry
    assert loaded_entry[1].broken == broken, loaded_entry[1].error
    assert used == quick
    if broken:
        assert "unexpected" not in (loaded_entry[1].error or "")


def test_metadata_that_makes_a_column_the_index_is_followed(tmp_path, demo_data_dir):
    """pandas metadata naming ``strike`` as the index: pandas reads no ``strike`` column, and neither does
    the catalog (the Arrow table still has one)."""
    root = tmp_path / "data"
    root.mkdir()
    small_frame(demo_data_dir).set_index("strike").to_parquet(root / "t.parquet", index=True)
    ((_, quick_entry, loaded_entry, used),) = both_ways(root)
    assert not used and quick_entry == loaded_entry
    assert "missing required column(s) strike" in (loaded_entry[1].error or "")


def test_a_cut_parquet_file_is_a_broken_entry_naming_the_problem(tmp_path, demo_data_dir):
    root = tmp_path / "data"
    root.mkdir()
    raw = (demo_data_dir / SMALL_TABLE).read_bytes()
    (root / "cut.parquet").write_bytes(raw[: len(raw) // 2])
    entry = scan_catalog(root).get("file-cut-parquet")
    assert entry is not None and entry.broken
    assert entry.error.startswith("cannot parse the table-parquet file"), entry.error
    ((_, quick_entry, loaded_entry, used),) = both_ways(root)
    assert not used and quick_entry == loaded_entry


# --- one home per rule: every rule of the load has a variant above that the quick path refuses

#: Modules whose functions the load of a table runs (frame_to_chain and what it calls, make_chain included).
RULE_MODULES = ("analytics/chain.py", "analytics/sources/table.py", "analytics/sources/common.py")
#: Calls that carry a rule's message as their first argument.
MESSAGE_CALLS = frozenset({"ChainDataError", "_fail", "fail"})
#: Rules of make_chain that a table cannot reach (frame_to_chain refuses or fills first), by the literal
#: text of their message (``{}`` for a formatted value), each with why: a variant could not break them.
UNREACHABLE_FROM_A_TABLE = {
    "snapshot time has no time zone": "frame_to_chain refuses an as_of without a UTC offset first",
    "missing column(s) {}": "frame_to_chain builds every column make_chain needs",
    "no option rows": "frame_to_chain refuses a table without rows first",
    "rows of two underlyings in one file: {} and {} (each file holds one underlying; its spot prices every row)":
        "frame_to_chain refuses differing underlyings first",
    "contract multiplier unknown": "frame_to_chain fills blank multipliers",
    "Black-76 rows need a positive forward": "frame_to_chain picks Black-76 only when every forward is positive",
}


def _load_rules(start: str = "frame_to_chain") -> dict[str, str]:
    """{message pattern (a regex: the literal text, ``.*?`` for each formatted value): its literal text} of
    every ChainDataError the functions reachable from ``start`` can raise, found by reading the source."""
    import ast
    import re

    root = Path(__file__).resolve().parents[2]
    defs: dict[str, list[ast.AST]] = {}
    for module in RULE_MODULES:
        for node in ast.walk(ast.parse((root / module).read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                defs.setdefault(node.name, []).append(node)
    rules: dict[str, str] = {}
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for fn in defs[name]:
            for node in ast.walk(fn):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                if node.func.id in defs:
                    todo.append(node.func.id)
                if node.func.id in MESSAGE_CALLS and node.args:
                    parts = node.args[0].values if isinstance(node.args[0], ast.JoinedStr) else [node.args[0]]
                    if not all(isinstance(p, (ast.Constant, ast.FormattedValue)) for p in parts):
                        continue  # a reason passed on (``reason``): its literal is found where it is written
                    if not any(isinstance(p, ast.Constant) for p in parts):
                        continue
                    pattern = "".join(re.escape(p.value) if isinstance(p, ast.Constant) else ".*?" for p in parts)
                    rules[pattern] = "".join(p.value if isinstance(p, ast.Constant) else "{}" for p in parts)
    return rules


def test_the_rule_finder_reads_the_rules_of_frame_to_chain_and_make_chain():
    texts = list(_load_rules().values())
    for piece in ("duplicate contract", "expiry must be YYYY-MM-DD", "is more than", "no live rows",
                  "iv looks like percent", "contract multiplier must be positive", "is not a name"):
        assert any(piece in t for t in texts), piece


def test_every_rule_of_the_load_has_a_variant_the_quick_path_refuses(tmp_path, demo_data_dir):
    """A rule added to the load (frame_to_chain, make_chain or a helper they call) needs a variant above
    that breaks it; that variant's test then requires the quick path to refuse the file."""
    import re

    from analytics.errors import ChainDataError
    from analytics.sources.table import load_table, parquet_table_facts

    reasons = {}
    for i, (name, (change, broken, _)) in enumerate(VARIANTS.items()):
        if not broken:
            continue
        path = tmp_path / f"v{i}.parquet"
        change(small_frame(demo_data_dir)).to_parquet(path, index=False)
        assert parquet_table_facts(path.read_bytes()) is None, name
        with pytest.raises(ChainDataError) as err:
            load_table(path)
        reasons[name] = err.value.reason
    rules = _load_rules()
    exempt = {p for p, text in rules.items() if text in UNREACHABLE_FROM_A_TABLE}
    uncovered = [text for p, text in rules.items()
                 if p not in exempt and not any(re.fullmatch(p, r, re.DOTALL) for r in reasons.values())]
    assert not uncovered, f"rules of the load without a variant in VARIANTS: {uncovered}"
    stale = [text for text in UNREACHABLE_FROM_A_TABLE if text not in rules.values()]
    assert not stale, f"exemptions naming no rule: {stale}"
