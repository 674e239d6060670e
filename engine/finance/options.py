"""European option prices and Greeks under Black-Scholes-Merton with a continuous dividend
yield, with F6's signature ``black_scholes(S, K, T, r, q, sigma, option_type="call")``.

Inputs broadcast like the ratios (numbers, arrays, Series); ``option_type`` is ``"call"`` /
``"put"`` (or ``"c"``/``"p"``, any case), or an array of them or of booleans (True = call).
``T`` is in years; ``r``, ``q`` and ``sigma`` are annual and continuously compounded (0.05 =
5 %). The normal CDF is Hart's double-precision rational (absolute error ~1e-16, see ``_cdf``).

Units of the Greeks (Hull's, "Options, Futures, and Other Derivatives", ch. 19): delta per 1.0
of spot, gamma per 1.0 of spot squared, **vega per 1.0 of volatility** (divide by 100 for a
vol point), **theta per year** (divide by 365 for a calendar day) and **rho per 1.0 of rate**
(divide by 100 for 1 %).

Edge cases: an expired option (``T <= 0``) is worth its intrinsic value, as in F6's code, with
delta 0 or ±1 and the other Greeks 0; ``sigma == 0`` with ``T > 0`` is the limit of the
formula (the discounted forward's intrinsic value); ``S <= 0``, ``K <= 0``, ``sigma < 0``, an
unknown type in an array, or a missing input give NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import prange

from ._array import FloatArray, Result, Values, as_float_array, batch, loaded_pandas
from ._jit import launch, parallel, serial

__all__ = ["GREEKS", "black_scholes", "greeks"]

#: the keys of ``greeks``'s result, in order
GREEKS = ("price", "delta", "gamma", "vega", "theta", "rho")

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@serial
def _cdf(x: float, density: float) -> float:
    """N(x) given ``density = exp(-x²/2)``, so callers share that exp with the pdf: Hart's
    (1968) double-precision rational in West's form ("Better approximations to cumulative
    normal functions", Wilmott 2005), absolute error ≈ 1e-16, about 3x cheaper than erfc."""
    a = abs(x)
    if a > 37.0:
        tail = 0.0
    elif a < 7.07106781186547:
        num = 3.52624965998911e-02 * a + 0.700383064443688
        num = num * a + 6.37396220353165
        num = num * a + 33.912866078383
        num = num * a + 112.079291497871
        num = num * a + 221.213596169931
        num = num * a + 220.206867912376
        den = 8.83883476483184e-02 * a + 1.75566716318264
        den = den * a + 16.064177579207
        den = den * a + 86.7807322029461
        den = den * a + 296.564248779674
        den = den * a + 637.333633378831
        den = den * a + 793.826512519948
        den = den * a + 440.413735824752
        tail = density * num / den
    else:
        fraction = a + 0.65
        fraction = a + 4.0 / fraction
        fraction = a + 3.0 / fraction
        fraction = a + 2.0 / fraction
        fraction = a + 1.0 / fraction
        tail = density / fraction / 2.506628274631
    return 1.0 - tail if x > 0.0 else tail


@serial
def _valid(s: float, k: float, t: float, r: float, q: float, sigma: float, call: float) -> bool:
    """Whether one option's inputs can be priced (positive S and K, sigma >= 0, a known type)."""
    if np.isnan(s) or np.isnan(k) or np.isnan(t) or np.isnan(r) or np.isnan(q):
        return False
    if np.isnan(sigma) or not (call == 1.0 or call == 0.0):
        return False
    return s > 0.0 and k > 0.0 and sigma >= 0.0


@serial
def _terms(s: float, k: float, t: float, r: float, q: float, sigma: float,
           sign: float) -> tuple[float, float, float, float, float, float]:
    """N(sign·d1), N(sign·d2) (sign +1 for a call, -1 for a put), the density n(d1), sigma·√T,
    e^(-qT) and e^(-rT); at sigma = 0, their limits."""
    growth, discount = math.exp(-q * t), math.exp(-r * t)
    if sigma == 0.0:
        forward = s * growth - k * discount
        up = 1.0 if forward > 0.0 else (0.5 if forward == 0.0 else 0.0)
        n = up if sign > 0.0 else 1.0 - up
        return n, n, 0.0, 0.0, growth, discount
    spread = sigma * math.sqrt(t)
    d1 = (math.log(s / k) + (r - q + 0.5 * sigma * sigma) * t) / spread
    d2 = d1 - spread
    e1 = math.exp(-0.5 * d1 * d1)
    # exp(-d2²/2) = exp(-d1²/2)·S·e^(-qT)/(K·e^(-rT)), the identity behind delta's formula
    e2 = e1 * (s * growth) / (k * discount) if e1 > 0.0 else math.exp(-0.5 * d2 * d2)
    return (_cdf(sign * d1, e1), _cdf(sign * d2, e2), _INV_SQRT_2PI * e1, spread, growth,
            discount)


