"""Benchmark ``engine.finance``'s numba kernels against pure Python and numpy over 1,000,000 rows.

Measures (medians; contenders take turns so load from elsewhere hits them alike, see ``race``;
each figure is the public function a user calls, input conversion included):
- Altman Z: ``altman_z`` vs a pure-Python loop vs a numpy expression — targets >= 100x and >= 5x;
- Black-Scholes price + five Greeks: ``greeks`` vs a pure-Python loop (``math.erf``) vs numpy
  with scipy's ``ndtr`` — targets >= 15x and >= 2x. Without scipy, numpy's normal CDF is the
  Abramowitz-Stegun 7.1.26 erf approximation (error < 1.5e-7), which the report says;
- what ``prange`` buys: each kernel's parallel build against the same code built serial;
- compile time: the first calls in a fresh process with an empty numba cache, then in a second
  process over that cache (which must load, not compile: cache hits, no misses).

Usage: python bench/bench_finance.py [--rows 1000000] [--repeats 7] [--append]
``--append`` adds a section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.finance import GREEKS, altman_z, greeks  # noqa: E402

try:
    from scipy.special import ndtr as _ndtr  # type: ignore[import-not-found]
    NORMAL_CDF = "scipy.special.ndtr"
except ImportError:  # pragma: no cover - depends on the environment
    _ndtr = None
    NORMAL_CDF = "numpy Abramowitz-Stegun 7.1.26 (scipy not installed)"


def race(contenders: dict[str, Callable[[], Any]], repeats: int,
         burst: int = 3) -> dict[str, float]:
    """Median wall time of each contender in seconds. Contenders take turns, round after round,
    so a burst of load from elsewhere on a shared machine hits all of them alike; within its
    turn each runs ``burst`` times and its first run is dropped, so it is timed with its own
    memory warm (as in a loop over batches) rather than paying page faults for memory the
    previous contender handed back to the OS."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            for turn in range(burst):
                start = time.perf_counter()
                fn()
                if turn:
                    samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def alternating(contenders: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median wall time when contenders strictly alternate, so each call's output memory was
    just handed back to the OS by the other's and costs fresh page faults (the pessimistic
    case, shown beside the steady state)."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


# -- inputs -------------------------------------------------------------------------------


def statements(rows: int) -> dict[str, np.ndarray]:
    """Random but plausible statement figures, with 0.1 % zero denominators."""
    rng = np.random.default_rng(7)
    assets = rng.lognormal(20, 1.5, rows)
    assets[rng.random(rows) < 0.001] = 0.0
    return {
        "working_capital": assets * rng.normal(0.1, 0.1, rows),
        "retained_earnings": assets * rng.normal(0.2, 0.2, rows),
        "ebit": assets * rng.normal(0.08, 0.05, rows),
        "market_value_equity": assets * rng.lognormal(0, 0.5, rows),
        "total_liabilities": assets * rng.uniform(0.2, 0.9, rows),
        "sales": assets * rng.lognormal(-0.3, 0.4, rows),
        "total_assets": assets,
    }


def option_book(rows: int) -> dict[str, np.ndarray]:
    """A million European options across strikes, expiries, rates and vols."""
    rng = np.random.default_rng(11)
    return {
        "S": rng.uniform(50, 150, rows), "K": rng.uniform(50, 150, rows),
        "T": rng.uniform(0.02, 2.0, rows), "r": rng.uniform(0.0, 0.06, rows),
        "q": rng.uniform(0.0, 0.03, rows), "sigma": rng.uniform(0.1, 0.6, rows),
    }


# -- baselines ----------------------------------------------------------------------------


