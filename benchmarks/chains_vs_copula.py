"""The decay-chain generator (mlcourse._chains, issue 22) against the copula it is meant to
replace, on the checks of issue 22, measured on the 5,000 real events in data/ (which the
chain generator's hand-set parameters were not fitted on), and their speed in one run.

    python benchmarks/chains_vs_copula.py [--events 100k]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from mlcourse._chains import generate_events
from mlcourse.datasets import parse_events
from mlcourse.higgs import COLUMNS, FEATURES, HIGH_LEVEL, LOW_LEVEL
from mlcourse.physics import M_W, m_bb, m_lv, physical
from mlcourse.synthetic import ks_statistic, synthesize_higgs

REAL = Path(__file__).resolve().parents[1] / "data" / "higgs_real_5k.csv.gz"
PHIS = [c for c in FEATURES if c.endswith("phi")]
PEAKS = (("m_bb", 1), ("m_wbb", 1), ("m_wwbb", 1), ("m_jjj", 0), ("m_jlv", 0))


def peak(values: np.ndarray) -> float:
    counts, edges = np.histogram(values, 60, (np.percentile(values, 1), np.percentile(values, 90)))
    return float(edges[counts.argmax()] + edges[counts.argmax() + 1]) / 2


def auc(train: pd.DataFrame, test: pd.DataFrame, columns: list[str]) -> float:
    model = HistGradientBoostingClassifier(random_state=0).fit(train[columns], train["label"])
    return float(roc_auc_score(test["label"], model.predict_proba(test[columns])[:, 1]))


def measure(events: pd.DataFrame, real: pd.DataFrame) -> dict[str, str]:
    ks = [
        ks_statistic(real[f][real.label == c].to_numpy(), events[f][events.label == c].to_numpy())
        for f in FEATURES
        for c in (0, 1)
    ]
    ev = physical(events)
    tags = sum((ev[f"jet{j}_b-tag"] > 0).astype(int) for j in range(1, 5))
    mbb = m_bb(ev)
    two = ~np.isnan(mbb)
    sig2 = two & (ev.label == 1).to_numpy()
    same = np.abs(mbb[two] / ev.m_bb.to_numpy()[two] - 1) < 0.01
    cut = len(events) * 4 // 5
    train, test = events.iloc[:cut], events.iloc[cut:]
    half = len(real) // 2
    row = {
        "KS median / max": f"{np.median(ks):.3f} / {max(ks):.3f}",
        "AUC all, on its own test events": f"{auc(train, test, list(FEATURES)):.3f}",
        "AUC all, trained on it, tested on real": f"{auc(train, real, list(FEATURES)):.3f}",
        "AUC low / high, trained on it, on real": (
            f"{auc(train, real, list(LOW_LEVEL)):.3f} / {auc(train, real, list(HIGH_LEVEL)):.3f}"
        ),
        "AUC of the six phi columns": f"{auc(train, test, PHIS):.3f}",
        "events with > 2 b-tags": f"{(tags > 2).mean():.1%}",
        "m_bb = tagged pair (1%), 2-tag": f"{np.mean(same):.1%}",
        "m_lv = max(m_W, m_T) (1%)": f"{np.mean(np.abs(m_lv(ev) / ev.m_lv - 1) < 0.01):.1%}",
        "2-tag signal m_bb within 20% of 110": f"{np.mean(np.abs(mbb[sig2] / 110 - 1) < 0.2):.2f}",
    }
    for name, c in PEAKS:
        row[f"peak {name} ({'signal' if c else 'background'}), GeV"] = (
            f"{peak(ev[name][ev.label == c].to_numpy()):.0f}"
        )
    if events is real:
        row["AUC all, on its own test events"] = (
            f"{auc(real.iloc[:half], real.iloc[half:], list(FEATURES)):.3f}"
        )
        row["AUC all, trained on it, tested on real"] = "-"
        row["AUC low / high, trained on it, on real"] = (
            f"{auc(real.iloc[:half], real.iloc[half:], list(LOW_LEVEL)):.3f} / "
            f"{auc(real.iloc[:half], real.iloc[half:], list(HIGH_LEVEL)):.3f}"
        )
        row["AUC of the six phi columns"] = f"{auc(real.iloc[:half], real.iloc[half:], PHIS):.3f}"
        row["KS median / max"] = "-"
    return row


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--events", default="100k")
    n = parse_events(args.parse_args().events) or 100_000
    real = pd.read_csv(REAL)
    real.columns = list(COLUMNS)

    start = time.perf_counter()
    copula = synthesize_higgs(n, seed=1)
    copula_s = time.perf_counter() - start
    start = time.perf_counter()
    chains = pd.DataFrame(generate_events(np.random.default_rng(1), n), columns=list(COLUMNS))
    chains_s = time.perf_counter() - start

    table = {
        "real": measure(real, real),
        "copula": measure(copula, real),
        "chains": measure(chains, real),
    }
    width = max(map(len, table["real"]))
    print(f"{'check':{width}s}  {'real':>13s}  {'copula':>13s}  {'chains':>13s}")
    for key in table["real"]:
        print(f"{key:{width}s}  " + "  ".join(f"{table[t][key]:>13s}" for t in table))
    print(
        f"\n{n:,} events: copula {copula_s:.1f} s, chains {chains_s:.1f} s, "
        f"ratio {chains_s / copula_s:.1f}x (target <= 3x); m_W = {M_W} GeV"
    )


if __name__ == "__main__":
    main()
