"""The pandas baseline of ``bench/run.py``: the same loads and rolling means as minerwatch,
written the way a plain pandas script would write them.

From the Coin Metrics community CSV: the recovered mean difficulty
(``HashRate * 1e12 * 86400 / (BlkCnt * 2**32)``), the daily hashrate
(``BlkCnt * D * 2**32 / 86400``, H/s), its 7/30/60-day rolling means, the 365-day Puell
multiple (issuance USD over its 365-day mean) and the price all-time high (``cummax``).
The formulas are those of ``minerwatch.metrics``; ``bench/run.py`` checks that both give the
same figures for the same day.

Run alone (the whole-process baseline), it reads the CSV and prints one JSON line of the last
day's figures::

    python bench/pandas_baseline.py ../shared/data/coinmetrics_btc.csv
"""

from __future__ import annotations

import json
import sys

import pandas as pd

COLUMNS = ["time", "BlkCnt", "FeeTotNtv", "IssTotNtv", "HashRate", "PriceUSD", "SplyCur"]
HASHES_PER_DIFFICULTY = 2**32
SECONDS_PER_DAY = 86_400
HS_PER_EHS = 1e18
HASHRATE_WINDOWS_DAYS = (7, 30, 60)
PUELL_WINDOW_DAYS = 365


def load(path: str) -> pd.DataFrame:
    """``read_csv`` of the columns minerwatch reads, indexed by day; a trailing partial row
    (chain metrics not yet filled in) is dropped, as minerwatch's import does."""
    df = pd.read_csv(path, usecols=COLUMNS, parse_dates=["time"], index_col="time")
    return df.loc[: df["BlkCnt"].last_valid_index()]


def compute(df: pd.DataFrame) -> pd.DataFrame:
    """Difficulty, daily hashrate and its rolling means, Puell multiple, price high."""
    blocks = df["BlkCnt"]
    difficulty = (df["HashRate"] * 1e12 * SECONDS_PER_DAY / (blocks * HASHES_PER_DIFFICULTY)).where(
        blocks > 0
    )
    hashrate = blocks * difficulty.fillna(0.0) * HASHES_PER_DIFFICULTY / SECONDS_PER_DAY
    issuance_usd = df["IssTotNtv"] * df["PriceUSD"]
    price = df["PriceUSD"]
    price_ath = price.cummax()
    out = {"difficulty": difficulty, "hashrate_1d_hs": hashrate}
    for w in HASHRATE_WINDOWS_DAYS:
        out[f"hashrate_{w}d_hs"] = hashrate.rolling(w, min_periods=w).mean()
    out["puell_multiple"] = (
        issuance_usd / issuance_usd.rolling(PUELL_WINDOW_DAYS, min_periods=PUELL_WINDOW_DAYS).mean()
    )
    out["price_usd"] = price
    out["price_ath_usd"] = price_ath
    out["price_drawdown_pct"] = 100.0 * (price / price_ath - 1.0)
    return pd.DataFrame(out)


def day_figures(out: pd.DataFrame, row: int = -1) -> dict:
    """One day's figures as a JSON-ready dict (hashrates in EH/s, as ``status --json``)."""
    r = out.iloc[row]
    return {
        "day": str(out.index[row].date()),
        "difficulty": float(r["difficulty"]),
        "hashrate_ehs": {
            f"{w}d": float(r[f"hashrate_{w}d_hs"]) / HS_PER_EHS for w in (1, 7, 30, 60)
        },
        "puell_multiple": float(r["puell_multiple"]),
        "price_usd": float(r["price_usd"]),
        "price_ath_usd": float(r["price_ath_usd"]),
        "price_drawdown_pct": float(r["price_drawdown_pct"]),
    }


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: python bench/pandas_baseline.py COINMETRICS_CSV")
    print(json.dumps(day_figures(compute(load(argv[1])))))


if __name__ == "__main__":
    main(sys.argv)
