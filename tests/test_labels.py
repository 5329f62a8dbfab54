"""Tests of the funnel label validation."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sk_pimm._labels import check_cascade_labels
from sk_pimm.exceptions import CascadeWarning


@pytest.fixture
def nested(rng):
    """A nested 3-stage funnel: each stage reached with prob 0.5 given the last."""
    steps = rng.random((200, 3)) < 0.5
    return np.cumprod(steps, axis=1).astype(np.int64)


def test_nested_dataframe_keeps_stage_names(nested):
    frame = pd.DataFrame(nested, columns=["click", "view", "like"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values, names = check_cascade_labels(frame)
    assert names == ["click", "view", "like"]
    assert values.dtype == np.int64
    np.testing.assert_array_equal(values, nested)


def test_nested_ndarray_gets_numbered_names(nested):
    values, names = check_cascade_labels(nested.astype(float))
    assert names == ["stage_0", "stage_1", "stage_2"]
    assert values.dtype == np.int64
    np.testing.assert_array_equal(values, nested)


def test_non_string_column_names_become_strings(nested):
    values, names = check_cascade_labels(pd.DataFrame(nested, columns=[10, 20, 30]))
    assert names == ["10", "20", "30"]


def test_bool_dtype_is_accepted(nested):
    frame = pd.DataFrame(nested.astype(bool), columns=["a", "b", "c"])
    values, names = check_cascade_labels(frame)
    np.testing.assert_array_equal(values, nested)
    values, _ = check_cascade_labels(nested.astype(bool))
    np.testing.assert_array_equal(values, nested)
    assert values.dtype == np.int64


def test_strict_names_count_and_stages():
    y = pd.DataFrame(
        {
            "a": [1, 0, 0, 0, 1, 0],
            "b": [1, 1, 1, 1, 0, 0],
            "c": [0, 0, 1, 0, 1, 1],
        }
    )
    # (b=1, a=0): rows 1, 2, 3; (c=1, b=0): rows 4, 5.
    with pytest.raises(ValueError, match="y is not nested") as info:
        check_cascade_labels(y)
    message = str(info.value)
    assert "3 rows have b=1 but a=0" in message
    assert "2 rows have c=1 but b=0" in message
    assert "cascade='clip'" in message


def test_strict_message_omits_pairs_without_violations():
    y = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 1]])
    with pytest.raises(ValueError, match="1 rows have stage_2=1 but stage_1=0") as e:
        check_cascade_labels(y)
    assert "stage_1=1 but stage_0=0" not in str(e.value)


def test_clip_takes_cumprod_and_warns_with_counts(rng, nested):
    y = nested.copy()
    broken = rng.random(y.shape) < 0.2
    y[broken] = 1
    expected = np.cumprod(y, axis=1)
    n_changed = int((expected != y).any(axis=1).sum())
    n_b = int(((y[:, 1] == 1) & (y[:, 0] == 0)).sum())
    n_c = int(((y[:, 2] == 1) & (y[:, 1] == 0)).sum())
    assert n_changed > 0 and n_b > 0 and n_c > 0

    with pytest.warns(CascadeWarning) as record:
        values, names = check_cascade_labels(y, cascade="clip")
    np.testing.assert_array_equal(values, expected)
    assert len(record) == 1
    message = str(record[0].message)
    assert f"changed {n_changed} rows" in message
    assert f"{n_b} rows have stage_1=1 but stage_0=0" in message
    assert f"{n_c} rows have stage_2=1 but stage_1=0" in message
    # the caller's array is left alone
    assert not np.array_equal(y, expected)


def test_clip_on_nested_labels_is_silent(nested):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values, _ = check_cascade_labels(nested, cascade="clip")
    np.testing.assert_array_equal(values, nested)


def test_clip_counts_a_row_once_even_with_two_breaks():
    y = np.array([[0, 1, 0, 1], [1, 1, 1, 1]])
    with pytest.warns(CascadeWarning, match="changed 1 rows"):
        values, _ = check_cascade_labels(y, cascade="clip")
    np.testing.assert_array_equal(values, [[0, 0, 0, 0], [1, 1, 1, 1]])


@pytest.mark.parametrize("bad", [2, -1])
def test_values_other_than_0_and_1(bad):
    y = pd.DataFrame({"a": [1, 1, 0], "b": [0, bad, 0]})
    with pytest.raises(
        ValueError, match=rf"Stage 'b' .*other than 0 and 1 \(e\.g\. {bad}(\.0)?\)"
    ):
        check_cascade_labels(y)


def test_fractional_labels():
    y = np.array([[1.0, 0.5], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"Stage 'stage_1' .*\(e\.g\. 0\.5\)"):
        check_cascade_labels(y)


def test_string_labels():
    y = pd.DataFrame({"a": ["yes", "no"], "b": [0, 0]})
    with pytest.raises(ValueError, match=r"Stage 'a' of y has dtype .*numeric 0/1"):
        check_cascade_labels(y)


def test_missing_labels_are_counted():
    y = pd.DataFrame({"a": [1.0, 1.0, 0.0], "b": [np.nan, 0.0, np.nan]})
    with pytest.raises(ValueError, match="Stage 'b' of y has 2 missing values"):
        check_cascade_labels(y)
    nullable = pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": [0, 0]})
    with pytest.raises(ValueError, match="Stage 'a' of y has 1 missing values"):
        check_cascade_labels(nullable)


@pytest.mark.parametrize(
    "y",
    [
        np.array([[0], [1]]),
        np.array([0, 1, 1]),
        pd.DataFrame({"click": [0, 1]}),
        pd.Series([0, 1], name="click"),
    ],
    ids=["one-column", "1-D", "frame", "series"],
)
def test_single_stage_is_rejected(y):
    with pytest.raises(ValueError, match="y has 1 stage column; .*at least 2"):
        check_cascade_labels(y)


def test_sparse_y_is_rejected(nested):
    with pytest.raises(TypeError, match="y is a sparse matrix"):
        check_cascade_labels(sp.csr_matrix(nested))


def test_duplicate_stage_names():
    y = pd.DataFrame([[1, 0], [0, 0]], columns=["a", "a"])
    with pytest.raises(ValueError, match="duplicate stage names"):
        check_cascade_labels(y)
