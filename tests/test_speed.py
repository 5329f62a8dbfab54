"""Speed regression guards, measured as ratios within one process.

Absolute times vary with the machine and its load; the ratio of two
measurements taken side by side, interleaved, does much less.
"""

import json
import statistics
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from sk_pimm import PIMMClassifier
from sk_pimm.datasets import make_cascade_classification

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from plain_loop import encoded_tensors, fresh_module, plain_epochs  # noqa: E402


@pytest.mark.slow
def test_fit_epoch_costs_at_most_one_and_a_half_plain_loops():
    X, y = make_cascade_classification(
        20_000, n_categorical=6, n_categories=50, random_state=0
    )
    y = y.to_numpy()
    settings = {"max_epochs": 3, "batch_size": 256, "lr": 1e-3}
    ours, plain = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for repeat in range(3):
            est = PIMMClassifier(random_state=repeat, **settings).fit(X, y)
            ours += est.history_[1:, "dur"]  # the first epoch warms up
            seconds = plain_epochs(
                fresh_module(est, seed=repeat),
                encoded_tensors(est, X, y),
                batch_size=settings["batch_size"],
                lr=settings["lr"],
                n_epochs=settings["max_epochs"],
                seed=repeat,
            )
            plain += seconds[1:]

    ratio = statistics.median(ours) / statistics.median(plain)
    assert ratio <= 1.5, f"fit epoch is {ratio:.2f} x the plain PyTorch loop"


@pytest.mark.slow
def test_quick_speed_benchmark_reports_every_ratio():
    pytest.importorskip("torch_rechub")
    result = subprocess.run(
        # One thread: threads that compete with other work for the cores
        # slow down many times over, and CI machines may be shared.
        [
            sys.executable,
            str(BENCHMARKS / "speed.py"),
            "--quick",
            "--json",
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in (
        "fit_vs_plain_loop_ratio",
        "predict_vs_plain_forward_ratio",
        "speedup_vs_torch_rechub",
        "preprocess_share_of_epoch",
        "peak_rss_mb",
        "growth_8x_rows",
    ):
        assert np.isfinite(summary[key]) and summary[key] > 0, key
