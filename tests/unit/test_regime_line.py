"""The regime line (issue 18): one line saying the regime, zero gamma vs spot, the walls and net GEX d/d."""

from __future__ import annotations

from analytics.headline import NO_PREVIOUS_TEXT, Treatment, headline_of, regime_line


def line(treatments, spot, previous=None, **kw):
    own = treatments[0]
    return regime_line(headline_of(spot, treatments), spot=spot, total_gex_usd_per_1pct=own.total_gex_usd_per_1pct,
                       zero_gamma_levels=own.zero_gamma_levels, call_wall=own.call_wall, put_wall=own.put_wall,
                       previous_total_gex_usd_per_1pct=previous, **kw)


def test_a_short_gamma_line_names_zero_gamma_above_spot_the_walls_and_the_day_over_day_change():
    got = line([Treatment("own", (), -8.67e10, (6943.2,), 6800.0, 6600.0)], 6754.0, previous=-5.37e10)
    assert got.regime == "short-gamma"
    assert got.text == "SHORT γ · zero γ 6,943 (+2.8%) · walls 6,800 / 6,600 · net -$86.7bn (-$33bn d/d)"


def test_a_long_gamma_line_takes_the_zero_gamma_level_nearest_spot():
    got = line([Treatment("own", (), 2.1e9, (20.0, 95.5, 130.0), 105.0, 90.0)], 100.0, previous=1.6e9)
    assert got.regime == "long-gamma"
    assert got.text == "LONG γ · zero γ 95.5 (-4.5%) · walls 105 / 90 · net $2.1bn (+$500m d/d)"


def test_an_uncertain_line_shows_the_total_band_and_the_zero_gamma_band_around_spot():
    treatments = [Treatment("own", (), -2.08e10, (4736.0,), 4800.0, 4600.0),
                  Treatment("parity", (), -1.12e10, (4718.0,), 4800.0, 4600.0)]
    got = line(treatments, 4730.0, previous=-1.5e10)
    assert got.regime == "uncertain" and got.badge == "UNCERTAIN γ"
    assert got.text == ("UNCERTAIN γ · total -$20.8bn..-$11.2bn across treatments · zero γ 4,718-4,736 "
                        "(spot inside the band) · walls 4,800 / 4,600 · net -$20.8bn (-$5.8bn d/d)")


def test_an_uncertain_line_from_a_sign_flip_says_so():
    treatments = [Treatment("own", (), -1e9, (5200.0,), 5000.0, 4800.0),
                  Treatment("otm", (), 2e9, (5250.0,), 5000.0, 4800.0)]
    got = line(treatments, 4900.0)
    assert got.regime == "uncertain"
    assert "zero γ 5,200-5,250 (the total's sign differs across treatments)" in got.text


def test_without_a_comparable_previous_snapshot_the_line_says_so():
    got = line([Treatment("own", (), -3e9, (), None, 4600.0)], 4700.0)
    assert got.text == f"SHORT γ · zero γ none in range · walls n/a / 4,600 · net -$3bn ({NO_PREVIOUS_TEXT})"


def test_an_analysis_without_the_band_reads_the_regime_off_its_own_numbers():
    got = regime_line(None, spot=100.0, total_gex_usd_per_1pct=5e8, zero_gamma_levels=[80.0], call_wall=110.0,
                      put_wall=95.0)
    assert got.regime == "long-gamma" and got.badge == "LONG γ"
