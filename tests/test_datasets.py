"""Tests of the synthetic funnel generator and the KuaiRand loaders."""

import os
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sk_pimm.datasets import (
    KUAIRAND_LABELS,
    load_kuairand,
    load_kuairand_sample,
    make_cascade_classification,
)

KUAIRAND_PATH = Path(
    os.environ.get(
        "SK_PIMM_KUAIRAND_PATH",
        Path(__file__).parents[2] / "shared" / "data" / "kuairand-pure",
    )
)
LEAKAGE_COLUMNS = {
    "is_click",
    "is_like",
    "is_follow",
    "is_comment",
    "is_forward",
    "is_hate",
    "is_profile_enter",
    "is_rand",
    "long_view",
    "like",
    "long_watch",
    "finish",
    "is_positive",
    "play_time_ms",
    "watch_ratio",
    "profile_stay_time",
    "comment_stay_time",
    "source_file",
    "time_ms",
    "date",
    "hourmin",
    "upload_dt",
    "upload_date",
}
STAGES = ["is_click", "long_view", "is_like"]


def assert_same_frame(left, right):
    """Assert equal frames, comparing categorical columns by their codes.

    Faster than ``pandas.testing.assert_frame_equal`` for categories with many
    levels.
    """
    pd.testing.assert_series_equal(left.dtypes, right.dtypes)
    assert len(left) == len(right)
    for name in left:
        if isinstance(left[name].dtype, pd.CategoricalDtype):
            np.testing.assert_array_equal(
                left[name].cat.codes.to_numpy(), right[name].cat.codes.to_numpy()
            )
        else:
            np.testing.assert_array_equal(left[name].to_numpy(), right[name].to_numpy())


def assert_nested(y):
    """Assert that every stage is 1 only where the stage before it is 1."""
    values = y.to_numpy()
    assert np.all(values[:, 1:] <= values[:, :-1])


# %% make_cascade_classification


def test_synthetic_shapes_and_dtypes():
    X, y = make_cascade_classification(
        500, n_stages=4, n_numeric=2, n_categorical=3, n_categories=5, random_state=0
    )

    assert X.shape == (500, 5)
    assert list(X.columns) == ["num_0", "num_1", "cat_0", "cat_1", "cat_2"]
    assert (X[["num_0", "num_1"]].dtypes == "float64").all()
    for name in ["cat_0", "cat_1", "cat_2"]:
        assert isinstance(X[name].dtype, pd.CategoricalDtype)
        assert list(X[name].cat.categories) == ["c0", "c1", "c2", "c3", "c4"]
    assert not X.isna().any().any()

    assert list(y.columns) == ["stage_0", "stage_1", "stage_2", "stage_3"]
    assert (y.dtypes == "int64").all()
    assert set(np.unique(y.to_numpy())) <= {0, 1}
    assert_nested(y)


@pytest.mark.parametrize(
    "stage_rates", [None, [0.5, 0.2], [0.3, 0.05, 0.01], [0.6, 0.3, 0.1, 0.03]]
)
def test_synthetic_rates_and_nesting(stage_rates):
    n_stages = 3 if stage_rates is None else len(stage_rates)
    X, y = make_cascade_classification(
        20_000, n_stages=n_stages, stage_rates=stage_rates, random_state=1
    )

    expected = 0.4 * 0.25 ** np.arange(n_stages) if stage_rates is None else stage_rates
    np.testing.assert_allclose(y.mean().to_numpy(), expected, rtol=0.02)
    assert_nested(y)


def test_synthetic_determinism():
    X_a, y_a = make_cascade_classification(1_000, random_state=42)
    X_b, y_b = make_cascade_classification(1_000, random_state=42)
    X_c, y_c = make_cascade_classification(1_000, random_state=43)

    pd.testing.assert_frame_equal(X_a, X_b)
    pd.testing.assert_frame_equal(y_a, y_b)
    assert not X_a["num_0"].equals(X_c["num_0"])
    assert not y_a.equals(y_c)


