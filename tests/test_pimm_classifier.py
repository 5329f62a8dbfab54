"""Estimator-level tests of PIMMClassifier: API, fitted state, curriculum, labels,
validation, early stopping, output and degenerate stages."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import skorch.callbacks
import torch
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import InvalidParameterError

from sk_pimm import PIMMClassifier
from sk_pimm.curriculum import CURRICULUM_SHAPES, curriculum_probability
from sk_pimm.exceptions import CascadeWarning, DegenerateStageWarning
from sk_pimm.metrics import stage_roc_auc
from sk_pimm.nn import PIMMNetwork

NUMERIC = ["age", "price", "score"]
CATEGORICAL = ["channel", "device"]


@pytest.fixture(scope="module")
def fitted(funnel, fast_params):
    """A PIMMClassifier fitted on the T = 2, 3, 4 funnels, with its data."""
    X, y = funnel
    est = PIMMClassifier(random_state=0, **fast_params).fit(X, y)
    return est, X, y


@pytest.fixture(scope="module")
def fitted3(funnel3, fast_params):
    """A PIMMClassifier fitted on the three-stage funnel."""
    X, y = funnel3
    return PIMMClassifier(random_state=0, **fast_params).fit(X, y)


def _steps_per_epoch(n_rows, batch_size):
    return -(-n_rows // batch_size)


# --------------------------------------------------------------- user API
def test_predict_proba_shape_range_and_stage_order(fitted):
    est, X, y = fitted
    proba = est.predict_proba(X)

    assert proba.shape == (len(X), y.shape[1])
    assert proba.dtype == np.float64
    assert np.all((proba > 0) & (proba < 1))
    # Column t is stage t: positive rates fall along the funnel, so the column
    # means must fall too, each near its own stage's rate.
    rates = y.mean().to_numpy()
    means = proba.mean(axis=0)
    np.testing.assert_allclose(means, rates, atol=0.1)
    assert np.all(np.diff(means) < 0)


def test_model_learns_every_stage(fitted):
    est, X, y = fitted
    proba = est.predict_proba(X)
    for t in range(y.shape[1]):
        assert roc_auc_score(y.iloc[:, t], proba[:, t]) > 0.7, y.columns[t]


def test_predict_thresholds_predict_proba(fitted):
    est, X, y = fitted
    pred = est.predict(X)

    assert pred.shape == y.shape
    assert set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, (est.predict_proba(X) >= 0.5).astype(int))


def test_score_is_mean_of_stage_aucs(fitted):
    est, X, y = fitted
    proba = est.predict_proba(X)
    expected = np.mean(
        [roc_auc_score(y.iloc[:, t], proba[:, t]) for t in range(y.shape[1])]
    )

    assert est.score(X, y) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(
        stage_roc_auc(y, proba),
        [roc_auc_score(y.iloc[:, t], proba[:, t]) for t in range(y.shape[1])],
    )


def test_score_rejects_sample_weight(fitted3, funnel3):
    X, y = funnel3
    with pytest.raises(ValueError, match="sample_weight"):
        fitted3.score(X, y, sample_weight=np.ones(len(X)))


# ------------------------------------------------------- fitted attributes
def test_fitted_attributes_from_dataframes(fitted):
    est, X, y = fitted
    n_stages = y.shape[1]

    assert isinstance(est.classes_, list) and len(est.classes_) == n_stages
    for classes in est.classes_:
        np.testing.assert_array_equal(classes, [0, 1])
    assert est.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(est.feature_names_in_, X.columns)
    assert est.stage_names_ == list(y.columns)
    assert est.n_iter_ == est.max_epochs == len(est.history_)

    keys = set(est.history_[-1])
    expected = {"epoch", "train_loss", "label_probability", "dur"}
    expected |= {f"train_loss_{name}" for name in y.columns}
    assert expected <= keys


def test_fit_on_numpy_arrays(funnel3, fast_params):
    X, y = funnel3
    X_num = X[NUMERIC].to_numpy()
    est = PIMMClassifier(random_state=0, **fast_params).fit(X_num, y.to_numpy())

    assert est.stage_names_ == ["stage_0", "stage_1", "stage_2"]
    assert est.n_features_in_ == 3
    assert not hasattr(est, "feature_names_in_")
    assert {"train_loss_stage_0", "train_loss_stage_2"} <= set(est.history_[-1])
    proba = est.predict_proba(X_num)
    assert proba.shape == (len(X), 3)
    # Only the numeric signal is left, but stage 0 depends on age.
    assert roc_auc_score(y.iloc[:, 0], proba[:, 0]) > 0.7


def test_fit_on_object_array_detects_categoricals(funnel3, fast_params):
    X, y = funnel3
    est = PIMMClassifier(random_state=0, **fast_params)
    est.fit(X.to_numpy(dtype=object), y.to_numpy())

    assert est.net_.module_.inputs.cardinalities == [5, 4]
    assert est.predict_proba(X.to_numpy(dtype=object)).shape == (len(X), 3)


def test_refit_on_array_forgets_feature_names(funnel3, fast_params):
    X, y = funnel3
    est = PIMMClassifier(random_state=0, **fast_params).fit(X, y)
    assert hasattr(est, "feature_names_in_")
    est.fit(X[NUMERIC].to_numpy(), y.to_numpy())
    assert not hasattr(est, "feature_names_in_")
    assert est.stage_names_ == ["stage_0", "stage_1", "stage_2"]


def test_stage_names_keep_the_order_of_y(funnel3, fast_params):
    X, y = funnel3
    names = ["view", "add_to_cart", "buy"]  # not in alphabetical order
    est = PIMMClassifier(random_state=0, **fast_params).fit(
        X, y.set_axis(names, axis=1)
    )

    assert est.stage_names_ == names
    stage_keys = [f"train_loss_{name}" for name in names]
    assert [key for key in est.history_[-1] if key in stage_keys] == stage_keys
    assert np.all(np.diff(est.predict_proba(X).mean(axis=0)) < 0)


def test_predict_checks_columns(fitted3, funnel3):
    X, _ = funnel3
    with pytest.raises(ValueError, match="feature names"):
        fitted3.predict_proba(X[X.columns[::-1]])
    with (
        pytest.warns(UserWarning, match="does not have valid feature names"),
        pytest.raises(ValueError, match="5 features"),
    ):
        fitted3.predict_proba(X[NUMERIC].to_numpy())


def test_unfitted_estimator_raises(funnel3):
    from sklearn.exceptions import NotFittedError

    X, _ = funnel3
    with pytest.raises(NotFittedError, match="not fitted"):
        PIMMClassifier().predict_proba(X)


# --------------------------------------------------- categorical_features
@pytest.mark.parametrize(
    "spec",
    [
        ["channel", "device"],
        [1, 3],
        [-4, -2],
        [False, True, False, True, False],
        np.array([False, True, False, True, False]),
    ],
    ids=["names", "indices", "negative-indices", "mask", "mask-array"],
)
def test_categorical_specs_match_auto(spec, fitted3, funnel3, fast_params):
    X, y = funnel3
    est = PIMMClassifier(categorical_features=spec, random_state=0, **fast_params)
    est.fit(X, y)

    assert est.net_.module_.inputs.cardinalities == [5, 4]
    np.testing.assert_array_equal(est.predict_proba(X), fitted3.predict_proba(X))


def test_numeric_coded_column_declared_categorical_is_embedded(funnel3, fast_params):
    X, y = funnel3
    X_codes = X.assign(channel=X["channel"].cat.codes.astype(np.int64) * 10)
    X_codes = X_codes.drop(columns="device")

    auto = PIMMClassifier(random_state=0, **fast_params).fit(X_codes, y)
    declared = PIMMClassifier(
        categorical_features=["channel"], random_state=0, **fast_params
    ).fit(X_codes, y)

    assert auto.net_.module_.inputs.cardinalities == []
    assert auto.net_.module_.inputs.output_dim == 4
    # four codes and the OOV row
    assert declared.net_.module_.inputs.cardinalities == [4 + 1]
    assert declared.net_.module_.inputs.output_dim == 3 + fast_params["embedding_dim"]
    # An unseen code at predict time maps to the out-of-vocabulary row.
    unseen = X_codes.assign(channel=999)
    assert np.isfinite(declared.predict_proba(unseen)).all()


@pytest.mark.parametrize(
    "spec, message",
    [
        (["nope"], "categorical_features names column 'nope'"),
        ([7], r"categorical_features holds the index 7, outside"),
        ([True, False], "boolean mask of length 2"),
    ],
)
def test_invalid_categorical_features(spec, message, funnel3, fast_params):
    X, y = funnel3
    est = PIMMClassifier(categorical_features=spec, **fast_params)
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)


# --------------------------------------------------------------- curriculum
@pytest.mark.parametrize("shape", CURRICULUM_SHAPES)
@pytest.mark.parametrize(
    "curriculum_epochs", [None, 2, 6], ids=["window-all", "window-2", "window-6"]
)
def test_history_label_probability_follows_curriculum(
    shape, curriculum_epochs, funnel3, fast_params
):
    X, y = funnel3
    params = {**fast_params, "max_epochs": 4, "batch_size": 256}
    est = PIMMClassifier(
        curriculum=shape,
        curriculum_start=0.9,
        curriculum_end=0.2,
        curriculum_epochs=curriculum_epochs,
        curriculum_sharpness=3.0,
        random_state=0,
        **params,
    ).fit(X, y)

    window = curriculum_epochs or params["max_epochs"]
    epochs = np.asarray(est.history_[:, "epoch"])
    expected = curriculum_probability(
        epochs / window, shape=shape, start=0.9, end=0.2, sharpness=3.0
    )
    np.testing.assert_allclose(est.history_[:, "label_probability"], expected)
    if shape == "constant":
        np.testing.assert_allclose(expected, 0.9)
    elif window < params["max_epochs"]:
        # After the window, p stays at curriculum_end.
        np.testing.assert_allclose(expected[window - 1 :], 0.2)
    elif window > params["max_epochs"]:
        # A window longer than training never reaches curriculum_end.
        assert expected[-1] > 0.2


def test_default_curriculum_goes_from_one_to_zero(fitted3):
    p = np.asarray(fitted3.history_[:, "label_probability"])
    np.testing.assert_allclose(p, [2 / 3, 1 / 3, 0.0])


# ------------------------------------------------- labels reach the module
@pytest.fixture
def forward_calls(monkeypatch):
    """Record, for every call of PIMMNetwork.forward, the mode, labels and p."""
    calls = []
    original = PIMMNetwork.forward

    def recording_forward(self, x_cat, x_num, labels=None):
        calls.append(
            {
                "training": self.training,
                "n_rows": len(x_cat),
                "labels": None if labels is None else labels.detach().clone(),
                "p": self.label_probability,
            }
        )
        return original(self, x_cat, x_num, labels=labels)

    monkeypatch.setattr(PIMMNetwork, "forward", recording_forward)
    return calls


def test_training_batches_get_true_labels(forward_calls, funnel3, fast_params):
    X, y = funnel3
    est = PIMMClassifier(random_state=0, **fast_params).fit(X, y)

    steps = _steps_per_epoch(len(X), fast_params["batch_size"])
    assert len(forward_calls) == est.n_iter_ * steps
    assert all(call["training"] for call in forward_calls)
    assert all(call["labels"] is not None for call in forward_calls)
    # Each epoch shows every row's true labels exactly once.
    first_epoch = forward_calls[:steps]
    labels = torch.cat([call["labels"] for call in first_epoch])
    assert labels.shape == y.shape
    np.testing.assert_array_equal(labels.sum(dim=0).numpy(), y.sum().to_numpy())
    # p is updated every batch, counting the current one.
    window = est.n_iter_ * steps
    expected = curriculum_probability(
        np.arange(1, window + 1) / window, shape="linear", start=1.0, end=0.0
    )
    np.testing.assert_allclose([call["p"] for call in forward_calls], expected)

    forward_calls.clear()
    est.predict_proba(X)
    assert forward_calls
    assert all(c["labels"] is None and not c["training"] for c in forward_calls)


def test_validation_batches_get_no_labels(forward_calls, funnel3, fast_params):
    X, y = funnel3
    est = PIMMClassifier(
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=10,
        random_state=0,
        **fast_params,
    ).fit(X, y)

    training = [c for c in forward_calls if c["training"]]
    validation = [c for c in forward_calls if not c["training"]]
    n_valid = int(np.ceil(0.2 * len(X)))
    steps = _steps_per_epoch(len(X) - n_valid, fast_params["batch_size"])
    assert len(training) == est.n_iter_ * steps
    assert all(c["labels"] is not None for c in training)
    assert sum(c["n_rows"] for c in training[:steps]) == len(X) - n_valid
    assert len(validation) == est.n_iter_
    assert all(c["labels"] is None for c in validation)
    assert all(c["n_rows"] == n_valid for c in validation)


def test_prediction_ignores_label_probability(fitted3, funnel3, monkeypatch):
    X, _ = funnel3
    before = fitted3.predict_proba(X)
    monkeypatch.setattr(fitted3.net_.module_, "label_probability", 1.0)
    np.testing.assert_array_equal(fitted3.predict_proba(X), before)


def test_module_uses_labels_only_in_training_mode(fitted3, funnel3):
    X, y = funnel3
    module = fitted3.net_.module_
    features = fitted3._encoder.transform(X.iloc[:200])
    x_cat = torch.tensor(np.array(features.categorical))
    x_num = torch.tensor(np.array(features.numeric))
    labels = torch.tensor(np.array(y.iloc[:200], dtype=np.float32))
    saved_p = module.label_probability
    try:
        module.label_probability = 1.0
        with torch.no_grad():
            module.eval()
            eval_plain = module(x_cat, x_num)
            eval_labels = module(x_cat, x_num, labels=labels)
            module.train()  # dropout=0, so training mode is deterministic here
            train_plain = module(x_cat, x_num)
            train_labels = module(x_cat, x_num, labels=labels)
    finally:
        module.eval()
        module.label_probability = saved_p

    torch.testing.assert_close(eval_labels, eval_plain, rtol=0, atol=0)
    torch.testing.assert_close(train_plain, eval_plain, rtol=0, atol=0)
    # With p = 1 the first stage is unchanged and every later stage reads the
    # true prior label, which changes its logit.
    torch.testing.assert_close(train_labels[:, 0], eval_plain[:, 0], rtol=0, atol=0)
    assert not torch.allclose(train_labels[:, 1:], eval_plain[:, 1:])


# ------------------------------------------------- hyperparameter validation
@pytest.mark.parametrize(
    "param, value",
    [
        ("curriculum", "bogus"),
        ("curriculum_start", 1.5),
        ("curriculum_end", -0.1),
        ("curriculum_epochs", 0),
        ("curriculum_sharpness", 0.0),
        ("sampling", "x"),
        ("stop_prior_gradient", "yes"),
        ("fusion", "sum"),
        ("categorical_features", "all"),
        ("min_frequency", 0),
        ("embedding_dim", 0),
        ("hidden_units", 8),
        ("dropout", 1.0),
        ("cascade", "x"),
        ("lr", 0),
        ("batch_size", 0),
        ("max_epochs", 0),
        ("weight_decay", -1.0),
        ("early_stopping", "yes"),
        ("validation_fraction", 1.0),
        ("validation_fraction", 0.0),
        ("n_iter_no_change", 0),
        ("random_state", "seed"),
        ("device", 3),
    ],
)
def test_invalid_parameter_is_named(param, value, funnel3):
    X, y = funnel3
    est = PIMMClassifier(**{param: value})
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
        est.fit(X, y)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"hidden_units": ()}, "hidden_units must be a non-empty"),
        ({"hidden_units": (8, -1)}, "hidden_units must be a non-empty"),
        ({"hidden_units": (8, 2.5)}, "hidden_units must be a non-empty"),
        ({"stage_weights": [1.0, 1.0]}, "stage_weights must hold 3"),
        ({"stage_weights": [1.0, -1.0, 1.0]}, "stage_weights must hold 3"),
        (
            {"early_stopping": True, "validation_fraction": 0.9999},
            "validation_fraction=0.9999",
        ),
    ],
)
def test_invalid_combination_is_named(params, message, funnel3):
    X, y = funnel3
    with pytest.raises(ValueError, match=message):
        PIMMClassifier(max_epochs=1, **params).fit(X, y)


def test_stage_weights_change_the_fit(fitted3, funnel3, fast_params):
    X, y = funnel3
    unit = PIMMClassifier(stage_weights=[1, 1, 1], random_state=0, **fast_params)
    skewed = PIMMClassifier(stage_weights=[1, 0, 5], random_state=0, **fast_params)

    np.testing.assert_array_equal(
        unit.fit(X, y).predict_proba(X), fitted3.predict_proba(X)
    )
    assert not np.allclose(skewed.fit(X, y).predict_proba(X), fitted3.predict_proba(X))


@pytest.mark.parametrize(
    "option",
    [
        {"sampling": "soft"},
        {"stop_prior_gradient": False},
        {"stop_transfer_gradient": True},
        {"use_transfer": False},
        {"fusion": "concat"},
        {"use_transfer": False, "fusion": "concat"},
    ],
    ids=lambda option: "-".join(f"{k}={v}" for k, v in option.items()),
)
def test_every_ablation_switch_changes_the_model_and_learns(
    option, fitted3, funnel3, fast_params
):
    X, y = funnel3
    est = PIMMClassifier(random_state=0, **option, **fast_params).fit(X, y)

    assert est.score(X, y) > 0.75
    assert not np.allclose(est.predict_proba(X), fitted3.predict_proba(X))
    if "use_transfer" in option:
        assert all(m.transfer is None for m in est.net_.module_.pim_modules)


# ------------------------------------------------------------------ cascade
def _break_nesting(y, rows, stage):
    broken = y.copy()
    broken.iloc[rows, : stage + 1] = 0
    broken.iloc[rows, stage + 1] = 1
    return broken


def test_strict_cascade_names_rows_and_stage(funnel3):
    X, y = funnel3
    broken = _break_nesting(y, [0, 5, 9], stage=0)
    with pytest.raises(ValueError, match="3 rows have conversion=1 but click=0"):
        PIMMClassifier(max_epochs=1).fit(X, broken)


def test_clip_cascade_warns_with_counts_and_fits(funnel3, fast_params):
    X, y = funnel3
    broken = _break_nesting(y, [0, 5, 9], stage=0)
    broken = _break_nesting(broken, [11, 12], stage=1)
    est = PIMMClassifier(cascade="clip", random_state=0, **fast_params)
    with pytest.warns(CascadeWarning, match=r"changed 5 rows") as record:
        est.fit(X, broken)

    assert record[0].filename == __file__
    message = str(record[0].message)
    assert "3 rows have conversion=1 but click=0" in message
    assert "2 rows have core_conversion=1 but conversion=0" in message
    assert est.predict_proba(X).shape == (len(X), 3)
    clipped = np.cumprod(broken.to_numpy(), axis=1)
    with pytest.warns(CascadeWarning):
        score = est.score(X, broken)
    proba = est.predict_proba(X)
    assert score == pytest.approx(np.mean(stage_roc_auc(clipped, proba)))


# ----------------------------------------------------------- determinism
def test_same_random_state_gives_identical_predictions(funnel3, fast_params):
    X, y = funnel3
    params = {**fast_params, "early_stopping": True, "dropout": 0.2}
    first = PIMMClassifier(random_state=7, **params).fit(X, y).predict_proba(X)
    second = PIMMClassifier(random_state=7, **params).fit(X, y).predict_proba(X)
    other = PIMMClassifier(random_state=8, **params).fit(X, y).predict_proba(X)

    assert np.array_equal(first, second)
    assert not np.allclose(first, other)


def test_fit_leaves_global_torch_rng_alone(funnel3, fast_params):
    X, y = funnel3
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    PIMMClassifier(random_state=0, **fast_params).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


# -------------------------------------------------------------- verbosity
def test_verbose_0_prints_nothing(funnel3, fast_params, capsys):
    X, y = funnel3
    # lr tiny: early stopping triggers and restores, the paths that could print.
    params = {**fast_params, "lr": 1e-8, "max_epochs": 6}
    est = PIMMClassifier(
        early_stopping=True, n_iter_no_change=1, verbose=0, random_state=0, **params
    )
    est.fit(X, y)
    est.predict_proba(X)
    est.score(X, y)

    assert est.n_iter_ < 6  # the stopping path did run
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def _epoch_rows(text):
    return [line for line in text.splitlines() if re.match(r"^\s+\d+\s", line)]


@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_1_prints_one_row_per_epoch(
    early_stopping, funnel3, fast_params, capsys
):
    X, y = funnel3
    est = PIMMClassifier(
        early_stopping=early_stopping,
        n_iter_no_change=10,
        verbose=1,
        random_state=0,
        **fast_params,
    ).fit(X, y)

    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[0] == "epoch" and header[-1] == "dur"
    assert "label_probability" in header
    for name in y.columns:
        assert f"train_loss_{name}" in header
        assert (f"valid_auc_{name}" in header) == early_stopping
    assert ("valid_auc" in header) == early_stopping
    rows = _epoch_rows(out)
    assert len(rows) == est.n_iter_ == fast_params["max_epochs"]
    assert [int(row.split()[0]) for row in rows] == [1, 2, 3]


def test_verbose_1_prints_the_epoch_where_early_stopping_stops(
    funnel3, fast_params, capsys
):
    X, y = funnel3
    params = {**fast_params, "lr": 1e-8, "max_epochs": 10}
    est = PIMMClassifier(
        early_stopping=True, n_iter_no_change=2, verbose=1, random_state=0, **params
    ).fit(X, y)

    out = capsys.readouterr().out
    assert est.n_iter_ == 3
    assert "Stopping since valid_auc has not improved" in out
    assert len(_epoch_rows(out)) == est.n_iter_


# ----------------------------------------------------------- early stopping
def test_no_validation_keys_without_early_stopping(fitted3):
    history = fitted3.history_
    for epoch in history:
        assert not [key for key in epoch if key.startswith("valid")]
        for batch in epoch["batches"]:
            assert not [key for key in batch if key.startswith("valid")]


def test_early_stopping_records_validation_auc(funnel3, fast_params):
    X, y = funnel3
    est = PIMMClassifier(
        early_stopping=True, n_iter_no_change=10, random_state=0, **fast_params
    ).fit(X, y)

    valid_ds = est.net_.train_split.keywords["valid_ds"]
    assert len(valid_ds) == int(np.ceil(0.1 * len(X)))
    for epoch in est.history_:
        aucs = [epoch[f"valid_auc_{name}"] for name in y.columns]
        assert epoch["valid_auc"] == pytest.approx(np.mean(aucs))
        assert all(0.5 < auc < 1 for auc in aucs)
    # The curriculum counts training batches only.
    epochs = np.asarray(est.history_[:, "epoch"])
    np.testing.assert_allclose(
        est.history_[:, "label_probability"],
        curriculum_probability(epochs / est.max_epochs, shape="linear", start=1, end=0),
    )


def test_early_stopping_stops_on_a_plateau(funnel3, fast_params, capsys):
    X, y = funnel3
    # With a vanishing learning rate the validation AUC cannot improve.
    params = {**fast_params, "lr": 1e-8, "max_epochs": 10}
    est = PIMMClassifier(
        early_stopping=True, n_iter_no_change=2, random_state=0, **params
    ).fit(X, y)

    assert est.n_iter_ == 3 < params["max_epochs"]
    assert len(est.history_) == est.n_iter_


def test_early_stopping_is_a_normal_end_without_warning(funnel3, fast_params):
    X, y = funnel3
    params = {**fast_params, "lr": 1e-8, "max_epochs": 10}
    est = PIMMClassifier(
        early_stopping=True, n_iter_no_change=2, random_state=0, **params
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        est.fit(X, y)

    assert est.n_iter_ == 3
    ours = [w for w in record if w.category.__module__.startswith("sk_pimm")]
    assert ours == [], [str(w.message) for w in ours]


def test_early_stopping_restores_best_weights(funnel_factory, fast_params, capsys):
    X, y = funnel_factory(n_stages=3, random_state=11)
    # Labels unrelated to X: the validation AUC wanders, so the best epoch is
    # an early one and the last epochs' weights must be thrown away.
    y = y.sample(frac=1.0, random_state=0).reset_index(drop=True)
    params = {
        **fast_params,
        "lr": 0.05,
        "max_epochs": 6,
        "curriculum": "constant",
        "early_stopping": True,
        "validation_fraction": 0.3,
        "n_iter_no_change": 6,
        "random_state": 5,
    }
    est = PIMMClassifier(verbose=1, **params).fit(X, y)
    best_epoch = dict(est.net_.callbacks_)["early_stopping"].best_epoch_
    assert best_epoch < est.n_iter_, "the seeded run must need a restore"
    assert f"Restoring best model from epoch {best_epoch}." in capsys.readouterr().out

    valid_ds = est.net_.train_split.keywords["valid_ds"]
    logits = est.net_.forward(valid_ds, training=False, device="cpu")
    final_auc = np.nanmean(stage_roc_auc(valid_ds.y.numpy(), logits.numpy()))
    history_auc = np.asarray(est.history_[:, "valid_auc"])
    assert final_auc == pytest.approx(history_auc[best_epoch - 1], abs=1e-12)
    assert final_auc == pytest.approx(history_auc.max(), rel=1e-4)

    # The restored model is the model after the best epoch.
    truncated = PIMMClassifier(**{**params, "max_epochs": best_epoch}).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), truncated.predict_proba(X))


# -------------------------------------------------------- degenerate stages
def test_stage_without_positive_warns_and_scores_nan(funnel3, fast_params):
    X, y = funnel3
    y = y.assign(core_conversion=0)
    est = PIMMClassifier(
        early_stopping=True, n_iter_no_change=10, random_state=0, **fast_params
    )
    with pytest.warns(
        DegenerateStageWarning, match="'core_conversion' has no pos"
    ) as record:
        est.fit(X, y)
    assert record[0].filename == __file__  # points at the caller's fit

    proba = est.predict_proba(X)
    assert np.isfinite(proba).all()
    aucs = stage_roc_auc(y, proba)
    assert np.isnan(aucs[2]) and np.isfinite(aucs[:2]).all()
    expected = np.mean([roc_auc_score(y.iloc[:, t], proba[:, t]) for t in range(2)])
    assert est.score(X, y) == pytest.approx(expected, rel=1e-12)
    last = est.history_[-1]
    assert np.isnan(last["valid_auc_core_conversion"])
    assert last["valid_auc"] == pytest.approx(
        np.mean([last["valid_auc_click"], last["valid_auc_conversion"]])
    )


def test_stage_without_negative_warns(funnel3, fast_params):
    X, y = funnel3
    y = y.assign(click=1)
    with pytest.warns(DegenerateStageWarning, match="'click' has no negative"):
        PIMMClassifier(random_state=0, **fast_params).fit(X, y)


def test_score_is_nan_when_every_stage_is_degenerate(fitted3, funnel3):
    X, y = funnel3
    zeros = pd.DataFrame(0, index=y.index, columns=y.columns)
    assert np.isnan(fitted3.score(X, zeros))


@pytest.mark.parametrize("split", ["random", "last"])
def test_validation_split_chooses_the_held_out_rows(funnel3, fast_params, split):
    X, y = funnel3
    est = PIMMClassifier(
        early_stopping=True,
        validation_fraction=0.2,
        validation_split=split,
        random_state=0,
        **fast_params,
    ).fit(X, y)

    valid_ds = est.net_.train_split.keywords["valid_ds"]
    n_valid = int(np.ceil(0.2 * len(X)))
    last_rows = torch.tensor(y.to_numpy()[-n_valid:], dtype=torch.float32)
    assert len(valid_ds) == n_valid
    assert torch.equal(valid_ds.y, last_rows) == (split == "last")


def test_n_threads_applies_inside_fit_and_predict_only(funnel3, fast_params):
    X, y = funnel3
    seen = []

    class Spy(PIMMClassifier):
        def _extra_callbacks(self, steps_per_epoch):
            class Record(skorch.callbacks.Callback):
                def on_epoch_end(self, net, **kwargs):
                    seen.append(torch.get_num_threads())

            return [*super()._extra_callbacks(steps_per_epoch), ("spy", Record())]

    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    est = Spy(n_threads=target, random_state=0, **fast_params).fit(X, y)
    assert seen and set(seen) == {target}
    assert torch.get_num_threads() == before
    est.predict_proba(X)
    assert torch.get_num_threads() == before


def test_chained_predictions_never_rise_along_the_funnel():
    """Two identical stages: the float32 round trip once lifted the second."""
    rng = np.random.default_rng(0)
    n = 2000
    X = pd.DataFrame({"a": rng.normal(size=n), "c": rng.choice(list("abcdefgh"), n)})
    first = (X["a"] + rng.normal(size=n) > 0).astype(int)
    est = PIMMClassifier(max_epochs=3, lr=1e-2, random_state=0, n_threads=1)
    proba = est.fit(X, np.c_[first, first]).predict_proba(X)
    assert (np.diff(proba, axis=1) <= 0).all()
    assert (est.predict(X)[:, 1] <= est.predict(X)[:, 0]).all()
