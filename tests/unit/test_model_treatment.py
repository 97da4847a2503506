"""Issue #16, model-treatment findings: what the quotes say against the file's own header (stale spot,
weekend clock), placeholder shares, drop notes. Reproduced on the shared files or rewritten copies."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from analytics.report import analyze
from analytics.sources.cboe import load_cboe


def rewrite_spot(src: Path, dst: Path, factor: float) -> float:
    """A copy of a CBOE quote table whose ``Last:`` spot is ``factor`` times the file's; the new spot."""
    text = src.read_text()
    old = float(re.search(r"Last: ([0-9.]+)", text).group(1))
    new = round(old * factor, 4)
    dst.write_text(text.replace(f"Last: {re.search(r'Last: ([0-9.]+)', text).group(1)}", f"Last: {new}", 1))
    return new


@pytest.fixture(scope="module")
def spx_file(spx_path):
    return analyze(load_cboe(spx_path), iv_policy="file")


def test_a_stale_header_spot_is_replaced_by_the_spot_the_quotes_imply(spx_path, tmp_path, spx_file):
    stale = rewrite_spot(spx_path, tmp_path / "spx_stale.csv", 1.015)
    a = analyze(load_cboe(tmp_path / "spx_stale.csv"), iv_policy="file")
    # the levels sit where they sit on the true file: on the spot the quotes imply, not the header's
    assert a.spot == pytest.approx(spx_file.spot, rel=5e-4)
    assert a.zero_gamma_levels[0] == pytest.approx(spx_file.zero_gamma_levels[0], rel=5e-4)
    flow = a.hedge_curve.set_index("shock_pct")["hedge_flow_units"]
    ref = spx_file.hedge_curve.set_index("shock_pct")["hedge_flow_units"]
    assert flow[5.0] == pytest.approx(ref[5.0], rel=2e-3)
    note = next(n for n in a.notes if n.code == "spot-stale")
    assert note.value == pytest.approx(stale)
    # the note names both spots and the levels on the file's spot (moved by the basis)
    assert f"{stale:,.6g}" in note.message and f"{a.spot:,.6g}" in note.message
    on_file = a.zero_gamma_levels[0] * stale / a.spot
    assert f"zero gamma {on_file:,.6g}" in note.message
    assert on_file == pytest.approx(spx_file.zero_gamma_levels[0] * 1.015, rel=5e-4)
    assert a.to_dict()["spot"] == a.spot


def test_a_header_spot_the_quotes_agree_with_is_kept(spx_file):
    assert spx_file.spot == 4697.2402
    assert not any(n.code == "spot-stale" for n in spx_file.notes)


def test_the_spot_model_keeps_the_file_spot_and_says_the_forwards_disagree(spx_path, tmp_path):
    stale = rewrite_spot(spx_path, tmp_path / "spx_stale.csv", 1.015)
    a = analyze(load_cboe(tmp_path / "spx_stale.csv"), forward="spot")
    assert a.spot == stale
    assert any(n.code == "forward-basis" for n in a.notes)
