"""Requests built to hold a core: each costs at most a bounded amount of CPU (issue #17).

These bound CPU time (``time.process_time``), not wall time: a loaded machine does not change them.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time

import pytest

from analytics.errors import ChainDataError
from analytics.sources import load_chain
from tests.conftest import shared_file

CPU_BUDGET_S = 2.0  # issue #17: a replayed hostile request costs at most 2 s of CPU


def made_up_dates(n: int) -> list[str]:
    return [(dt.date(2030, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(n)]


def test_two_thousand_made_up_expiries_on_a_real_spx_chain_cost_little_cpu():
    chain = load_chain(shared_file("cboe_spx_2024-01-07_phammings.csv"))
    start = time.process_time()
    with pytest.raises(ChainDataError) as err:
        chain.select(made_up_dates(2_000))
    spent = time.process_time() - start
    assert spent < CPU_BUDGET_S, f"{spent:.1f} s of CPU for one request"
    message = str(err.value)
    assert "2030-01-01" in message and "1,992 more" in message  # the first few named, the rest counted
    assert len(message) < 400


def test_selecting_every_live_expiry_with_repeats_keeps_every_row():
    chain = load_chain(shared_file("cboe_spx_2024-01-07_phammings.csv"))
    live = [d.isoformat() for d in chain.expiries]
    assert len(chain.select(live * 30).rows) == len(chain.rows)
    assert chain.select([live[0], live[0]]).expiries == [chain.expiries[0]]


def test_the_page_path_refuses_two_thousand_made_up_expiries_within_the_budget(tmp_path):
    from dashboard import service
    from dashboard.web.state import default_state, scenario_from_state

    shutil.copy2(shared_file("cboe_spx_2024-01-07_phammings.csv"), tmp_path)
    entry = service.get_catalog(str(tmp_path)).entries[0]
    state = default_state(u=entry.underlying, snap=entry.id, preset="custom", exp=made_up_dates(2_000))
    start = time.process_time()
    with pytest.raises(ChainDataError):
        service.view_analysis_for(str(tmp_path), entry, scenario_from_state(state))
    assert time.process_time() - start < CPU_BUDGET_S
