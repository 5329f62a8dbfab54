"""Learning curves of PIMM variants on the KuaiRand validation period.

Why does PIMM land where it does? This trains PIMMClassifier variants on the
KuaiRand-Pure training period (2022-04-25..30) and records, epoch by epoch,
the label probability ``p`` and each stage's AUC on the latest 20 % of that
period. The test period (2022-05-01..08) is never read, so what is learnt here
can steer the settings the accuracy benchmark searches without touching the
test.

Run ``python benchmarks/diagnose_pimm.py [--epochs N] [--variants NAME ...]``;
it writes ``benchmarks/results/pimm_diagnostics.md`` and prints the same.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from sk_pimm import PIMMClassifier
from sk_pimm.datasets import load_kuairand

sys.path.insert(0, str(Path(__file__).resolve().parent))
from validation import whole_curve_estimator  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/kuairand-pure"
STAGES = ("is_click", "long_view", "is_like")

# Embeddings of width 8, no wide part and no chained premise, the defaults
# when these curves were first drawn; the variants show why the defaults
# changed.
BASE = {
    "lr": 1e-3,
    "cascade": "clip",
    "embedding_dim": 8,
    "wide": False,
    "chain_premise": False,
}
VARIANTS = {
    "embedding 8, lr 1e-3, window = all epochs": {},
    "lr 3e-3": {"lr": 3e-3},
    "window 2 epochs": {"curriculum_epochs": 2},
    "constant p=0": {"curriculum": "constant", "curriculum_start": 0.0},
    "constant p=1": {"curriculum": "constant", "curriculum_start": 1.0},
    "weight decay 1e-5": {"weight_decay": 1e-5},
    "embedding 4": {"embedding_dim": 4},
    "embedding 16": {"embedding_dim": 16},
    "dropout 0.3": {"dropout": 0.3},
    "batch 2048": {"batch_size": 2048},
    "min_frequency 5": {"min_frequency": 5},
    "like weighted x3": {"stage_weights": [1.0, 1.0, 3.0]},
    "embedding 16, lr 3e-3": {"embedding_dim": 16, "lr": 3e-3},
    "embedding 32, lr 3e-3": {"embedding_dim": 32, "lr": 3e-3},
    "embedding 16, lr 3e-3, towers 128-64": {
        "embedding_dim": 16,
        "lr": 3e-3,
        "hidden_units": (128, 64),
    },
    "embedding 16, lr 3e-3, log1p numbers": {"embedding_dim": 16, "lr": 3e-3},
    "embedding 16, lr 3e-3, wide": {"embedding_dim": 16, "lr": 3e-3, "wide": True},
    "embedding 16, lr 3e-3, wide, min_frequency 2": {
        "embedding_dim": 16,
        "lr": 3e-3,
        "wide": True,
        "min_frequency": 2,
    },
    "embedding 16, lr 3e-3, wide, chained premise": {
        "embedding_dim": 16,
        "lr": 3e-3,
        "wide": True,
        "chain_premise": True,
    },
}
#: Variants that also take the logarithm of the non-negative numeric columns.
LOG_NUMBERS = {"embedding 16, lr 3e-3, log1p numbers"}


def log_numbers(X):
    """log1p of every numeric column whose values are all non-negative."""
    X = X.copy()
    for name in X.select_dtypes("number"):
        if (X[name] >= 0).all():
            X[name] = np.log1p(X[name])
    return X


def curves(variant, X, y, epochs, seed):
    settings = {**BASE, **VARIANTS[variant]}
    est = whole_curve_estimator(PIMMClassifier, settings, epochs, seed)
    started = time.perf_counter()
    est.fit(log_numbers(X) if variant in LOG_NUMBERS else X, y)
    history = est.history_
    return {
        "p": history[:, "label_probability"],
        "auc": np.array([[e[f"valid_auc_{s}"] for s in STAGES] for e in history]),
        "train_loss": np.array(
            [[e[f"train_loss_{s}"] for s in STAGES] for e in history]
        ),
        "seconds": time.perf_counter() - started,
    }


def report(results, epochs):
    lines = [
        "# PIMM learning curves on the KuaiRand validation period",
        "",
        "Trained on the first 80 % of 2022-04-25..30, validated on its latest "
        "20 %; the test period is not read. Each cell: validation AUC "
        "click / long_view / like at that epoch; `p` is the label probability "
        "at the epoch's end.",
        "",
        "| variant | best epoch (mean AUC) | best mean AUC | best like AUC (epoch) | "
        + " | ".join(f"epoch {e}" for e in range(1, epochs + 1))
        + " |",
        "|" + " --- |" * (epochs + 4),
    ]
    for variant, r in results.items():
        mean = r["auc"].mean(axis=1)
        best = int(np.argmax(mean))
        like = int(np.argmax(r["auc"][:, 2]))
        cells = [
            "/".join(f"{a:.3f}" for a in row) + f" (p={p:.2f})"
            for row, p in zip(r["auc"], r["p"], strict=True)
        ]
        lines.append(
            f"| {variant} | {best + 1} | {mean[best]:.4f} | "
            f"{r['auc'][like, 2]:.4f} ({like + 1}) | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)

    X, y = load_kuairand(args.data, "train", stages=STAGES)
    results = {}
    for variant in args.variants:
        results[variant] = curves(variant, X, y, args.epochs, args.seed)
        mean = results[variant]["auc"].mean(axis=1)
        print(
            f"{variant}: best mean {mean.max():.4f} at epoch {mean.argmax() + 1}, "
            f"like {results[variant]['auc'][:, 2].max():.4f}, "
            f"{results[variant]['seconds']:.0f} s",
            flush=True,
        )
    text = report(results, args.epochs)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pimm_diagnostics.md").write_text(text)


if __name__ == "__main__":
    sys.exit(main())
