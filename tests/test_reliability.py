"""Reliability of every sk_pimm estimator: Ctrl-C during fit, determinism in
one process and across processes, and numerical safety on very rare stages."""

import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.metrics import log_loss
from skorch.callbacks import Callback

import sk_pimm
import sk_pimm.persistence
from sk_pimm.exceptions import DegenerateStageWarning, FitInterruptedWarning
from sk_pimm.metrics import stage_log_loss

#: Every estimator sk_pimm exports.
ESTIMATORS = [
    getattr(sk_pimm, name) for name in sk_pimm.__all__ if name.endswith("Classifier")
]


def _name(cls):
    return cls.__name__


@pytest.fixture(params=ESTIMATORS, ids=_name)
def cls(request):
    return request.param


# --------------------------------------------------------------- interrupts
class CtrlC(Callback):
    """Raises KeyboardInterrupt as training batch ``batch`` of epoch ``epoch``
    begins, as Ctrl-C would; both count from 1."""

    def __init__(self, epoch, batch):
        self.epoch = epoch
        self.batch = batch

    def on_epoch_begin(self, net, **kwargs):
        self.batches_begun_ = 0

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        self.batches_begun_ += 1
        if len(net.history) == self.epoch and self.batches_begun_ == self.batch:
            raise KeyboardInterrupt


def interrupted(cls, epoch, batch):
    """``cls`` with Ctrl-C pressed at training batch ``batch`` of ``epoch``."""

    class Interrupted(cls):
        def _extra_callbacks(self, steps_per_epoch):
            callbacks = super()._extra_callbacks(steps_per_epoch)
            return [*callbacks, ("ctrl_c", CtrlC(epoch, batch))]

    Interrupted.__name__ = cls.__name__
    return Interrupted


def _fit_interrupted(cls, epoch, batch, X, y, params):
    est = interrupted(cls, epoch, batch)(random_state=0, **params)
    done = epoch - 1
    with pytest.warns(
        FitInterruptedWarning,
        match=rf"interrupted after {done} complete epoch\(s\) of 5; the model "
        "keeps the weights reached so far",
    ):
        est.fit(X, y)
    assert est.n_iter_ == done
    return est


def test_ctrl_c_keeps_the_weights_reached_and_warns(cls, funnel3, fast_params):
    X, y = funnel3
    params = {**fast_params, "max_epochs": 5}
    # Before any step, after one epoch, and one batch into the second epoch.
    untrained = _fit_interrupted(cls, 1, 1, X, y, params)
    one_epoch = _fit_interrupted(cls, 2, 1, X, y, params)
    mid_epoch = _fit_interrupted(cls, 2, 2, X, y, params)

    probas = [est.predict_proba(X) for est in (untrained, one_epoch, mid_epoch)]
    for proba in probas:
        assert proba.shape == (len(X), 3)
        assert np.isfinite(proba).all()
    # Each model holds the weights of its last step, not those of a
    # finished epoch or of initialisation.
    assert not np.allclose(probas[0], probas[1])
    assert not np.allclose(probas[1], probas[2])
    assert mid_epoch.score(X, y) > 0.6


class InterruptedPIMM(sk_pimm.PIMMClassifier):
    """Ctrl-C at the second batch of epoch 3; defined here so it pickles."""

    def _extra_callbacks(self, steps_per_epoch):
        callbacks = super()._extra_callbacks(steps_per_epoch)
        return [*callbacks, ("ctrl_c", CtrlC(3, 2))]


def test_interrupted_model_round_trips(funnel3, fast_params):
    X, y = funnel3
    est = InterruptedPIMM(random_state=0, **{**fast_params, "max_epochs": 5})
    with pytest.warns(FitInterruptedWarning, match="after 2 complete epoch"):
        est.fit(X, y)
    loaded = pickle.loads(pickle.dumps(est))

    assert loaded.net_.interrupted_
    assert loaded.n_iter_ == 2
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_early_stopping_is_not_an_interruption(cls, funnel3, fast_params):
    X, y = funnel3
    params = {**fast_params, "lr": 1e-8, "max_epochs": 10}
    est = cls(early_stopping=True, n_iter_no_change=2, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitInterruptedWarning)
        est.fit(X, y)

    # stopped by patience: two epochs after the best one, before max_epochs
    best_epoch = int(np.argmax(est.history_[:, "valid_auc"])) + 1
    assert est.n_iter_ == best_epoch + 2 < params["max_epochs"]
    assert not est.net_.interrupted_


# -------------------------------------------------------------- determinism
def test_same_random_state_gives_identical_predictions(cls, funnel3, fast_params):
    X, y = funnel3
    params = {**fast_params, "early_stopping": True, "n_iter_no_change": 5}
    first = cls(random_state=7, **params).fit(X, y).predict_proba(X)
    # The global generators must play no part.
    torch.manual_seed(12345)
    second = cls(random_state=7, **params).fit(X, y).predict_proba(X)
    other = cls(random_state=8, **params).fit(X, y).predict_proba(X)

    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


FIT_AND_PREDICT = textwrap.dedent(
    """
    import sys

    import joblib
    import numpy as np
    import torch

    import sk_pimm

    torch.set_num_threads(1)
    X, y, params = joblib.load(sys.argv[1])
    for name in sys.argv[3:]:
        est = getattr(sk_pimm, name)(random_state=0, **params).fit(X, y)
        np.save(f"{sys.argv[2]}/{name}.npy", est.predict_proba(X))
    """
)


