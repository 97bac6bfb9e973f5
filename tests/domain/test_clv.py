"""BG/NBD and Gamma-Gamma against the published CDNOW parameters (Fader, Hardie & Lee 2005;
Fader & Hardie 2013), read from the data shipped in the ``lifetimes`` package."""

from __future__ import annotations

import csv
import importlib.resources

import numpy as np
import pytest

from clientela.domain.clv import (
    expected_purchases,
    expected_spend,
    fit_bg_nbd,
    fit_gamma_gamma,
    probability_alive,
)


def _cdnow() -> dict[str, np.ndarray]:
    path = importlib.resources.files("lifetimes.datasets").joinpath(
        "cdnow_customers_summary_with_transactions.csv"
    )
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {
        name: np.array([float(row[name]) for row in rows]) for name in ("x", "t_x", "T", "zbar")
    }


def test_bg_nbd_matches_the_published_cdnow_parameters() -> None:
    data = _cdnow()
    model = fit_bg_nbd(data["x"], data["t_x"], data["T"])
    for fitted, published in (
        (model.r, 0.243),
        (model.alpha, 4.414),
        (model.a, 0.793),
        (model.b, 2.426),
    ):
        assert fitted == pytest.approx(published, rel=0.01)
    assert model.log_likelihood == pytest.approx(-9582.4, abs=1.0)


def test_gamma_gamma_matches_the_published_cdnow_parameters() -> None:
    data = _cdnow()
    model = fit_gamma_gamma(data["x"], data["zbar"])
    for fitted, published in ((model.p, 6.25), (model.q, 3.74), (model.gamma, 15.44)):
        assert fitted == pytest.approx(published, rel=0.01)


def test_predictions_behave() -> None:
    data = _cdnow()
    model = fit_bg_nbd(data["x"], data["t_x"], data["T"])
    alive = probability_alive(model, data["x"], data["t_x"], data["T"])
    assert ((alive > 0) & (alive <= 1)).all()
    assert (alive[data["x"] == 0] == 1).all()
    # Fader, Hardie & Lee's example: x=2, t_x=30.43, T=38.86 -> 1.226 purchases in 39 weeks
    assert expected_purchases(model, 39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, rel=0.01)
    later = expected_purchases(model, 52, data["x"], data["t_x"], data["T"])
    sooner = expected_purchases(model, 26, data["x"], data["t_x"], data["T"])
    assert (later >= sooner).all()
    spend = fit_gamma_gamma(data["x"], data["zbar"])
    assert expected_spend(spend, [0], [0])[0] == pytest.approx(
        spend.p * spend.gamma / (spend.q - 1)
    )


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="recency"):
        fit_bg_nbd([1], [5], [3])
    with pytest.raises(ValueError, match="no customers"):
        fit_bg_nbd([], [], [])


def test_the_fast_sums_equal_the_per_customer_likelihoods() -> None:
    """The fitting uses sums with the parameter-free parts precomputed; they must be the same
    numbers as the plain per-customer log-likelihoods."""
    import numpy as np

    from clientela.domain.clv import (
        _BgNbdSum,
        _GammaGammaSum,
        bg_nbd_log_likelihood,
        gamma_gamma_log_likelihood,
    )

    rng = np.random.default_rng(3)
    x = rng.poisson(1.2, 500).astype(float)
    t = rng.uniform(1, 40, 500)
    t_x = np.where(x > 0, t * rng.uniform(0, 1, 500), 0.0)
    m = rng.gamma(2.0, 30.0, 500)
    for params in ([0.24, 4.4, 0.79, 2.4], [2.0, 0.5, 3.0, 0.2]):
        plain = bg_nbd_log_likelihood(np.array(params), x, t_x, t).sum()
        assert abs(_BgNbdSum(x, t_x, t)(np.array(params)) - plain) < 1e-6 * abs(plain)
    keep = x > 0
    for params in ([6.25, 3.74, 15.44], [1.0, 9.0, 200.0]):
        plain = gamma_gamma_log_likelihood(np.array(params), x[keep], m[keep]).sum()
        fast = _GammaGammaSum(x[keep], m[keep])(np.array(params))
        assert abs(fast - plain) < 1e-6 * abs(plain)
