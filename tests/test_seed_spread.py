"""The seed-spread benchmark's summary and report, on hand-made curves."""

import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import seed_spread  # noqa: E402


def test_summary_takes_the_best_seed_mean_epoch_and_the_chosen_one():
    # 2 seeds, 4 epochs, 3 stages; epoch 2 has the best seed-mean AUC.
    curves = np.array(
        [
            [[0.70, 0.70, 0.60], [0.74, 0.73, 0.72], [0.72, 0.71, 0.70], [0.7] * 3],
            [[0.70, 0.70, 0.62], [0.72, 0.71, 0.70], [0.72, 0.71, 0.68], [0.7] * 3],
        ]
    )
    result = seed_spread.summary(curves)
    assert result["best_epoch"] == 2
    np.testing.assert_allclose(result["best_mean"], [0.73, 0.72, 0.71])
    np.testing.assert_allclose(result["best_std"], [np.sqrt(2) * 0.01] * 3)
    assert result["chosen_epoch"] == seed_spread.CHOSEN_EPOCHS == 3
    np.testing.assert_allclose(result["chosen_mean"], [0.72, 0.71, 0.69])
    np.testing.assert_allclose(result["chosen_std"], [0.0, 0.0, np.sqrt(2) * 0.01])
    np.testing.assert_allclose(result["deepest_by_epoch"], [0.61, 0.71, 0.69, 0.7])


def test_report_has_one_row_per_model_in_each_table():
    curves = np.full((2, 3, 3), 0.7) + np.arange(3)[None, :, None] * 0.01
    results = {"A": seed_spread.summary(curves), "B": seed_spread.summary(curves)}
    text = seed_spread.report(results, seeds=[0, 1], epochs=3, seconds=60)
    assert text.count("| A |") == 3 and text.count("| B |") == 3
    assert "0.7200 ± 0.0000" in text


@pytest.mark.parametrize(
    "argv, message",
    [(["--seeds", "0"], "at least two seeds"), (["--models", "XGB"], "XGB")],
)
def test_bad_arguments_are_refused_before_any_training(argv, message, capsys):
    with pytest.raises(SystemExit):
        seed_spread.main(argv)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, written",
    [
        ([], True),
        (["--seeds", "0", "1"], False),
        (["--seeds", "0", "1", "--write"], True),
    ],
)
def test_only_the_full_run_writes_unless_asked(monkeypatch, tmp_path, argv, written):
    rng = np.random.default_rng(0)
    monkeypatch.setattr(seed_spread, "RESULTS", tmp_path)
    monkeypatch.setattr(seed_spread, "load_kuairand", lambda *a, **k: (None, None))
    monkeypatch.setattr(
        seed_spread,
        "validation_curve",
        lambda model, X, y, epochs, seed: rng.uniform(0.6, 0.8, (epochs, 3)),
    )
    seed_spread.main(argv)
    assert (tmp_path / "seed_spread.md").exists() is written
    assert (tmp_path / "seed_spread.json").exists() is written