def test_synthetic_only_numeric_or_only_categorical():
    X, y = make_cascade_classification(
        300, n_numeric=0, n_categorical=2, random_state=0
    )
    assert list(X.columns) == ["cat_0", "cat_1"]
    assert_nested(y)

    X, y = make_cascade_classification(300, n_categorical=0, random_state=0)
    assert list(X.columns) == ["num_0", "num_1", "num_2", "num_3"]
    assert_nested(y)


def logistic_model(X):
    """Logistic regression on scaled numeric and one-hot categorical columns."""
    numeric = [name for name in X if name.startswith("num_")]
    categorical = [name for name in X if name.startswith("cat_")]
    return make_pipeline(
        make_column_transformer(
            (StandardScaler(), numeric),
            (OneHotEncoder(handle_unknown="ignore"), categorical),
        ),
        LogisticRegression(max_iter=1_000),
    )


def per_stage_auc(X, y, random_state=0):
    """Held-out AUC of one logistic regression per stage."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=random_state, stratify=y.iloc[:, -1]
    )
    aucs = []
    for stage in y:
        model = logistic_model(X).fit(X_train, y_train[stage])
        score = model.predict_proba(X_test)[:, 1]
        aucs.append(roc_auc_score(y_test[stage], score))
    return np.array(aucs)


def test_synthetic_signal_is_learnable_at_every_stage():
    X, y = make_cascade_classification(20_000, random_state=0)

    aucs = per_stage_auc(X, y)

    assert np.all(aucs > 0.6), aucs


def test_synthetic_zero_signal_is_not_learnable():
    X, y = make_cascade_classification(
        20_000,
        n_stages=2,
        stage_rates=[0.4, 0.2],
        signal_strength=0.0,
        random_state=0,
    )

    aucs = per_stage_auc(X, y)

    assert np.all(np.abs(aucs - 0.5) < 0.05), aucs


@pytest.mark.parametrize("random_state", [0, 1])
def test_synthetic_earlier_stage_informs_next(random_state):
    # Among rows that reached stage 0, a model of stage 0 ranks the rows that go
    # on to stage 1 higher: the stages share signal beyond the nesting.
    X, y = make_cascade_classification(20_000, random_state=random_state)
    model = logistic_model(X).fit(X, y["stage_0"])
    reached = y["stage_0"].to_numpy() == 1

    score = model.decision_function(X[reached])

    assert roc_auc_score(y.loc[reached, "stage_1"], score) > 0.6


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples must be an integer >= 1"),
        ({"n_samples": 10.5}, "n_samples must be an integer"),
        ({"n_stages": 0}, "n_stages must be an integer >= 1"),
        ({"n_numeric": -1}, "n_numeric must be an integer >= 0"),
        ({"n_categorical": True}, "n_categorical must be an integer"),
        ({"n_categories": 1}, "n_categories must be an integer >= 2"),
        ({"n_numeric": 0, "n_categorical": 0}, "cannot both be 0"),
        ({"signal_strength": -1.0}, "signal_strength must be a finite number"),
        ({"signal_strength": np.inf}, "signal_strength must be a finite number"),
        ({"signal_strength": "high"}, "signal_strength must be a finite number"),
        ({"stage_rates": [0.4, 0.1]}, "one rate per stage"),
        ({"stage_rates": [0.4, 0.1, 0.0]}, "strictly between 0 and 1"),
        ({"stage_rates": [1.0, 0.1, 0.01]}, "strictly between 0 and 1"),
        ({"stage_rates": [0.4, 0.4, 0.1]}, "strictly decreasing"),
        ({"stage_rates": [0.1, 0.2, 0.01]}, "strictly decreasing"),
        ({"stage_rates": ["a", "b", "c"]}, "stage_rates must be a sequence"),
    ],
)
def test_synthetic_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_cascade_classification(**{"n_samples": 100, "random_state": 0, **kwargs})


# %% load_kuairand

needs_kuairand = pytest.mark.skipif(
    not KUAIRAND_PATH.is_dir(),
    reason=(
        f"KuaiRand-Pure files not found at {KUAIRAND_PATH}; set "
        "SK_PIMM_KUAIRAND_PATH to a folder holding them."
    ),
)


@pytest.fixture(scope="module")
def kuairand_all():
    """The full KuaiRand log, both periods, with dates."""
    return load_kuairand(KUAIRAND_PATH, "all", return_date=True)


@needs_kuairand
def test_load_kuairand_splits(kuairand_all):
    X_train, y_train = load_kuairand(KUAIRAND_PATH)
    X_all, y_all, date = kuairand_all

    assert len(X_train) == len(y_train) == 94_784
    assert len(X_all) == len(y_all) == len(date) == 94_784 + 133_545
    is_train = (date <= "2022-04-30").to_numpy()
    assert is_train.sum() == 94_784
    assert is_train[:94_784].all()
    assert date.min() == pd.Timestamp("2022-04-25")
    assert date.max() == pd.Timestamp("2022-05-08")
    assert date.dtype == "datetime64[ns]"
    assert_same_frame(X_all.iloc[:94_784], X_train)
    pd.testing.assert_frame_equal(y_all.iloc[:94_784], y_train)

    # The test split's dtypes, category levels included, match the train split's.
    X_test, _ = load_kuairand(KUAIRAND_PATH, "test", stages=["is_click"])
    assert len(X_test) == 133_545
    pd.testing.assert_series_equal(X_test.dtypes, X_train.dtypes)


@needs_kuairand
def test_load_kuairand_columns_and_dtypes(kuairand_all):
    X, y, _ = kuairand_all

    assert X.shape[1] == 43
    assert not LEAKAGE_COLUMNS & set(X.columns)
    assert X.columns.is_unique
    for name in ["user_id", "video_id", "author_id", "music_id", "tag", "tab", "hour"]:
        assert isinstance(X[name].dtype, pd.CategoricalDtype), name
    for name in X:
        if isinstance(X[name].dtype, pd.CategoricalDtype):
            assert X[name].cat.categories.dtype == "str", name
        else:
            assert X[name].dtype == "float64", name
            assert not X[name].isna().any(), name
    assert set(X.select_dtypes("float64").columns) == {
        "duration_ms",
        "freshness_days",
        "follow_user_num",
        "fans_user_num",
        "friend_user_num",
        "register_days",
        "server_width",
        "server_height",
    }
    assert list(X["hour"].cat.categories) == [str(h) for h in range(24)]
    # The log's "unknown" tag is the video table's missing tag; it stays missing.
    assert X["tag"].isna().sum() > 0
    assert X.loc[0, "user_id"] == "712"

    assert list(y.columns) == STAGES
    assert (y.dtypes == "int64").all()
    np.testing.assert_allclose(y.mean(), [0.4419, 0.3108, 0.0171], atol=5e-4)
    # Labels come as recorded: some long views and likes lack a click.
    assert (y["long_view"] > y["is_click"]).sum() == 104 + 146
    assert (y["is_like"] > y["is_click"]).sum() == 291 + 412


@needs_kuairand
def test_load_kuairand_stage_order():
    _, y = load_kuairand(KUAIRAND_PATH, stages=("is_like", "is_follow"))
    assert list(y.columns) == ["is_like", "is_follow"]
    assert y["is_like"].sum() == 1_625
    assert y["is_follow"].sum() == 128

    _, y = load_kuairand(KUAIRAND_PATH, stages="is_click")
    assert list(y.columns) == ["is_click"]


def test_load_kuairand_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="log_standard_20220425_20220430"):
        load_kuairand(tmp_path)

    (tmp_path / "log_standard_20220425_20220430.parquet").touch()
    (tmp_path / "log_standard_20220501_20220508.parquet").touch()
    (tmp_path / "video_features_basic_pure.csv").touch()
    with pytest.raises(FileNotFoundError, match="user_features_pure.csv"):
        load_kuairand(tmp_path)


@pytest.mark.parametrize("loader", ["full", "sample"])
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"split": "valid"}, "split must be 'train', 'test' or 'all'"),
        ({"stages": ["is_click", "watch_ratio"]}, r"unknown label column\(s\)"),
        ({"stages": []}, "at least one label"),
        ({"stages": ["is_click", "is_click"]}, "must not repeat"),
    ],
)
def test_kuairand_invalid_arguments(tmp_path, loader, kwargs, match):
    with pytest.raises(ValueError, match=match):
        if loader == "full":
            load_kuairand(tmp_path, **kwargs)
        else:
            load_kuairand_sample(**kwargs)


# %% load_kuairand_sample


def test_sample_size_on_disk():
    folder = resources.files("sk_pimm.datasets").joinpath("data")
    size = sum(file.stat().st_size for file in Path(str(folder)).iterdir())
    assert size <= 2 * 1024**2
    assert (Path(str(folder)) / "KUAIRAND_LICENSE.md").is_file()


def test_sample_splits():
    X, y, date = load_kuairand_sample(return_date=True)
    X_train, y_train = load_kuairand_sample("train")
    X_test, y_test, date_test = load_kuairand_sample("test", return_date=True)

    assert len(X) == len(y) == len(date) == 40_000
    assert len(X_train) == len(y_train) == 20_000
    assert len(X_test) == len(y_test) == 20_000
    assert date.iloc[:20_000].between("2022-04-25", "2022-04-30").all()
    assert date_test.between("2022-05-01", "2022-05-08").all()
    assert date.dtype == "datetime64[ns]"
    assert_same_frame(X.iloc[:20_000], X_train)
    assert_same_frame(X.iloc[20_000:], X_test)
    assert X_test.index.equals(pd.RangeIndex(20_000))
    pd.testing.assert_frame_equal(y.iloc[20_000:].reset_index(drop=True), y_test)


def test_sample_labels():
    _, y = load_kuairand_sample(stages=KUAIRAND_LABELS)

    assert list(y.columns) == list(KUAIRAND_LABELS)
    assert (y.dtypes == "int64").all()
    assert set(np.unique(y.to_numpy())) == {0, 1}
    rates = y.mean()
    assert 0.42 < rates["is_click"] < 0.46
    assert 0.29 < rates["long_view"] < 0.33
    assert 0.013 < rates["is_like"] < 0.022
    # Not clipped to a strict cascade.
    assert (y["is_like"] > y["is_click"]).any()

    _, y = load_kuairand_sample(stages=["long_view", "is_click"])
    assert list(y.columns) == ["long_view", "is_click"]


def test_sample_columns_and_dtypes():
    X, _ = load_kuairand_sample()

    assert X.shape[1] == 43
    assert not LEAKAGE_COLUMNS & set(X.columns)
    assert isinstance(X["user_id"].dtype, pd.CategoricalDtype)
    assert len(X["user_id"].cat.categories) == 27_285
    assert not X.select_dtypes("float64").isna().any().any()


@needs_kuairand
def test_sample_matches_full_data(kuairand_all):
    X_full, y_full, date_full = kuairand_all
    X, y, date = load_kuairand_sample(return_date=True)

    pd.testing.assert_series_equal(X.dtypes, X_full.dtypes)
    # Every sampled row is a row of the full data, with the same values.
    key = ["user_id", "video_id", "hour", "tab"]
    merged = X.assign(date=date).merge(
        X_full.assign(date=date_full).drop_duplicates(key + ["date"]),
        on=key + ["date"],
        how="left",
        suffixes=("", "_full"),
    )
    assert len(merged) == len(X)
    for name in ["duration_ms", "register_days", "author_id", "tag"]:
        pd.testing.assert_series_equal(
            merged[name], merged[f"{name}_full"], check_names=False
        )
