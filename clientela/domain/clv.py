"""Customer lifetime value: BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader & Hardie
2013), fitted by maximum likelihood on closed-form log-likelihoods.

Input per customer, in a time unit (days or weeks): ``frequency`` x = repeat purchases,
``recency`` t_x = time from the first to the last purchase, ``T`` = time from the first
purchase to the end of the observation, and for Gamma-Gamma the mean value of the repeat
purchases. Parameters are optimised on their logarithms (all are positive).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

__all__ = [
    "BgNbd",
    "GammaGamma",
    "expected_purchases",
    "expected_spend",
    "fit_bg_nbd",
    "fit_gamma_gamma",
    "probability_alive",
]

Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True, slots=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    log_likelihood: float


def _arrays(*values: ArrayLike) -> list[Floats]:
    return [np.asarray(value, dtype=np.float64) for value in values]


def bg_nbd_log_likelihood(
    params: Floats, frequency: Floats, recency: Floats, age: Floats
) -> Floats:
    """Per-customer log-likelihood (Fader, Hardie & Lee 2005, equation 6)."""
    r, alpha, a, b = params
    x, t_x, t = frequency, recency, age
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + t)
    repeat = x > 0
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return np.asarray(a1 + a2 + np.logaddexp(a3, a4), dtype=np.float64)


def fit_bg_nbd(frequency: ArrayLike, recency: ArrayLike, age: ArrayLike) -> BgNbd:
    x, t_x, t = _arrays(frequency, recency, age)
    _check(x, t_x, t)
    scale = float(max(t.max(), 1.0))  # fit on a unit scale: alpha moves with the time unit
    total = _BgNbdSum(x, t_x / scale, t / scale)

    def negative(log_params: Floats) -> float:
        return -total(np.exp(log_params))

    found = _maximise(negative, np.zeros(4))
    r, alpha, a, b = np.exp(found.x)
    alpha *= scale
    ll = float(bg_nbd_log_likelihood(np.array([r, alpha, a, b]), x, t_x, t).sum())
    return BgNbd(float(r), float(alpha), float(a), float(b), ll)


def gamma_gamma_log_likelihood(params: Floats, frequency: Floats, monetary: Floats) -> Floats:
    """Per-customer log-likelihood of the mean spend of x repeat purchases."""
    p, q, v = params
    x, m = frequency, monetary
    return np.asarray(
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + (p * x) * np.log(x)
        - (p * x + q) * np.log(v + x * m),
        dtype=np.float64,
    )


def fit_gamma_gamma(frequency: ArrayLike, monetary: ArrayLike) -> GammaGamma:
    """Over customers with repeat purchases and a positive mean spend only."""
    x, m = _arrays(frequency, monetary)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) < 10:
        raise ValueError("Gamma-Gamma needs at least 10 customers with repeat purchases")

    total = _GammaGammaSum(x, m)

    def negative(log_params: Floats) -> float:
        return -total(np.exp(log_params))

    found = _maximise(negative, np.log(np.array([1.0, 1.0, float(np.mean(m))])))
    p, q, v = np.exp(found.x)
    return GammaGamma(float(p), float(q), float(v), -float(found.fun))


def probability_alive(
    model: BgNbd, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
) -> Floats:
    x, t_x, t = _arrays(frequency, recency, age)
    ratio = np.where(
        x > 0,
        model.a
        / np.where(x > 0, model.b + x - 1, 1.0)
        * ((model.alpha + t) / (model.alpha + t_x)) ** (model.r + x),
        0.0,
    )
    return 1.0 / (1.0 + ratio)


def expected_purchases(
    model: BgNbd, horizon: float, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
) -> Floats:
    """Expected repeat purchases in the next ``horizon`` time units (equation 10)."""
    x, t_x, t = _arrays(frequency, recency, age)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    hyper = hyp2f1(r + x, b + x, a + b + x - 1, horizon / (alpha + t + horizon))
    first = (a + b + x - 1) / (a - 1)
    second = 1 - ((alpha + t) / (alpha + t + horizon)) ** (r + x) * hyper
    return np.asarray(first * second * probability_alive(model, x, t_x, t), dtype=np.float64)


def expected_spend(model: GammaGamma, frequency: ArrayLike, monetary: ArrayLike) -> Floats:
    """Expected mean value of a future purchase (the population mean without repeat data)."""
    x, m = _arrays(frequency, monetary)
    population = model.p * model.gamma / (model.q - 1)
    weighted = (model.gamma + x * m) * model.p / (model.p * x + model.q - 1)
    return np.where(x > 0, weighted, population)


class _BgNbdSum:
    """The summed BG/NBD log-likelihood, fast to evaluate many times: the gamma-function terms
    depend only on x, which takes few distinct values, so they are computed once per value."""

    def __init__(self, x: Floats, t_x: Floats, t: Floats) -> None:
        self.values, inverse = np.unique(x, return_inverse=True)
        self.counts = np.bincount(inverse).astype(np.float64)
        repeat = x > 0
        self.n = len(x)
        self.t_once = t[~repeat]  # people with no repeat purchase (x = 0)
        self.x_repeat, self.t_x_repeat, self.t_repeat = x[repeat], t_x[repeat], t[repeat]

    def __call__(self, params: Floats) -> float:
        r, alpha, a, b = (float(v) for v in params)
        u = self.values
        per_value = gammaln(r + u) + gammaln(b + u) - gammaln(a + b + u)
        constant = float(self.counts @ per_value) + self.n * (
            -gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b)
        )
        # non-repeaters: a4 is -inf, so logaddexp(a3, a4) = a3
        once = -r * np.log(alpha + self.t_once)
        x, t_x, t = self.x_repeat, self.t_x_repeat, self.t_repeat
        a3 = -(r + x) * np.log(alpha + t)
        a4 = np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x)
        mixed = float(np.logaddexp(a3, a4).sum())
        return float(constant + float(once.sum()) + mixed)


class _GammaGammaSum:
    """The summed Gamma-Gamma log-likelihood with its parameter-free parts precomputed."""

    def __init__(self, x: Floats, m: Floats) -> None:
        self.values, inverse = np.unique(x, return_inverse=True)
        self.counts = np.bincount(inverse).astype(np.float64)
        self.x, self.m = x, m
        self.n = len(x)
        self.x_log_m = float((x * np.log(m)).sum())
        self.log_m = float(np.log(m).sum())
        self.x_log_x = float((x * np.log(x)).sum())

    def __call__(self, params: Floats) -> float:
        p, q, v = (float(value) for value in params)
        u = self.values
        per_value = gammaln(p * u + q) - gammaln(p * u)
        return float(
            float(self.counts @ per_value)
            - self.n * gammaln(q)
            + self.n * q * np.log(v)
            + p * self.x_log_m
            - self.log_m
            + p * self.x_log_x
            - float(((p * self.x + q) * np.log(v + self.x * self.m)).sum())
        )


def _maximise(negative: Callable[[Floats], float], start: Floats) -> Any:
    """L-BFGS-B from the start; when it does not converge, Nelder-Mead to get near (robust from
    a poor start) and L-BFGS-B again to finish precisely."""
    found = minimize(negative, start, method="L-BFGS-B")
    if found.success and np.isfinite(found.fun):
        return found
    options = {"xatol": 1e-8, "fatol": 1e-8, "maxiter": 20_000, "maxfev": 20_000}
    near = minimize(negative, start, method="Nelder-Mead", options=options)
    return minimize(negative, near.x, method="L-BFGS-B")


def _check(x: Floats, t_x: Floats, t: Floats) -> None:
    if len(x) == 0:
        raise ValueError("no customers to fit")
    if (x < 0).any() or (t_x < 0).any() or (t_x > t + 1e-9).any():
        raise ValueError("frequency and recency must be ≥ 0 and recency ≤ age")