def altman_python(d: dict[str, list[float]]) -> list[float]:
    """The formula in a plain loop, NaN on zero denominators like the kernel."""
    out = []
    for wc, re, ebit, mve, tl, sales, ta in zip(
            d["working_capital"], d["retained_earnings"], d["ebit"], d["market_value_equity"],
            d["total_liabilities"], d["sales"], d["total_assets"], strict=True):
        if ta == 0.0 or tl == 0.0:
            out.append(math.nan)
        else:
            out.append((1.2 * wc + 1.4 * re + 3.3 * ebit + sales) / ta + 0.6 * mve / tl)
    return out


def altman_numpy(d: dict[str, np.ndarray]) -> np.ndarray:
    """The formula as numpy expressions, NaN on zero denominators."""
    ta, tl = d["total_assets"], d["total_liabilities"]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = ((1.2 * d["working_capital"] + 1.4 * d["retained_earnings"] + 3.3 * d["ebit"]
              + d["sales"]) / ta + 0.6 * d["market_value_equity"] / tl)
    z[(ta == 0.0) | (tl == 0.0)] = np.nan
    return z


def greeks_python(d: dict[str, list[float]]) -> list[tuple[float, ...]]:
    """Price and five Greeks of calls in a plain loop with ``math.erf``."""
    out = []
    sqrt2, inv_sqrt_2pi = math.sqrt(2.0), 1.0 / math.sqrt(2.0 * math.pi)
    for s, k, t, r, q, sigma in zip(d["S"], d["K"], d["T"], d["r"], d["q"], d["sigma"],
                                    strict=True):
        root = math.sqrt(t)
        d1 = (math.log(s / k) + (r - q + 0.5 * sigma * sigma) * t) / (sigma * root)
        d2 = d1 - sigma * root
        n1, n2 = 0.5 * (1 + math.erf(d1 / sqrt2)), 0.5 * (1 + math.erf(d2 / sqrt2))
        pdf = inv_sqrt_2pi * math.exp(-0.5 * d1 * d1)
        growth, discount = math.exp(-q * t), math.exp(-r * t)
        price = s * growth * n1 - k * discount * n2
        delta = growth * n1
        gamma = growth * pdf / (s * sigma * root)
        vega = s * growth * pdf * root
        theta = -s * growth * pdf * sigma / (2 * root) - r * k * discount * n2 + q * s * growth * n1
        rho = k * t * discount * n2
        out.append((price, delta, gamma, vega, theta, rho))
    return out


