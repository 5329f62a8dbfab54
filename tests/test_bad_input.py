"""Bad input to every sk_pimm estimator.

Each case ends in one of two ways: a ValueError or TypeError that names the
column or stage at fault and says what to do, or handling that the
docstrings describe, with finite output. Never an error from deep inside
torch or pandas, and never a silent wrong answer.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

import sk_pimm
from sk_pimm.exceptions import DegenerateStageWarning, LabelLeakageWarning
from sk_pimm.metrics import stage_roc_auc

#: Every estimator sk_pimm exports.
ESTIMATORS = [
    getattr(sk_pimm, name) for name in sk_pimm.__all__ if name.endswith("Classifier")
]


def _name(cls):
    return cls.__name__


def _documented(cls, phrase):
    """Whether the class docstring says ``phrase``, whatever the line breaks."""
    return phrase in " ".join(cls.__doc__.split())


@pytest.fixture(scope="module", params=ESTIMATORS, ids=_name)
def cls(request):
    return request.param


@pytest.fixture(scope="module")
def fitted(cls, funnel3, fast_params):
    """Each estimator fitted on the three-stage funnel."""
    X, y = funnel3
    return cls(random_state=0, **fast_params).fit(X, y)


@pytest.fixture
def small(fast_params):
    """Settings for the cases that must train: one quick epoch."""
    return {**fast_params, "max_epochs": 1, "random_state": 0}


# ------------------------------------------------------------------ features
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_numeric_value_at_fit_names_the_column(cls, funnel3, value):
    X, y = funnel3
    X = X.assign(price=X["price"].where(X.index != 7, value))
    with pytest.raises(ValueError, match=r"Numeric columns \['price'\] .* Impute"):
        cls().fit(X, y)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_numeric_value_at_predict_names_the_column(fitted, funnel3, value):
    X, _ = funnel3
    X = X.assign(age=X["age"].where(X.index != 3, value))
    with pytest.raises(ValueError, match=r"Numeric columns \['age'\] .* Impute"):
        fitted.predict_proba(X)


def test_value_that_overflows_the_network_is_an_error_not_nan(funnel3, small):
    X, y = funnel3
    est = sk_pimm.PIMMClassifier(**small).fit(X, y)
    far = X.iloc[:5].assign(price=[1.0, 2.0, 3e30, 4.0, 5.0])
    # The attention's scores overflow to inf, and inf - inf is NaN.
    match = r"NaN for 1 of 5 rows \(first at row 2\)\. Numeric columns \['price'\]"
    with pytest.raises(ValueError, match=match):
        est.predict_proba(far)
    assert np.isfinite(est.predict_proba(X.iloc[:5])).all()


def test_constant_fraction_column_is_constant_not_amplified(cls, funnel3, small):
    """A constant 0.1 has a computed spread of about 1e-15, which is rounding."""
    X, y = funnel3
    X = X.assign(price=0.1)
    est = cls(**small).fit(X, y)
    j = est._encoder.numeric_columns_.index(list(X.columns).index("price"))
    assert est._encoder.scale_[j] == 1.0
    nudged = X.iloc[:20].assign(price=0.1000001)
    np.testing.assert_allclose(
        est.predict_proba(nudged), est.predict_proba(X.iloc[:20]), atol=1e-5
    )


def test_only_categorical_columns_fit_without_warnings(cls, funnel3, small):
    X, y = funnel3
    X = X.select_dtypes(exclude="number")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = cls(**small, wide=True).fit(X, y)
    assert np.isfinite(est.predict_proba(X)).all()


def test_non_numeric_value_in_numeric_column_names_the_column(fitted, funnel3):
    X, _ = funnel3
    X = X.assign(score=X["score"].astype(object).where(X.index != 0, "high"))
    with pytest.raises(ValueError, match="Column 'score' is treated as numeric.*list"):
        fitted.predict_proba(X)


def _with_channel(X, rows, value):
    channel = X["channel"].astype(object)
    channel.iloc[rows] = value
    return X.assign(channel=channel)


def test_unseen_category_is_predicted_like_a_missing_value(fitted, funnel3):
    # Documented: unseen categories and missing values share the
    # out-of-vocabulary embedding, so the two predictions are identical.
    assert _documented(type(fitted), "categories first seen at predict time")
    X, _ = funnel3
    rows = [0, 1, 2]
    expected = fitted.predict_proba(X)

    unseen = fitted.predict_proba(_with_channel(X, rows, "billboard"))
    missing = fitted.predict_proba(_with_channel(X, rows, np.nan))

    assert np.isfinite(unseen).all()
    np.testing.assert_array_equal(unseen, missing)
    # The other rows are untouched and the changed ones really changed.
    np.testing.assert_allclose(unseen[3:], expected[3:], rtol=1e-6)
    assert not np.allclose(unseen[rows], expected[rows])


def test_unseen_category_of_another_type_is_out_of_vocabulary(fitted, funnel3):
    X, _ = funnel3
    np.testing.assert_array_equal(
        fitted.predict_proba(_with_channel(X, [5], 42)),
        fitted.predict_proba(_with_channel(X, [5], None)),
    )


def test_missing_value_in_category_column_at_fit_is_out_of_vocabulary(
    cls, funnel3, small
):
    X, y = funnel3
    X = _with_channel(X, slice(0, 100), np.nan)
    est = cls(**small).fit(X, y)

    assert [len(c) for c in est._encoder.categories_] == [4, 3]
    proba = est.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_array_equal(
        proba[:100], est.predict_proba(_with_channel(X, slice(0, 100), "tv"))[:100]
    )


def test_mixed_type_object_column_is_categorical(cls, funnel3, small):
    # Documented: "auto" embeds object columns, whatever types they hold.
    assert _documented(cls, "takes pandas ``category``, object and string columns")
    X, y = funnel3
    values = np.array(["a", 1, 2.5, None, "b", 7], dtype=object)
    mixed = pd.Series(values[np.arange(len(X)) % len(values)], dtype=object)
    X = X.assign(mixed=mixed)
    est = cls(**small).fit(X, y)

    assert list(X.columns).index("mixed") in est._encoder.categorical_columns_
    assert sorted(map(str, est._encoder.categories_[-1])) == ["1", "2.5", "7", "a", "b"]
    assert np.isfinite(est.predict_proba(X)).all()
    # A value of yet another type, unseen in fit, is predicted like a missing one.
    np.testing.assert_array_equal(
        est.predict_proba(X.assign(mixed=mixed.where(X.index != 0, 7.25)))[0],
        est.predict_proba(X.assign(mixed=mixed.where(X.index != 0, None)))[0],
    )


def test_extra_column_at_predict_is_named(fitted, funnel3):
    X, _ = funnel3
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- bonus"):
        fitted.predict_proba(X.assign(bonus=1.0))


def test_missing_column_at_predict_is_named(fitted, funnel3):
    X, _ = funnel3
    with pytest.raises(ValueError, match="seen at fit time, yet now missing:\n- age"):
        fitted.predict_proba(X.drop(columns="age"))


def test_reordered_columns_at_predict_are_refused(fitted, funnel3):
    X, _ = funnel3
    with pytest.raises(ValueError, match="must be in the same order"):
        fitted.predict_proba(X[X.columns[::-1]])


def test_wrong_number_of_features(fitted, funnel3):
    X, _ = funnel3
    name = type(fitted).__name__
    with warnings.catch_warnings():
        # An array has no column names; scikit-learn warns about that first.
        warnings.filterwarnings("ignore", "X does not have valid feature names")
        with pytest.raises(
            ValueError, match=f"X has 4 features, but {name} is expecting 5"
        ):
            fitted.predict_proba(X.iloc[:, :4].to_numpy())


def test_one_dimensional_X_says_how_to_reshape(fitted, funnel3):
    X, y = funnel3
    with pytest.raises(ValueError, match=r"X must be 2-D.*Reshape your data"):
        fitted.predict_proba(X.iloc[0])
    with pytest.raises(ValueError, match=r"X must be 2-D.*Reshape your data"):
        type(fitted)().fit(X["age"].to_numpy(), y)


def test_X_and_y_of_different_lengths(cls, funnel3):
    X, y = funnel3
    with pytest.raises(
        ValueError, match=f"X has {len(X)} rows and y has {len(X) - 1}. Pass one row"
    ):
        cls().fit(X, y.iloc[:-1])


def test_empty_X(cls, funnel3):
    X, y = funnel3
    with pytest.raises(ValueError, match=r"n_samples = 0 .*fit needs at least 2"):
        cls().fit(X.iloc[:0], y.iloc[:0])
    with pytest.raises(ValueError, match=r"0 feature\(s\)"):
        cls().fit(X.iloc[:, :0], y)


def test_empty_X_at_predict(fitted, funnel3):
    X, _ = funnel3
    with pytest.raises(ValueError, match="n_samples = 0 .*prediction needs at least"):
        fitted.predict_proba(X.iloc[:0])


@pytest.mark.parametrize("make_sparse", [sp.csr_matrix, sp.csc_array])
def test_sparse_X_says_to_densify(fitted, funnel3, make_sparse):
    X, y = funnel3
    dense = X[["age", "price", "score"]].to_numpy()
    with pytest.raises(TypeError, match=r"Sparse X is not supported.*toarray\(\)"):
        type(fitted)().fit(make_sparse(dense), y)
    with pytest.raises(TypeError, match=r"Sparse X is not supported.*toarray\(\)"):
        fitted.predict_proba(make_sparse(np.zeros((2, 5))))


def test_single_row(fitted, funnel3):
    X, _ = funnel3
    expected = fitted.predict_proba(X.iloc[:20])
    for i in (0, 7, 19):
        row = fitted.predict_proba(X.iloc[[i]])
        assert row.shape == (1, 3)
        np.testing.assert_allclose(row[0], expected[i], rtol=1e-6)
        np.testing.assert_array_equal(fitted.predict(X.iloc[[i]]), row >= 0.5)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
def test_predicting_before_fit(cls, funnel3, method):
    X, y = funnel3
    args = (X, y) if method == "score" else (X,)
    with pytest.raises(NotFittedError, match=f"This {cls.__name__} instance is not"):
        getattr(cls(), method)(*args)


# -------------------------------------------------------------------- labels
@pytest.mark.parametrize(
    "labels, message",
    [
        ([0, 2], r"holds values other than 0 and 1 \(e.g. 2.0\)"),
        ([0, -1], r"holds values other than 0 and 1 \(e.g. -1.0\)"),
        ([0, 0.5], r"holds continuous values other than 0 and 1 \(e.g. 0.5\)"),
        ([0, np.inf], "holds infinite values"),
        ([0, np.nan], r"has \d+ missing values; every label must be 0 or 1"),
        (["no", "yes"], "has dtype object; labels must be numeric 0/1 .*convert"),
        (["0", "1"], "has dtype .*; labels must be numeric 0/1 .*convert"),
    ],
    ids=["two", "negative", "fraction", "inf", "nan", "yes-no", "digit-strings"],
)
def test_labels_that_are_not_0_1_name_the_stage(cls, funnel3, labels, message):
    X, y = funnel3
    conversion = pd.Series(labels[0], index=y.index, dtype=object)
    conversion[y["conversion"] == 1] = labels[1]
    if not isinstance(labels[1], str):
        conversion = conversion.astype(float)
    y = y.assign(conversion=conversion)
    with pytest.raises(ValueError, match=f"Stage 'conversion' of y {message}"):
        cls().fit(X, y)


@pytest.mark.parametrize("as_series", [False, True], ids=["frame", "series"])
def test_single_column_y(cls, funnel3, as_series):
    X, y = funnel3
    single = y["click"] if as_series else y[["click"]]
    with pytest.raises(ValueError, match="y has 1 stage column; a funnel needs at"):
        cls().fit(X, single)


def test_y_not_given(cls, funnel3):
    X, _ = funnel3
    with pytest.raises(ValueError, match="requires y to be passed.*one 0/1 column"):
        cls().fit(X, None)


def test_sparse_y(cls, funnel3):
    X, y = funnel3
    with pytest.raises(TypeError, match="y is a sparse matrix; pass a dense"):
        cls().fit(X, sp.csr_matrix(y.to_numpy()))


@pytest.mark.parametrize(
    "stage, value, kind",
    [("core_conversion", 0, "no positive"), ("click", 1, "no negative")],
)
def test_stage_with_a_single_class_warns_and_scores_nan(
    cls, funnel3, small, stage, value, kind
):
    X, y = funnel3
    y = y.assign(**{stage: value})
    est = cls(**{**small, "max_epochs": 2, "early_stopping": True})
    with pytest.warns(DegenerateStageWarning, match=f"Stage '{stage}' has {kind}"):
        est.fit(X, y)

    proba = est.predict_proba(X)
    assert np.isfinite(proba).all()
    t = list(y.columns).index(stage)
    aucs = stage_roc_auc(y, proba)
    assert np.isnan(aucs[t])
    assert np.isfinite(np.delete(aucs, t)).all()
    assert est.score(X, y) == pytest.approx(np.mean(np.delete(aucs, t)))
    assert all(np.isnan(est.history_[:, f"valid_auc_{stage}"]))
    assert np.isfinite(est.history_[:, "valid_auc"]).all()
    assert np.isfinite(est.history_[:, "train_loss"]).all()


@pytest.mark.parametrize("coded", [False, True], ids=["0-1", "strings"])
def test_label_left_among_the_features_warns(cls, funnel3, small, coded):
    X, y = funnel3
    leaked = y["conversion"].map({0: "no", 1: "yes"}) if coded else y["conversion"]
    with pytest.warns(
        LabelLeakageWarning,
        match="Feature column 'bought' equals the label of stage 'conversion'.*Drop",
    ) as record:
        cls(**small).fit(X.assign(bought=leaked), y)
    assert len(record) == 1


# ----------------------------------------------------------- hyperparameters
@pytest.mark.parametrize(
    "param, value",
    [
        ("lr", -1.0),
        ("batch_size", 0),
        ("max_epochs", 2.5),
        ("dropout", 1.0),
        ("embedding_dim", 0),
        ("min_frequency", 0),
        ("cascade", "loose"),
        ("validation_fraction", 1.5),
        ("device", 3),
    ],
)
def test_invalid_hyperparameter_is_named(cls, funnel3, param, value):
    X, y = funnel3
    match = (
        rf"The '{param}' parameter of {cls.__name__} must be .* "
        rf"Got {re.escape(repr(value))} instead"
    )
    with pytest.raises(InvalidParameterError, match=match):
        cls(**{param: value}).fit(X, y)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"hidden_units": (8, 0)}, r"hidden_units must be a non-empty .*\(8, 0\)"),
        ({"stage_weights": [1.0, 1.0]}, r"stage_weights must hold 3 .*\[1.0, 1.0\]"),
        ({"categorical_features": ["colour"]}, "names column 'colour', which is not"),
    ],
)
def test_invalid_hyperparameter_value_for_this_data_is_named(
    cls, funnel3, params, message
):
    X, y = funnel3
    with pytest.raises(ValueError, match=message):
        cls(**params).fit(X, y)


# ------------------------------------------- found by the second adversarial pass
@pytest.mark.parametrize(
    "make_column",
    [
        lambda n: pd.date_range("2024-01-01", periods=n, freq="h"),
        lambda n: pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
        lambda n: pd.to_timedelta(np.arange(n), unit="s"),
    ],
    ids=["datetime", "datetime-tz", "timedelta"],
)
def test_date_or_duration_column_is_refused_not_read_as_integers(
    cls, funnel3, small, make_column
):
    # Their integers count ns or us, whichever pandas picked: the same times
    # could otherwise give numbers 1,000 times apart.
    X, y = funnel3
    with pytest.raises(ValueError, match=r"\['seen'\] hold dates or durations"):
        cls(**small).fit(X.assign(seen=make_column(len(X))), y)


def test_date_column_listed_as_categorical_is_embedded(funnel3, small):
    X, y = funnel3
    X = X.assign(day=pd.date_range("2024-01-01", periods=len(X), freq="D").floor("7D"))
    categorical = [c for c in X.columns if not pd.api.types.is_float_dtype(X[c])]
    est = sk_pimm.PIMMClassifier(categorical_features=categorical, **small).fit(X, y)
    assert np.isfinite(est.predict_proba(X)).all()
    assert len(est._encoder.categories_[categorical.index("day")]) > 1


def test_duplicate_column_names_are_named(cls, funnel3, small):
    X, y = funnel3
    X = X.set_axis([X.columns[0]] * 2 + list(X.columns[2:]), axis=1)
    with pytest.raises(
        ValueError, match=rf"duplicate column names \['{X.columns[0]}'\]"
    ):
        cls(**small).fit(X, y)


@pytest.mark.parametrize("weights", [["1", "2", "3"], [True, True, True]])
def test_stage_weights_that_are_not_numbers_are_refused(funnel3, small, weights):
    X, y = funnel3
    with pytest.raises(ValueError, match="stage_weights must hold 3 finite"):
        sk_pimm.PIMMClassifier(stage_weights=weights, **small).fit(X, y)


@pytest.mark.parametrize("n_threads", [0, -1, 1.5, True])
def test_bad_n_threads_set_after_fit_is_named_at_predict(fitted, funnel3, n_threads):
    X, _ = funnel3
    est = sk_pimm.PIMMClassifier()
    est.__dict__.update(fitted.__dict__)  # a copy whose parameters can change
    est.set_params(n_threads=n_threads)
    with pytest.raises(ValueError, match="n_threads must be None or a positive"):
        est.predict_proba(X)


def test_object_labels_holding_0_1_are_labels(funnel3, small):
    X, y = funnel3
    as_int = sk_pimm.ESMMClassifier(**small).fit(X, y)
    as_object = sk_pimm.ESMMClassifier(**small).fit(X, y.astype(object))
    np.testing.assert_array_equal(as_object.predict_proba(X), as_int.predict_proba(X))


def test_tiny_data_is_not_checked_for_leakage(funnel3, small):
    # In 6 rows a two-valued column matches a stage by chance too often for
    # the match to say anything: here one equals the click label.
    X, y = funnel3
    rows = np.r_[
        np.flatnonzero(y["click"] == 1)[:3], np.flatnonzero(y["click"] == 0)[:3]
    ]
    X, y = X.iloc[rows], y.iloc[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("error", LabelLeakageWarning)
        warnings.simplefilter("ignore", DegenerateStageWarning)
        sk_pimm.PIMMClassifier(**{**small, "batch_size": 4}).fit(
            X.assign(flag=y["click"].to_numpy()), y
        )


@pytest.mark.parametrize(
    "split, advice",
    [("last", "validation_split='random'"), ("random", "pass more rows")],
)
def test_early_stopping_advice_fits_the_split(funnel3, small, split, advice):
    X, y = funnel3
    est = sk_pimm.PIMMClassifier(
        **small, early_stopping=True, validation_split=split, validation_fraction=0.01
    )
    with pytest.raises(ValueError, match=re.escape(advice)):
        est.fit(X, y * 0)
