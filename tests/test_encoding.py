"""Tests of the encoder that turns tabular X into codes and standardised floats."""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sk_pimm._encoding import EncodedFeatures, TabularEncoder


@pytest.fixture
def frame(rng):
    n = 60
    return pd.DataFrame(
        {
            "x": rng.normal(3.0, 2.0, n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "count": rng.integers(0, 10, n),
            "city": rng.choice(np.array(["a", "b", "c", "d"], dtype=object), n),
            "name": pd.array(rng.choice(["p", "q"], n), dtype="string"),
        }
    )


def expected_codes(column, categories):
    """Code 1 + position in ``categories``; 0 for anything else."""
    lookup = {value: k + 1 for k, value in enumerate(categories)}
    return np.array([lookup.get(value, 0) for value in column], dtype=np.int64)


def test_auto_picks_category_object_and_string(frame):
    encoder = TabularEncoder()
    features = encoder.fit_transform(frame)
    assert isinstance(features, EncodedFeatures)
    assert encoder.categorical_columns_ == [1, 3, 4]
    assert encoder.numeric_columns_ == [0, 2]
    assert features.categorical.shape == (60, 3)
    assert features.categorical.dtype == np.int32
    assert features.numeric.shape == (60, 2)
    assert features.numeric.dtype == np.float32
    assert len(features) == 60
    for k, name in enumerate(["colour", "city", "name"]):
        categories = list(encoder.categories_[k])
        assert sorted(categories) == sorted(frame[name].unique())
        np.testing.assert_array_equal(
            features.categorical[:, k], expected_codes(frame[name], categories)
        )
    assert encoder.cardinalities == [4, 5, 3]


@pytest.mark.parametrize(
    "spec",
    [
        ["count", "city"],
        [2, 3],
        [-3, -2],
        np.array([False, False, True, True, False]),
    ],
    ids=["names", "indices", "negative-indices", "mask"],
)
def test_explicit_specs_select_the_same_columns(frame, spec):
    X = pd.DataFrame(
        {
            "x": frame["x"],
            "y": -frame["x"],
            "count": frame["count"],
            "city": frame["city"],
            "z": frame["x"] ** 2,
        }
    )
    encoder = TabularEncoder(categorical_features=spec)
    features = encoder.fit_transform(X)
    assert encoder.categorical_columns_ == [2, 3]
    assert encoder.numeric_columns_ == [0, 1, 4]
    np.testing.assert_array_equal(
        features.categorical[:, 0],
        expected_codes(frame["count"], list(encoder.categories_[0])),
    )


def test_integer_column_listed_as_categorical_gets_codes(frame):
    encoder = TabularEncoder(categorical_features=["count", "colour", "city", "name"])
    features = encoder.fit_transform(frame)
    assert encoder.numeric_columns_ == [0]
    assert encoder.categorical_columns_ == [1, 2, 3, 4]
    counts = list(encoder.categories_[1])
    assert sorted(counts) == sorted(frame["count"].unique())
    np.testing.assert_array_equal(
        features.categorical[:, 1], expected_codes(frame["count"], counts)
    )


def test_unknown_column_name(frame):
    encoder = TabularEncoder(categorical_features=["city", "country"])
    with pytest.raises(ValueError, match="names column 'country', which is not in X"):
        encoder.fit_transform(frame)


@pytest.mark.parametrize("index", [5, -6])
def test_out_of_range_index(frame, index):
    encoder = TabularEncoder(categorical_features=[1, index])
    with pytest.raises(
        ValueError, match=rf"holds the index {index}, outside \[-5, 5\)"
    ):
        encoder.fit_transform(frame)


def test_names_and_indices_can_be_mixed(frame):
    names = ["colour", "city", "name"]
    by_name = TabularEncoder(categorical_features=names).fit_transform(frame)
    mixed_columns = TabularEncoder(categorical_features=[1, "city", 4])
    np.testing.assert_array_equal(
        mixed_columns.fit_transform(frame).categorical, by_name.categorical
    )


def test_category_order_does_not_change_the_codes():
    X = pd.DataFrame({"c": pd.Categorical(["a", "b", "c", "a"])})
    encoder = TabularEncoder()
    codes = encoder.fit_transform(X).categorical
    reordered = X.assign(c=X["c"].cat.reorder_categories(["c", "b", "a"]))
    np.testing.assert_array_equal(encoder.transform(reordered).categorical, codes)
    np.testing.assert_array_equal(encoder.transform(X).categorical, codes)


def test_codes_depend_on_the_input_only_not_on_earlier_calls():
    # pandas calls the categories [0, 1] and [False, True] equal; a lookup
    # cached for one must not serve the other.
    flags = pd.Series([True, False, True, True])
    as_bool = pd.DataFrame({"flag": pd.Categorical(flags)})
    as_int = pd.DataFrame({"flag": pd.Categorical(flags.astype(int))})
    encoder = TabularEncoder()
    codes = encoder.fit_transform(as_bool).categorical
    fresh = pickle.loads(pickle.dumps(encoder))  # starts with an empty cache
    for first, second in [(as_bool, as_int), (as_int, as_bool)]:
        for enc in (encoder, fresh):
            enc.transform(first)
            np.testing.assert_array_equal(
                enc.transform(second).categorical,
                pickle.loads(pickle.dumps(encoder)).transform(second).categorical,
            )
    np.testing.assert_array_equal(encoder.transform(as_bool).categorical, codes)
    assert (encoder.transform(as_int).categorical == 0).all()  # not the same values


def test_tuple_categories_survive_pickling():
    X = pd.DataFrame({"path": pd.Series([("a",), ("a", "b"), ("a", "b", "c")] * 2)})
    encoder = TabularEncoder()
    codes = encoder.fit_transform(X).categorical
    loaded = pickle.loads(pickle.dumps(encoder))
    np.testing.assert_array_equal(loaded.transform(X).categorical, codes)
    unseen = pd.DataFrame({"path": pd.Series([("z", "z", "z", "z")])})
    assert loaded.transform(unseen).categorical.tolist() == [[0]]


def test_unhashable_categories_are_named():
    X = pd.DataFrame({"tags": [[1], [2], [1]], "n": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="'tags' holds values that cannot be hashed"):
        TabularEncoder().fit_transform(X)


def test_numbers_too_large_to_standardise_are_named():
    X = pd.DataFrame({"big": [1.7e308, 1.7e308, 1.0], "n": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"\['big'\] are too large"):
        TabularEncoder().fit_transform(X)
    encoder = TabularEncoder()
    encoder.fit_transform(pd.DataFrame({"big": [1.0, 2.0, 3.0], "n": [1.0, 2, 3]}))
    with pytest.raises(ValueError, match=r"\['big'\] hold values too far"):
        encoder.transform(pd.DataFrame({"big": [1e300], "n": [1.0]}))


def test_wrong_length_mask(frame):
    encoder = TabularEncoder(categorical_features=[True, False])
    with pytest.raises(ValueError, match="boolean mask of length 2, but X has 5"):
        encoder.fit_transform(frame)


def test_unseen_and_missing_categories_get_code_zero():
    train = pd.DataFrame({"c": ["a", "b", "b", "c"], "x": [1.0, 2.0, 3.0, 4.0]})
    encoder = TabularEncoder()
    encoder.fit_transform(train)
    categories = list(encoder.categories_[0])
    test = pd.DataFrame({"c": ["b", "zzz", None, np.nan, "a"], "x": [0.0] * 5})
    codes = encoder.transform(test).categorical[:, 0]
    assert codes[1] == codes[2] == codes[3] == 0
    assert codes[0] == categories.index("b") + 1
    assert codes[4] == categories.index("a") + 1
    assert set(codes[[0, 4]]) <= {1, 2, 3}


def test_missing_category_at_fit_is_not_a_category():
    train = pd.DataFrame({"c": ["a", None, "b", np.nan]})
    encoder = TabularEncoder()
    codes = encoder.fit_transform(train).categorical[:, 0]
    assert encoder.cardinalities == [3]
    assert codes[1] == codes[3] == 0
    assert codes[0] != 0 and codes[2] != 0


def test_category_dtype_transform_maps_by_value():
    # Same values, different category order in the transform frame.
    train = pd.DataFrame({"c": pd.Categorical(["x", "y", "y", "z"])})
    test = pd.DataFrame(
        {"c": pd.Categorical(["z", "y", "w"], categories=["z", "w", "y", "x"])}
    )
    encoder = TabularEncoder()
    encoder.fit_transform(train)
    categories = list(encoder.categories_[0])
    codes = encoder.transform(test).categorical[:, 0]
    np.testing.assert_array_equal(codes, expected_codes(["z", "y", "w"], categories))


def test_min_frequency_sends_rare_categories_to_zero():
    column = ["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"]
    encoder = TabularEncoder(min_frequency=3)
    codes = encoder.fit_transform(pd.DataFrame({"c": column})).categorical[:, 0]
    assert sorted(encoder.categories_[0]) == ["a", "b"]
    assert encoder.cardinalities == [3]
    np.testing.assert_array_equal(codes[8:], 0)
    assert set(codes[:5]) == {list(encoder.categories_[0]).index("a") + 1}
    assert set(codes[5:8]) == {list(encoder.categories_[0]).index("b") + 1}


def test_numeric_standardisation(rng):
    train = pd.DataFrame(
        {
            "x": rng.normal(10.0, 4.0, 100),
            "flat": np.full(100, 7.5),
            "n": rng.integers(-5, 5, 100),
        }
    )
    encoder = TabularEncoder()
    numeric = encoder.fit_transform(train).numeric.astype(np.float64)
    np.testing.assert_allclose(numeric.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(numeric[:, [0, 2]].std(axis=0), 1.0, rtol=1e-5)
    # a constant column is centred, not divided by 0
    np.testing.assert_array_equal(numeric[:, 1], 0.0)
    assert np.isfinite(numeric).all()

    test = pd.DataFrame({"x": [10.0, 0.0], "flat": [8.5, 7.5], "n": [1, 2]})
    reference = (test.to_numpy(float) - train.mean().to_numpy()) / np.where(
        train.std(ddof=0).to_numpy() > 0, train.std(ddof=0).to_numpy(), 1.0
    )
    np.testing.assert_allclose(encoder.transform(test).numeric, reference, rtol=1e-6)
    np.testing.assert_allclose(encoder.transform(test).numeric[:, 1], [1.0, 0.0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_numeric_names_the_column(bad):
    X = pd.DataFrame({"ok": [1.0, 2.0, 3.0], "age": [1.0, bad, 3.0]})
    with pytest.raises(ValueError, match=r"Numeric columns \['age'\] hold NaN"):
        TabularEncoder().fit_transform(X)


def test_non_finite_numeric_at_transform_names_the_column():
    encoder = TabularEncoder()
    encoder.fit_transform(pd.DataFrame({"age": [1.0, 2.0], "c": ["a", "b"]}))
    with pytest.raises(ValueError, match=r"Numeric columns \['age'\] hold NaN"):
        encoder.transform(pd.DataFrame({"age": [np.nan, 2.0], "c": ["a", "b"]}))


def test_nullable_integer_with_missing_value_names_the_column():
    X = pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")})
    with pytest.raises(ValueError, match=r"Numeric columns \['n'\]"):
        TabularEncoder().fit_transform(X)


def test_string_column_forced_numeric_names_it():
    X = pd.DataFrame({"x": [1.0, 2.0], "city": ["paris", "rome"]})
    encoder = TabularEncoder(categorical_features=np.array([False, False]))
    with pytest.raises(ValueError, match="Column 'city' is treated as numeric"):
        encoder.fit_transform(X)


@pytest.mark.parametrize("make", [sp.csr_matrix, sp.csc_array])
def test_sparse_X_is_rejected(make):
    with pytest.raises(TypeError, match="Sparse X is not supported"):
        TabularEncoder().fit_transform(make(np.eye(3)))


def test_X_must_be_2d():
    with pytest.raises(ValueError, match=r"X must be 2-D .*shape \(3,\)"):
        TabularEncoder().fit_transform(np.arange(3.0))


def test_float_array_is_all_numeric(rng):
    X = rng.normal(size=(30, 3))
    encoder = TabularEncoder()
    features = encoder.fit_transform(X)
    assert features.categorical.shape == (30, 0)
    assert encoder.cardinalities == []
    reference = (X - X.mean(axis=0)) / X.std(axis=0)
    np.testing.assert_allclose(features.numeric, reference, rtol=1e-5, atol=1e-6)


def test_object_array_splits_strings_from_numbers():
    X = np.array([[1.5, "a", 2], [2.5, "b", 4], [3.5, "a", 6]], dtype=object)
    encoder = TabularEncoder()
    features = encoder.fit_transform(X)
    assert encoder.categorical_columns_ == [1]
    assert encoder.numeric_columns_ == [0, 2]
    categories = list(encoder.categories_[0])
    np.testing.assert_array_equal(
        features.categorical[:, 0], expected_codes(["a", "b", "a"], categories)
    )
    reference = np.array([[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]]) * np.sqrt(1.5)
    np.testing.assert_allclose(features.numeric, reference, rtol=1e-6)
    # numpy names the columns 0, 1, ...: index and name specs agree
    by_name = TabularEncoder(categorical_features=["1"]).fit_transform(X)
    np.testing.assert_array_equal(by_name.categorical, features.categorical)