def _erf_as(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26: erf to 1.5e-7, numpy only."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
                                                      + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """The standard normal CDF: scipy's ``ndtr`` when installed, else A&S 7.1.26."""
    if _ndtr is not None:
        return np.asarray(_ndtr(x))
    return 0.5 * (1.0 + _erf_as(x / math.sqrt(2.0)))


def greeks_numpy(d: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Price and five Greeks of calls as numpy expressions."""
    s, k, t, r, q, sigma = d["S"], d["K"], d["T"], d["r"], d["q"], d["sigma"]
    root = np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + 0.5 * sigma * sigma) * t) / (sigma * root)
    d2 = d1 - sigma * root
    n1, n2 = normal_cdf(d1), normal_cdf(d2)
    pdf = np.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi)
    growth, discount = np.exp(-q * t), np.exp(-r * t)
    price = s * growth * n1 - k * discount * n2
    delta = growth * n1
    gamma = growth * pdf / (s * sigma * root)
    vega = s * growth * pdf * root
    theta = -s * growth * pdf * sigma / (2 * root) - r * k * discount * n2 + q * s * growth * n1
    rho = k * t * discount * n2
    return price, delta, gamma, vega, theta, rho


# -- parallel vs serial -------------------------------------------------------------------


def prange_gain(repeats: int, rows: int) -> list[tuple[str, float, float]]:
    """Each kernel's parallel build against its own code compiled serial (prange = range),
    on inputs already converted."""
    import numba

    from engine.finance import options, ratios, scores, timeseries
    from engine.finance._array import batch, readonly

    book, stmts = option_book(rows), statements(rows)
    greeks_in = batch(*book.values(), 1.0).arrays
    altman_in = batch(*stmts.values()).arrays
    ratio_in = batch(stmts["ebit"], stmts["total_assets"]).arrays
    first_row = readonly(np.repeat(np.arange(0, rows, 1000), 1000)[:rows].astype(np.int64))
    cases = [
        ("Altman Z", scores._altman_kernel, altman_in),
        ("price + Greeks", options._greeks_kernel, greeks_in),
        ("a ratio (a / b)", ratios._ratio_kernel, ratio_in),
        ("rolling std, 20 rows, 1,000 groups", timeseries._rolling_kernel,
         (ratio_in[0], first_row, 20, 20, True)),
    ]
    out = []
    for name, kernel, args in cases:
        serial = numba.njit(nogil=True, error_model="numpy")(kernel.py_func)
        times = race({"prange": lambda k=kernel, a=args: k(*a),
                      "serial": lambda k=serial, a=args: k(*a)}, repeats)
        out.append((name, times["prange"], times["serial"]))
    return out


# -- compile time -------------------------------------------------------------------------

FIRST_CALLS = """
import json, time
start = time.perf_counter()
import engine.finance as f
imported = time.perf_counter()
from engine.finance import options, scores
f.altman_z([1.0], 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
altman = time.perf_counter()
f.greeks([100.0], 100.0, 1.0, 0.05, 0.0, 0.2)
greeks = time.perf_counter()
f.net_margin(1.0, 2.0); f.gross_margin(2.0, 1.0); f.black_scholes(1.0, 1.0, 1.0, 0.0, 0.0, 0.2)
f.sharpe_ratio([0.01, 0.02]); f.var([0.01, 0.02]); f.beta([1.0, 2.0], [1.0, 3.0])
f.max_drawdown([1.0, 2.0]); f.rolling_std([1.0, 2.0], 2); f.pct_change([1.0, 2.0])
f.piotroski_f(*([1.0] * 15)); f.beneish_m(*([1.0] * 8))
everything = time.perf_counter()
stats = [k.stats for k in (scores._altman_kernel, options._greeks_kernel)]
print(json.dumps({
    "import": imported - start, "altman": altman - imported, "greeks": greeks - altman,
    "rest": everything - greeks,
    "hits": sum(sum(s.cache_hits.values()) for s in stats),
    "misses": sum(sum(s.cache_misses.values()) for s in stats),
}))
"""


def compile_times() -> tuple[dict[str, float], dict[str, float]]:
    """First calls in a process with an empty cache, then in a second process over it."""
    with tempfile.TemporaryDirectory() as cache:
        env = os.environ | {"NUMBA_CACHE_DIR": cache}
        runs = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", FIRST_CALLS], capture_output=True,
                                 text=True, check=True, env=env, cwd=ROOT)
            runs.append(json.loads(out.stdout))
    return runs[0], runs[1]


# -- report -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--python-repeats", type=int, default=3)
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()

    cold, warm = compile_times()

    stmts = statements(args.rows)
    stmts_lists = {k: v.tolist() for k, v in stmts.items()}
    np.testing.assert_allclose(altman_z(*stmts.values()), altman_numpy(stmts), rtol=1e-12)
    altman_contenders = {"numba": lambda: altman_z(*stmts.values()),
                         "numpy": lambda: altman_numpy(stmts)}
    fast = race(altman_contenders, args.repeats)
    slow = alternating({"python": lambda: altman_python(stmts_lists)}, args.python_repeats)
    altman = (fast["numba"], slow["python"], fast["numpy"])
    churn = alternating(altman_contenders, args.repeats)

    book = option_book(args.rows)
    book_lists = {k: v.tolist() for k, v in book.items()}
    ours = greeks(*book.values(), "call")
    theirs = greeks_numpy(book)
    np.testing.assert_allclose(ours["price"], theirs[0], atol=1e-4)  # A&S: 1.5e-7 × spot
    exact = greeks_python({k: v[:1000] for k, v in book_lists.items()})
    np.testing.assert_allclose(np.array([ours[g][:1000] for g in GREEKS]).T, exact, rtol=1e-9,
                               atol=1e-12)
    kinds = np.where(np.arange(args.rows) % 2 == 0, "call", "put")
    fast = race({"numba": lambda: greeks(*book.values(), "call"),
                 "numpy": lambda: greeks_numpy(book),
                 "kinds": lambda: greeks(*book.values(), kinds)}, args.repeats)
    slow = alternating({"python": lambda: greeks_python(book_lists)}, args.python_repeats)
    options = (fast["numba"], slow["python"], fast["numpy"], fast["kinds"])
    gains = prange_gain(args.repeats, args.rows)

    rows = f"{args.rows:,}"
    lines = [
        f"## Finance kernels (issue 13): numba vs pure Python vs numpy over {rows} rows",
        "",
        f"`bench/bench_finance.py --rows {args.rows} --repeats {args.repeats}`: medians, each "
        f"contender timed {args.repeats} rounds × 2 warm calls, taking turns (pure Python: "
        f"median of {args.python_repeats}); public functions, input conversion included.",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cpus "
        f"({platform.processor() or platform.machine()}), {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}, numba "
        f"{__import__('numba').__version__}, numpy {np.__version__}; load average "
        f"{os.getloadavg()[0]:.1f}",
        f"- numpy baseline's normal CDF: {NORMAL_CDF}",
        "",
        "| figure | numba | pure Python | numpy | vs Python | vs numpy | target |",
        "|---|---|---|---|---|---|---|",
        f"| Altman Z | {altman[0] * 1e3:.1f} ms | {altman[1]:.2f} s | {altman[2] * 1e3:.1f} ms "
        f"| {altman[1] / altman[0]:.0f}× | {altman[2] / altman[0]:.1f}× | ≥ 100×, ≥ 5× |",
        f"| Black-Scholes price + 5 Greeks (calls) | {options[0] * 1e3:.1f} ms | "
        f"{options[1]:.2f} s | {options[2] * 1e3:.1f} ms | {options[1] / options[0]:.0f}× | "
        f"{options[2] / options[0]:.1f}× | ≥ 15×, ≥ 2× |",
        f"| the same, a per-row 'call'/'put' string array | {options[3] * 1e3:.1f} ms | — | "
        "— | — | — | — |",
        f"| Altman Z, numba and numpy strictly alternating (cold pages) | "
        f"{churn['numba'] * 1e3:.1f} ms | — | {churn['numpy'] * 1e3:.1f} ms | — | "
        f"{churn['numpy'] / churn['numba']:.1f}× | — |",
        "",
        "| kernel (inputs already converted) | prange | serial | gain |",
        "|---|---|---|---|",
        *(f"| {name} | {par * 1e3:.2f} ms | {ser * 1e3:.2f} ms | {ser / par:.1f}× |"
          for name, par, ser in gains),
        "",
        "| first calls in a new process | empty cache (compiles) | second process (loads) |",
        "|---|---|---|",
        f"| `import engine.finance` (numba, numpy) | {cold['import']:.2f} s | "
        f"{warm['import']:.2f} s |",
        f"| first `altman_z` (and starting the kernels' thread pool) | {cold['altman']:.2f} s | "
        f"{warm['altman'] * 1e3:.0f} ms |",
        f"| first `greeks` | {cold['greeks']:.2f} s | {warm['greeks'] * 1e3:.0f} ms |",
        f"| every other kernel once | {cold['rest']:.2f} s | {warm['rest'] * 1e3:.0f} ms |",
        f"| cache hits / misses of those two kernels | {cold['hits']} / {cold['misses']} | "
        f"{warm['hits']} / {warm['misses']} |",
    ]
    report = "\n".join(lines)
    print(report)
    if args.append:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as out:
            out.write("\n" + report + "\n")


if __name__ == "__main__":
    main()
