"""The source registry: every format declared once (name, sniffer, loader); a new one is one module + one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import analytics.sources as sources
from analytics.errors import ChainDataError
from analytics.sources import FORMATS, REGISTRY, detect_format, load_chain, source_named
from analytics.sources.common import Head, Source
from analytics.sources.table import load_table, write_table

ROOT = Path(__file__).resolve().parents[2]


def test_formats_are_the_registered_names_each_once():
    assert FORMATS == tuple(s.name for s in REGISTRY)
    assert len(set(FORMATS)) == len(FORMATS)
    assert set(FORMATS) == {"cboe", "cboe-json", "deribit-book-summary", "deribit-ticker", "table-csv",
                            "table-parquet", "book"}


def test_every_registered_source_is_found_by_name():
    for source in REGISTRY:
        assert source_named(source.name) is source
    with pytest.raises(KeyError, match="registered: "):
        source_named("yahoo")


def test_a_source_added_to_the_registry_is_detected_loaded_and_listed(tmp_path, deribit_ticker_path, monkeypatch):
    # a toy format: a canonical table CSV behind a "#toy" first line
    def sniff(head: Head) -> bool:
        return head.text.startswith("#toy\n")

    def load(path, *, multiplier=None, as_of=None):
        table = write_table(load_chain(deribit_ticker_path), tmp_path / "inner.csv")
        return load_table(table, multiplier=multiplier)

    toy = Source("toy", "a test format", sniff, load)
    monkeypatch.setattr(sources, "REGISTRY", (toy, *REGISTRY))
    path = tmp_path / "x.toy"
    path.write_text("#toy\nanything\n")
    assert detect_format(path) == "toy"
    assert len(load_chain(path).rows) == 166
    unknown = tmp_path / "notes.csv"
    unknown.write_text("date,close\n")
    with pytest.raises(ChainDataError, match=r"supported: toy, "):
        detect_format(unknown)


def test_the_sources_package_imports_without_the_network_fetcher_or_a_loop():
    code = ("import sys, analytics.sources.cboe; import analytics.sources as s; "
            "print('analytics.sources.fetch' in sys.modules, 'scipy.optimize' in sys.modules, len(s.REGISTRY))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "7"]
