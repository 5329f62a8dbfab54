"""Saving and loading every sk_pimm estimator: joblib in a new process,
skops without trusting arbitrary types, models saved on another device, and
the sk_pimm version stored with the model."""

import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
import skops.io
import torch
from skops.io.exceptions import UntrustedTypesFoundException
from skorch.exceptions import DeviceWarning

import sk_pimm
from sk_pimm import persistence
from sk_pimm.exceptions import VersionMismatchWarning

#: Every estimator sk_pimm exports.
ESTIMATORS = [
    getattr(sk_pimm, name) for name in sk_pimm.__all__ if name.endswith("Classifier")
]


def _name(cls):
    return cls.__name__


@pytest.fixture(scope="module", params=ESTIMATORS, ids=_name)
def fitted(request, funnel3, fast_params):
    """Each estimator fitted with a validation split, so history is rich."""
    X, y = funnel3
    est = request.param(early_stopping=True, random_state=0, **fast_params)
    return est.fit(X, y)


def _assert_same_model(loaded, est, X):
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    assert loaded.stage_names_ == est.stage_names_
    assert loaded.n_iter_ == est.n_iter_
    assert loaded.history_.to_list() == est.history_.to_list()
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


# ------------------------------------------------------------------- joblib
LOAD_AND_PREDICT = textwrap.dedent(
    """
    import sys

    import joblib
    import numpy as np
    import torch

    torch.set_num_threads(1)
    X = joblib.load(sys.argv[1])
    for path in sys.argv[2:]:
        est = joblib.load(path)
        np.save(path + ".npy", est.predict_proba(X))
    """
)