@pytest.mark.slow  # starts a Python interpreter that imports torch
def test_same_random_state_gives_identical_predictions_across_processes(
    funnel3, fast_params, tmp_path
):
    X, y = funnel3
    joblib.dump((X, y, fast_params), tmp_path / "data.joblib")
    script = tmp_path / "fit_and_predict.py"
    script.write_text(FIT_AND_PREDICT)
    names = [cls.__name__ for cls in ESTIMATORS]

    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "data.joblib"), str(tmp_path)]
        + names,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr

    for cls in ESTIMATORS:
        expected = cls(random_state=0, **fast_params).fit(X, y).predict_proba(X)
        np.testing.assert_array_equal(
            np.load(tmp_path / f"{cls.__name__}.npy"), expected, err_msg=_name(cls)
        )


# -------------------------------------------------------- numerical safety
@pytest.fixture(scope="module")
def rare_funnel(funnel_factory):
    """10,000 impressions whose last stage has exactly one positive."""
    X, y = funnel_factory(n_samples=10_000, n_stages=3, random_state=5)
    last = np.zeros(len(y), dtype=np.int64)
    last[np.flatnonzero(y["conversion"].to_numpy())[0]] = 1
    return X, y.assign(core_conversion=last)


@pytest.mark.parametrize("positives", [1, 0])
def test_very_rare_stage_trains_without_nan(cls, rare_funnel, fast_params, positives):
    X, y = rare_funnel
    if positives == 0:
        y = y.assign(core_conversion=0)
    # A large learning rate drives the rare stage's logits far negative.
    params = {**fast_params, "lr": 0.05, "batch_size": 512, "max_epochs": 3}
    est = cls(early_stopping=True, n_iter_no_change=3, random_state=0, **params)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        est.fit(X, y)
    degenerate = [w for w in record if issubclass(w.category, DegenerateStageWarning)]
    assert len(degenerate) == (positives == 0)

    proba = est.predict_proba(X)
    assert not np.isnan(proba).any()
    assert ((proba >= 0) & (proba <= 1)).all()
    for key in ("train_loss", "train_loss_core_conversion", "valid_loss"):
        assert np.isfinite(est.history_[:, key]).all(), key
    assert np.isfinite(stage_log_loss(y, proba)).all()
    last = proba[:, 2]
    assert np.isfinite(log_loss(y["core_conversion"], last, labels=[0, 1]))
    # The model learnt that the stage is rare: an untrained head gives 0.5.
    assert last.mean() < 0.05


# ------------------------------------------------------- failures found late
def test_a_failed_refit_leaves_the_previous_model(funnel3, fast_params):
    X, y = funnel3
    est = sk_pimm.PIMMClassifier(random_state=0, **fast_params).fit(X, y)
    expected = est.predict_proba(X)
    narrower = X.iloc[:, :2].rename(columns=lambda name: f"z_{name}")
    with pytest.raises(ValueError, match="other than 0 and 1"):
        est.fit(narrower, np.full((len(X), 3), 2))
    np.testing.assert_array_equal(est.predict_proba(X), expected)
    assert est.n_features_in_ == X.shape[1]


def test_divergence_is_reported_not_returned_as_nan(funnel3, fast_params):
    X, y = funnel3
    est = sk_pimm.PIMMClassifier(**{**fast_params, "lr": 1e6}, random_state=0)
    with pytest.raises(ValueError, match="Training diverged.*Lower lr"):
        est.fit(X.assign(big=X.iloc[:, 0] * 1e30), y)
    with pytest.raises(NotFittedError):
        est.predict_proba(X)  # a fit that failed in training leaves no model


@pytest.mark.parametrize(
    "weights", [[np.nan, 1, 1], [np.inf, 1, 1], [0, 0, 0], ["a", "b", "c"]]
)
def test_stage_weights_must_be_finite_and_not_all_zero(funnel3, fast_params, weights):
    X, y = funnel3
    est = sk_pimm.PIMMClassifier(stage_weights=weights, **fast_params)
    with pytest.raises(ValueError, match="stage_weights must hold 3 finite"):
        est.fit(X, y)


def test_early_stopping_needs_a_measurable_validation_set(funnel3, fast_params):
    X, y = funnel3
    y = y.copy()
    y.iloc[-len(y) // 5 :] = 0  # the last rows: no positive at any stage
    est = sk_pimm.PIMMClassifier(
        early_stopping=True,
        validation_split="last",
        validation_fraction=0.1,
        **fast_params,
    )
    with pytest.raises(ValueError, match="no stage has both classes"):
        est.fit(X, y)


@pytest.mark.parametrize(
    "device, message", [("nonsense", "not a device torch knows"), ("meta", "meta")]
)
def test_unusable_devices_are_named(funnel3, fast_params, device, message):
    X, y = funnel3
    with pytest.raises(ValueError, match=message):
        sk_pimm.PIMMClassifier(device=device, **fast_params).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_cuda_without_a_gpu_is_named(funnel3, fast_params):
    X, y = funnel3
    with pytest.raises(ValueError, match="no cuda device is available"):
        sk_pimm.PIMMClassifier(device="cuda", **fast_params).fit(X, y)


def test_a_torch_device_parameter_saves_with_skops(funnel3, fast_params, tmp_path):
    X, y = funnel3
    est = sk_pimm.PIMMClassifier(
        device=torch.device("cpu"), random_state=0, **fast_params
    ).fit(X, y)
    sk_pimm.persistence.dump(est, tmp_path / "model.skops")
    loaded = sk_pimm.persistence.load(tmp_path / "model.skops")
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