@parallel
def _price_kernel(s: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, q: FloatArray,
                  sigma: FloatArray, call: FloatArray) -> FloatArray:
    """Prices of a batch of options, one per element, across cores."""
    out = np.empty(s.size)
    for i in prange(s.size):
        si, ki, ti = s[i], k[i], t[i]
        sign = 1.0 if call[i] == 1.0 else -1.0
        if not _valid(si, ki, ti, r[i], q[i], sigma[i], call[i]):
            out[i] = np.nan
        elif ti <= 0.0:
            out[i] = max(sign * (si - ki), 0.0)
        else:
            n_a, n_b, _, _, growth, discount = _terms(si, ki, ti, r[i], q[i], sigma[i], sign)
            out[i] = sign * (si * growth * n_a - ki * discount * n_b)
    return out


@parallel
def _greeks_kernel(s: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, q: FloatArray,
                   sigma: FloatArray, call: FloatArray) -> FloatArray:
    """Price and Greeks of a batch in one pass, rows in ``GREEKS`` order, across cores."""
    out = np.empty((6, s.size))
    for i in prange(s.size):
        si, ki, ti, ri, qi, vol = s[i], k[i], t[i], r[i], q[i], sigma[i]
        sign = 1.0 if call[i] == 1.0 else -1.0
        if not _valid(si, ki, ti, ri, qi, vol, call[i]):
            out[:, i] = np.nan
        elif ti <= 0.0:
            out[0, i] = max(sign * (si - ki), 0.0)
            out[1, i] = sign if sign * (si - ki) > 0.0 else 0.0
            out[2:, i] = 0.0
        else:
            n_a, n_b, pdf, spread, growth, discount = _terms(si, ki, ti, ri, qi, vol, sign)
            root = math.sqrt(ti)
            spot, strike = si * growth, ki * discount
            out[0, i] = sign * (spot * n_a - strike * n_b)
            out[1, i] = sign * growth * n_a
            out[2, i] = growth * pdf / (si * spread) if spread > 0.0 else 0.0
            out[3, i] = spot * pdf * root
            out[4, i] = -spot * pdf * vol / (2.0 * root) - sign * (ri * strike * n_b
                                                                   - qi * spot * n_a)
            out[5, i] = sign * ki * ti * discount * n_b
    return out


_NAMES = {"call": 1.0, "c": 1.0, "put": 0.0, "p": 0.0}


def _flag(cell: Any) -> float:
    """One cell's 1.0 (call) / 0.0 (put): a name in any case, or a boolean; else NaN."""
    if isinstance(cell, bool | np.bool_):
        return 1.0 if cell else 0.0
    if isinstance(cell, str):
        return _NAMES.get(cell.strip().lower(), np.nan)
    return np.nan


def _call_flags(option_type: Any) -> Values:
    """``option_type`` as 1.0 (call) / 0.0 (put). A single unknown name is a caller's mistake
    and raises; an unknown cell in an array is bad data and becomes NaN."""
    if isinstance(option_type, str):
        flag = _flag(option_type)
        if flag != flag:
            raise ValueError(f"option_type must be 'call' or 'put', got {option_type!r}")
        return flag
    pandas = loaded_pandas()
    index = None
    if pandas is not None and isinstance(option_type, pandas.Series):
        index, option_type = option_type.index, option_type.to_numpy()
    cells = np.asarray(option_type)
    if cells.dtype.kind in "biuf":
        flags = as_float_array(cells)
    else:  # exact "call"/"put" by vectorised compare, the odd spellings one by one
        flags = np.full(cells.shape, np.nan)
        flags[cells == "call"] = 1.0
        flags[cells == "put"] = 0.0
        rest = np.isnan(flags)
        if rest.any():
            flags[rest] = as_float_array(np.frompyfunc(_flag, 1, 1)(cells[rest]))
    return flags if index is None else pandas.Series(flags, index=index)


def black_scholes(S: Values, K: Values, T: Values, r: Values, q: Values, sigma: Values,
                  option_type: Any = "call") -> Result:
    """The Black-Scholes-Merton price of a European call or put on an asset paying a continuous
    yield ``q`` (F6's signature); a float for numbers, an array or Series for batches."""
    b = batch(S, K, T, r, q, sigma, _call_flags(option_type))
    return b.wrap(launch(_price_kernel, *b.arrays))


def greeks(S: Values, K: Values, T: Values, r: Values, q: Values, sigma: Values,
           option_type: Any = "call") -> dict[str, Result]:
    """Price, delta, gamma, vega, theta and rho in one pass, keyed by ``GREEKS``; units in the
    module docstring (vega per 1.0 vol, theta per year, rho per 1.0 rate)."""
    b = batch(S, K, T, r, q, sigma, _call_flags(option_type))
    table = launch(_greeks_kernel, *b.arrays)
    return {name: b.wrap(table[row]) for row, name in enumerate(GREEKS)}
