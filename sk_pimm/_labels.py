"""Validation of funnel labels: 0/1, at least two stages, nested."""

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sk_pimm.exceptions import CascadeWarning, LabelLeakageWarning

CASCADE_MODES = ("strict", "clip")


def check_cascade_labels(y, *, cascade="strict", stacklevel=1):
    """Validate a funnel label matrix and return it as an int array.

    Parameters
    ----------
    y : array-like of shape (n_samples, n_stages)
        One 0/1 column per funnel stage, in funnel order.
    cascade : {"strict", "clip"}, default="strict"
        What to do with rows where a stage is reached but an earlier one is
        not. ``"strict"`` raises; ``"clip"`` counts a stage as reached only if
        every earlier stage is, and warns with the counts.
    stacklevel : int, default=1
        Where the warning of ``"clip"`` points, counted from the caller of this
        function: 1 is the caller itself, 2 the caller's caller, and so on.

    Returns
    -------
    y : ndarray of shape (n_samples, n_stages), dtype int64
        Nested labels.
    stage_names : list of str
        Column names of ``y`` when it is a DataFrame, else ``"stage_0"``, ...
    """
    if sp.issparse(y):
        raise TypeError("y is a sparse matrix; pass a dense array or DataFrame.")
    if isinstance(y, pd.DataFrame):
        stage_names = [str(c) for c in y.columns]
    elif isinstance(y, pd.Series):
        stage_names = [str(y.name)]
    else:
        stage_names = None
    values = _as_binary_matrix(y, stage_names)
    n_stages = values.shape[1]
    if stage_names is None:
        stage_names = [f"stage_{t}" for t in range(n_stages)]
    if n_stages < 2:
        raise ValueError(
            f"y has {n_stages} stage column; a funnel needs at least 2 "
            "(one 0/1 column per stage, in funnel order). For a single stage "
            "use an ordinary binary classifier."
        )
    if len(set(stage_names)) != n_stages:
        raise ValueError(f"y has duplicate stage names: {stage_names}.")

    broken = (values[:, 1:] == 1) & (values[:, :-1] == 0)
    counts = broken.sum(axis=0)
    if counts.any():
        details = "; ".join(
            f"{n} rows have {stage_names[t + 1]}=1 but {stage_names[t]}=0"
            for t, n in enumerate(counts)
            if n
        )
        if cascade == "strict":
            raise ValueError(
                f"y is not nested: {details}. A stage can be reached only if "
                "the one before it was. Fix the labels, or pass cascade='clip' "
                "to count a stage only when every earlier stage is reached."
            )
        clipped = np.cumprod(values, axis=1)
        n_changed = int((clipped != values).any(axis=1).sum())
        warnings.warn(
            f"cascade='clip' changed {n_changed} rows to make y nested ({details}).",
            CascadeWarning,
            stacklevel=stacklevel + 1,
        )
        values = clipped
    return values, stage_names


def _as_binary_matrix(y, stage_names):
    """Return ``y`` as a 2-D int64 array of 0/1, or raise naming the stage."""
    frame = y if isinstance(y, pd.DataFrame) else pd.DataFrame(np.asarray(y))
    if frame.ndim != 2 or frame.shape[1] == 0:
        raise ValueError("y must be 2-D: one 0/1 column per funnel stage.")
    names = stage_names or [f"stage_{t}" for t in range(frame.shape[1])]
    columns = []
    for name, (_, column) in zip(names, frame.items(), strict=True):
        if column.isna().any():
            raise ValueError(
                f"Stage {name!r} of y has {int(column.isna().sum())} missing "
                "values; every label must be 0 or 1."
            )
        dtype = column.dtype
        if pd.api.types.is_object_dtype(column):
            column = column.infer_objects()  # 0/1 held as Python objects
        if not (
            pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
        ):
            raise ValueError(
                f"Stage {name!r} of y has dtype {dtype}; labels must be "
                "numeric 0/1 (convert strings such as 'yes'/'no' first)."
            )
        array = column.to_numpy(dtype=float)
        if not np.isfinite(array).all():
            raise ValueError(
                f"Stage {name!r} of y holds infinite values; every label must be "
                "0 or 1."
            )
        bad = ~np.isin(array, (0.0, 1.0))
        if bad.any():
            examples = ", ".join(map(str, np.unique(array[bad])[:3]))
            kind = "continuous values" if (array % 1 != 0).any() else "values"
            raise ValueError(
                f"Stage {name!r} of y holds {kind} other than 0 and 1 "
                f"(e.g. {examples}); labels must be 0/1."
            )
        columns.append(array.astype(np.int64))
    return np.column_stack(columns)


#: Below this many rows, equality of a column and a stage is not evidence.
LEAKAGE_MIN_ROWS = 30


def warn_label_leakage(frame, labels, stage_names, *, stacklevel=1):
    """Warn about feature columns that equal a stage's label.

    A label left among the features makes every score too good to be true.
    A column counts as equal to a stage when its values are the stage's 0/1
    labels, or when it has two distinct values that split the rows exactly
    as the labels do. Stages with a single class are not checked, nor are
    fewer than ``LEAKAGE_MIN_ROWS`` rows, where a two-valued column often
    matches a stage by chance.

    Parameters
    ----------
    frame : DataFrame of shape (n_samples, n_features)
        The features.
    labels : ndarray of shape (n_samples, n_stages)
        The 0/1 labels.
    stage_names : list of str
        Names of the stages.
    stacklevel : int, default=1
        Where the warning points, counted from the caller of this function.
    """
    informative = [
        t for t in range(labels.shape[1]) if 0 < labels[:, t].sum() < len(labels)
    ]
    if not informative or len(labels) < LEAKAGE_MIN_ROWS:
        return
    for name, column in frame.items():
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        if len(uniques) != 2:
            continue
        for t in informative:
            label = labels[:, t]
            if np.array_equal(codes, label) or np.array_equal(codes, 1 - label):
                warnings.warn(
                    f"Feature column {name!r} equals the label of stage "
                    f"{stage_names[t]!r}: the model can read the answer from it, "
                    "so its scores would be too good to be true. Drop it from X.",
                    LabelLeakageWarning,
                    stacklevel=stacklevel + 1,
                )
