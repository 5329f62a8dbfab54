"""PIMMClassifier inside scikit-learn: clone, parameters, model selection,
pipelines and persistence."""

import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.metrics import get_scorer, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sk_pimm import PIMMClassifier

NUMERIC = ["age", "price", "score"]
CATEGORICAL = ["channel", "device"]


@pytest.fixture(scope="module")
def fitted3(funnel3, fast_params):
    X, y = funnel3
    return PIMMClassifier(random_state=0, **fast_params).fit(X, y)


def test_clone_keeps_params_and_drops_fitted_state(fitted3):
    cloned = clone(fitted3)

    assert cloned.get_params() == fitted3.get_params()
    assert not hasattr(cloned, "net_")
    assert not hasattr(cloned, "classes_")


def test_get_set_params_round_trip(fast_params):
    est = PIMMClassifier(curriculum="cosine", hidden_units=(4, 2))
    params = est.get_params()
    assert params["curriculum"] == "cosine"
    assert params["hidden_units"] == (4, 2)
    assert set(params) == set(PIMMClassifier().get_params())

    other = PIMMClassifier().set_params(**params)
    assert other.get_params() == params
    assert est.set_params(sampling="soft", lr=0.5) is est
    assert est.get_params()["sampling"] == "soft"
    assert est.get_params()["lr"] == 0.5
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        est.set_params(bogus=1)


def test_roc_auc_scorer_matches_score(fitted3, funnel3):
    X, y = funnel3
    assert get_scorer("roc_auc")(fitted3, X, y) == pytest.approx(fitted3.score(X, y))


def test_grid_search(funnel3, fast_params):
    X, y = funnel3
    grid = {"curriculum": ["linear", "cosine"], "curriculum_epochs": [1, 2]}
    search = GridSearchCV(
        PIMMClassifier(random_state=0, **fast_params), grid, scoring="roc_auc", cv=2
    ).fit(X, y)

    assert search.best_params_ in [
        {"curriculum": c, "curriculum_epochs": e}
        for c in grid["curriculum"]
        for e in grid["curriculum_epochs"]
    ]
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (4,)
    assert np.all(np.isfinite(scores)) and np.all((scores > 0) & (scores < 1))
    for key in ("split0_test_score", "split1_test_score"):
        assert np.all((search.cv_results_[key] > 0.5) & (search.cv_results_[key] < 1))
    assert search.best_estimator_.curriculum == search.best_params_["curriculum"]
    assert search.predict_proba(X).shape == (len(X), 3)


def test_pipeline_with_column_transformer(funnel3, fast_params):
    X, y = funnel3
    pipe = make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), NUMERIC),
                ("cat", OneHotEncoder(sparse_output=False), CATEGORICAL),
            ]
        ),
        PIMMClassifier(random_state=0, **fast_params),
    ).fit(X, y)

    est = pipe[-1]
    assert est.n_features_in_ == 3 + 4 + 3
    assert est.net_.module_.inputs.cardinalities == []
    proba = pipe.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_array_equal(pipe.predict(X), (proba >= 0.5).astype(int))
    aucs = [roc_auc_score(y.iloc[:, t], proba[:, t]) for t in range(3)]
    assert pipe.score(X, y) == pytest.approx(np.mean(aucs))
    assert min(aucs) > 0.7


def test_cross_val_score_matches_manual_folds(funnel3, fast_params):
    X, y = funnel3
    est = PIMMClassifier(random_state=0, **fast_params)
    cv = KFold(n_splits=2, shuffle=True, random_state=0)
    scores = cross_val_score(est, X, y, cv=cv)

    expected = [
        clone(est).fit(X.iloc[train], y.iloc[train]).score(X.iloc[test], y.iloc[test])
        for train, test in cv.split(X)
    ]
    np.testing.assert_allclose(scores, expected, rtol=0, atol=0)
    assert np.all(scores > 0.65)


def test_cross_val_score_default_cv_is_unstratified(funnel3, fast_params):
    X, y = funnel3
    scores = cross_val_score(PIMMClassifier(random_state=0, **fast_params), X, y, cv=2)
    assert scores.shape == (2,)
    assert np.all((scores > 0.5) & (scores < 1))


LOAD_AND_PREDICT = textwrap.dedent(
    """
    import sys
    import warnings

    import joblib
    import numpy as np
    import torch

    from sk_pimm.exceptions import VersionMismatchWarning

    warnings.simplefilter("error", VersionMismatchWarning)
    # Same thread count as the test process, as a user's next session would.
    torch.set_num_threads(int(sys.argv[4]))
    est = joblib.load(sys.argv[1])
    X = joblib.load(sys.argv[2])
    np.save(sys.argv[3], est.predict_proba(X))
    """
)


@pytest.mark.slow  # starts a Python interpreter that imports torch
def test_joblib_round_trip_in_new_process(funnel3, fast_params, tmp_path):
    X, y = funnel3
    # A model of its own: pickling must not be able to disturb shared fixtures.
    est = PIMMClassifier(early_stopping=True, random_state=0, **fast_params)
    expected = est.fit(X, y).predict_proba(X)
    model_path = tmp_path / "model.joblib"
    data_path = tmp_path / "X.joblib"
    out_path = tmp_path / "proba.npy"
    joblib.dump(est, model_path)
    joblib.dump(X, data_path)
    script = tmp_path / "load_and_predict.py"
    script.write_text(LOAD_AND_PREDICT)

    result = subprocess.run(
        [
            sys.executable,
            str(script),
            str(model_path),
            str(data_path),
            str(out_path),
            str(torch.get_num_threads()),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr

    loaded = np.load(out_path)
    assert loaded.dtype == expected.dtype
    assert np.array_equal(loaded, expected)
    # In this process too, with the fitted attributes and history kept.
    reloaded = joblib.load(model_path)
    assert reloaded.stage_names_ == est.stage_names_
    assert reloaded.n_iter_ == est.n_iter_
    assert reloaded.history_[:, "valid_auc"] == est.history_[:, "valid_auc"]
    assert np.array_equal(reloaded.predict_proba(X), expected)
    assert reloaded.score(X, y) == est.score(X, y)


def test_pickling_leaves_the_estimator_unchanged(funnel3, fast_params):
    # On Python >= 3.11 BaseEstimator.__getstate__ can return the live
    # __dict__; editing it would unfit the estimator being saved.
    X, y = funnel3
    est = PIMMClassifier(random_state=0, **fast_params).fit(X, y)
    attributes = dict(vars(est))
    expected = est.predict_proba(X)

    pickle.dumps(est)

    assert vars(est).keys() == attributes.keys()
    assert all(vars(est)[key] is value for key, value in attributes.items())
    np.testing.assert_array_equal(est.predict_proba(X), expected)
