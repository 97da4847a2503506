"""Side by side: totals, zero-gamma levels and +/-5% hedge flows on the real SPX and NDX files under each
forward/IV choice, the implied rate and dividend yield of the SPX file, and what the parity fit costs.

    .venv/bin/python benchmarks/model_choices.py [DATA_DIR]     # default ../shared/data

Every number comes from ``analytics.report.analyze`` (the CLI's JSON), nothing is recomputed here.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from analytics import forwards as fwd
from analytics.prepare import FORWARD_CHOICES, IV_POLICIES, prepare_chain
from analytics.report import analyze
from analytics.scenario import Scenario
from analytics.sources import load_chain

FILES = ("cboe_spx_2024-01-07_phammings.csv", "cboe_ndx_2022-02-05_lucacastelli.csv")
SHOCKS_PCT = (-5.0, 5.0)


def best_ms(fn, repeat: int = 5) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return 1e3 * best


def bn(usd: float) -> str:
    return f"{usd / 1e9:,.2f}bn"


def side_by_side(chain) -> list[str]:
    lines = [f"{chain.underlying} {chain.as_of:%Y-%m-%d %H:%M}  spot {chain.spot:,.2f}",
             f"  {'forward':8} {'iv':5} {'GEX USD/1%':>14} {'zero gamma':<28} {'flow -5% USD':>13} {'flow +5% USD':>13}"
             "  flags"]
    for forward in FORWARD_CHOICES:
        for iv in IV_POLICIES:
            a = analyze(chain, Scenario(forward=forward, iv_policy=iv, shocks_pct=SHOCKS_PCT))
            flows = a.hedge_curve.set_index("shock_pct")["hedge_flow_usd"]
            zeros = ", ".join(f"{z:,.1f}" for z in a.zero_gamma_levels) or "none"
            flags = ",".join(n.code for n in a.notes if n.code in ("ill-conditioned", "forward-basis"))
            lines.append(f"  {forward:8} {iv:5} {bn(a.total_gex_usd_per_1pct):>14} {zeros:<28} "
                         f"{bn(flows[-5.0]):>13} {bn(flows[5.0]):>13}  {flags}")
    return lines


def carry(chain) -> list[str]:
    table = fwd.expiry_forwards(chain)
    c = fwd.implied_carry(table, chain.spot)
    lines = [f"{chain.underlying} implied carry from put-call parity ({len(c)} of {len(table)} expiries fitted)",
             f"  {'expiry':10} {'years':>6} {'forward':>10} {'basis %':>8} {'rate %':>7} {'yield %':>8}"]
    f = table.set_index("expiry")
    for _, r in c.iterrows():
        if r["years"] < 1 / 12 and r["expiry"] != c["expiry"].iloc[0]:
            continue  # the short weeklies share the reference rate; show the first one only
        row = f.loc[r["expiry"]]
        lines.append(f"  {r['expiry']:%Y-%m-%d} {r['years']:6.3f} {row['forward']:10,.2f} "
                     f"{row['forward_basis_pct']:8.3f} {100 * r['implied_rate']:7.2f} {100 * r['implied_yield']:8.2f}")
    year = c.loc[(c["years"] >= 1 / 12) & (c["years"] <= 1.0)]
    lines.append(f"  median 1 month to 1 year: rate {100 * year['implied_rate'].median():.2f}%, "
                 f"yield {100 * year['implied_yield'].median():.2f}%")
    return lines


def timings(chain) -> list[str]:
    fit = best_ms(lambda: fwd.expiry_forwards(chain))
    cached = fwd.chain_forwards(chain)
    out = [f"{chain.underlying} timings (best of 5, ms; 2-core shared machine)",
           f"  parity fit of every expiry (expiry_forwards)      {fit:7.1f}"]
    for forward in FORWARD_CHOICES:
        for iv in IV_POLICIES:
            cold = best_ms(lambda f=forward, v=iv: prepare_chain(chain, forward=f, iv_policy=v))
            warm = best_ms(lambda f=forward, v=iv: prepare_chain(chain, forward=f, iv_policy=v, forwards=cached))
            out.append(f"  prepare {forward:6} {iv:4}: fit inside {cold:7.1f}, fit cached per chain {warm:7.1f}")
    return out


def main(argv: list[str]) -> int:
    data = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    chains = [load_chain(data / name) for name in FILES]
    for chain in chains:
        print("\n".join(side_by_side(chain)), end="\n\n")
    print("\n".join(carry(chains[0])), end="\n\n")
    for chain in chains:
        print("\n".join(timings(chain)), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