@pytest.fixture(scope="module")
def predictions_in_new_process(tmp_path_factory, funnel3, fast_params):
    """Every estimator fitted here, saved with joblib, and loaded and run in
    one new Python process; returns both sides' predictions by class."""
    X, y = funnel3
    folder = tmp_path_factory.mktemp("joblib")
    joblib.dump(X, folder / "X.joblib")
    expected, paths = {}, []
    for cls in ESTIMATORS:
        est = cls(random_state=0, **fast_params).fit(X, y)
        expected[cls] = est.predict_proba(X)
        paths.append(folder / f"{cls.__name__}.joblib")
        joblib.dump(est, paths[-1])
    script = folder / "load_and_predict.py"
    script.write_text(LOAD_AND_PREDICT)

    result = subprocess.run(
        [sys.executable, str(script), str(folder / "X.joblib"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    loaded = {
        cls: np.load(f"{path}.npy") for cls, path in zip(ESTIMATORS, paths, strict=True)
    }
    return expected, loaded


@pytest.mark.slow  # starts a Python interpreter that imports torch
@pytest.mark.parametrize("cls", ESTIMATORS, ids=_name)
def test_joblib_round_trip_in_new_process(cls, predictions_in_new_process):
    expected, loaded = predictions_in_new_process
    assert loaded[cls].dtype == expected[cls].dtype
    np.testing.assert_array_equal(loaded[cls], expected[cls])


def test_joblib_round_trip_keeps_the_model(fitted, funnel3, tmp_path):
    X, _ = funnel3
    joblib.dump(fitted, tmp_path / "model.joblib")
    _assert_same_model(joblib.load(tmp_path / "model.joblib"), fitted, X)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=_name)
def test_unfitted_estimator_round_trips_unfitted(cls, tmp_path):
    est = cls(max_epochs=2)
    for loaded in (
        pickle.loads(pickle.dumps(est)),
        _skops_round_trip(est, tmp_path / "model.skops"),
    ):
        assert loaded.get_params() == est.get_params()
        assert not hasattr(loaded, "net_")


# -------------------------------------------------------------------- state
def _types_in(value, seen=None):
    """Every type in ``value``, looking into containers and object states."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return set()
    seen.add(id(value))
    types = {type(value)}
    if isinstance(value, dict):
        children = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        children = list(value)
    elif isinstance(value, np.ndarray):
        children = list(value.ravel()) if value.dtype == object else []
    elif hasattr(value, "__getstate__") and hasattr(value, "__dict__"):
        children = [value.__getstate__()]
    else:
        children = []
    for child in children:
        types |= _types_in(child, seen)
    return types


def test_pickled_state_holds_no_tensors_or_skorch_objects(fitted):
    state = fitted.__getstate__()
    types = _types_in(state)

    assert not any(issubclass(t, torch.Tensor | torch.nn.Module) for t in types)
    modules = {t.__module__.split(".")[0] for t in types}
    assert modules <= {"builtins", "numpy", "sk_pimm"}, modules
    assert "net_" not in state
    # The weights travel as NumPy arrays, one per entry of the state dict.
    weights = state["_net_state"]["weights"]
    assert weights.keys() == fitted.net_.module_.state_dict().keys()
    assert all(isinstance(w, np.ndarray) for w in weights.values())


def test_pickling_leaves_the_estimator_fitted(fitted, funnel3):
    X, _ = funnel3
    expected = fitted.predict_proba(X)
    pickle.dumps(fitted)
    assert hasattr(fitted, "net_")
    np.testing.assert_array_equal(fitted.predict_proba(X), expected)


# -------------------------------------------------------------------- skops
def _skops_round_trip(est, path):
    persistence.dump(est, path)
    return persistence.load(path)


def test_skops_round_trip(fitted, funnel3, tmp_path):
    X, _ = funnel3
    _assert_same_model(_skops_round_trip(fitted, tmp_path / "model.skops"), fitted, X)


def test_skops_file_holds_only_declared_sk_pimm_types(fitted, tmp_path):
    path = tmp_path / "model.skops"
    persistence.dump(fitted, path)

    untrusted = skops.io.get_untrusted_types(file=path)
    assert set(untrusted) <= set(persistence.TRUSTED_TYPES)
    assert f"{type(fitted).__module__}.{type(fitted).__name__}" in untrusted


def test_skops_load_trusts_no_type_implicitly(fitted, tmp_path):
    path = tmp_path / "model.skops"
    persistence.dump(fitted, path)
    with pytest.raises(UntrustedTypesFoundException, match=type(fitted).__name__):
        skops.io.load(path, trusted=[])


class Payload:
    """A type that sk_pimm does not declare: loading it must be refused."""

    def __init__(self):
        self.command = "echo hello"


def test_load_refuses_a_type_sk_pimm_does_not_declare(fitted, tmp_path, monkeypatch):
    path = tmp_path / "model.skops"
    monkeypatch.setattr(fitted, "payload_", Payload(), raising=False)
    with pytest.raises(TypeError, match="Payload"):
        persistence.dump(fitted, path)  # refused before anything is written
    assert not path.exists()
    skops.io.dump(fitted, path)  # a file written by other means
    with pytest.raises(UntrustedTypesFoundException, match="Payload"):
        persistence.load(path)


def test_trusted_types_are_exactly_sk_pimm_estimators_and_encoder():
    estimators = {f"{cls.__module__}.{cls.__name__}" for cls in ESTIMATORS}
    assert set(persistence.TRUSTED_TYPES) == estimators | {
        "sk_pimm._encoding.TabularEncoder"
    }


# ------------------------------------------------------------------- device
def _device_present(device):
    if device == "cuda":
        return torch.cuda.is_available()
    return torch.backends.mps.is_available()


@pytest.mark.parametrize("device", ["cuda", "mps"])
@pytest.mark.parametrize("fmt", ["pickle", "skops"])
def test_model_saved_on_another_device_loads_on_cpu(
    fitted, funnel3, tmp_path, monkeypatch, device, fmt
):
    # The model is trained on the CPU, then saved as if it had been trained on
    # `device`; the weights are NumPy arrays, so only the net's device differs.
    if _device_present(device):
        pytest.skip(f"this machine has {device}; the fallback is not needed")
    X, _ = funnel3
    expected = fitted.predict_proba(X)
    monkeypatch.setattr(fitted, "device", device)

    with pytest.warns(DeviceWarning, match='Loading on device "cpu" instead'):
        if fmt == "pickle":
            loaded = pickle.loads(pickle.dumps(fitted))
        else:
            loaded = _skops_round_trip(fitted, tmp_path / "model.skops")

    assert loaded.device == device  # the parameter is the user's, kept
    assert torch.device(loaded.net_.device).type == "cpu"
    assert all(p.device.type == "cpu" for p in loaded.net_.module_.parameters())
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)


# ------------------------------------------------------------------ version
def test_version_is_stored_with_the_model(fitted):
    assert fitted.__getstate__()["_sk_pimm_version"] == sk_pimm.__version__


@pytest.mark.parametrize("fmt", ["pickle", "skops"])
def test_version_mismatch_on_load_warns(fitted, funnel3, tmp_path, monkeypatch, fmt):
    X, _ = funnel3
    if fmt == "pickle":
        saved = pickle.dumps(fitted)
    else:
        persistence.dump(fitted, tmp_path / "model.skops")
    monkeypatch.setattr("sk_pimm.base.__version__", "99.0")

    match = f"saved with sk_pimm {sk_pimm.__version__} and is loaded with sk_pimm 99.0"
    with pytest.warns(VersionMismatchWarning, match=match):
        if fmt == "pickle":
            loaded = pickle.loads(saved)
        else:
            loaded = persistence.load(tmp_path / "model.skops")
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


@pytest.mark.parametrize("fmt", ["pickle", "skops"])
def test_same_version_loads_silently(fitted, tmp_path, fmt):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if fmt == "pickle":
            pickle.loads(pickle.dumps(fitted))
        else:
            _skops_round_trip(fitted, tmp_path / "model.skops")


# ------------------------------------------- what changed after fit or since
@pytest.mark.parametrize("fmt", ["pickle", "skops"])
def test_set_params_after_fit_does_not_change_the_saved_network(
    funnel3, fast_params, tmp_path, fmt
):
    X, y = funnel3
    est = sk_pimm.PIMMClassifier(random_state=0, **fast_params).fit(X, y)
    expected = est.predict_proba(X)
    # Changed, not refitted: the saved model is still the fitted network.
    est.set_params(wide=False, chain_premise=False, hidden_units=(3,))
    if fmt == "pickle":
        loaded = pickle.loads(pickle.dumps(est))
    else:
        loaded = _skops_round_trip(est, tmp_path / "model.skops")
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    assert loaded.get_params()["hidden_units"] == (3,)


@pytest.mark.parametrize(
    "change, bad",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"hidden_units": ()}, "hidden_units"),
        ({"stage_weights": ["a", "b", "c"]}, "stage_weights"),
    ],
)
def test_invalid_set_params_after_fit_refuses_to_save_and_keeps_the_model(
    funnel3, fast_params, tmp_path, change, bad
):
    # Loading rebuilds the network from the parameters: saving these would
    # give a file that cannot be loaded.
    X, y = funnel3
    est = sk_pimm.PIMMClassifier(random_state=0, **fast_params).fit(X, y)
    expected = est.predict_proba(X)
    valid = {key: est.get_params()[key] for key in change}
    est.set_params(**change)
    with pytest.raises(ValueError, match=f"cannot be saved.*{bad}.*save again"):
        pickle.dumps(est)
    with pytest.raises(ValueError, match="cannot be saved"):
        persistence.dump(est, tmp_path / "model.skops")
    np.testing.assert_array_equal(est.predict_proba(X), expected)
    loaded = pickle.loads(pickle.dumps(est.set_params(**valid)))
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)


def test_model_saved_by_version_0_1_loads_as_it_was(funnel3, fast_params):
    """0.1 had neither ``wide`` nor ``chain_premise`` nor saved module params."""
    X, y = funnel3
    est = sk_pimm.PIMMClassifier(
        random_state=0, wide=False, chain_premise=False, **fast_params
    ).fit(X, y)
    state = est.__getstate__()
    del state["wide"], state["chain_premise"], state["_net_state"]["module_params"]
    state["_sk_pimm_version"] = "0.1.0"

    loaded = sk_pimm.PIMMClassifier.__new__(sk_pimm.PIMMClassifier)
    with pytest.warns(VersionMismatchWarning, match="saved with sk_pimm 0.1.0"):
        loaded.__setstate__(state)
    assert loaded.wide is False and loaded.chain_premise is False
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
