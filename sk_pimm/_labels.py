"""Validation of funnel labels: 0/1, at least two stages, nested."""

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sk_pimm.exceptions import CascadeWarning

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
    frame = pd.DataFrame(y) if not isinstance(y, pd.DataFrame) else y
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
        if not (
            pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
        ):
            raise ValueError(
                f"Stage {name!r} of y has dtype {column.dtype}; labels must be "
                "numeric 0/1 (convert strings such as 'yes'/'no' first)."
            )
        array = column.to_numpy(dtype=float)
        bad = ~np.isin(array, (0.0, 1.0))
        if bad.any():
            examples = ", ".join(map(str, np.unique(array[bad])[:3]))
            raise ValueError(
                f"Stage {name!r} of y holds values other than 0 and 1 "
                f"(e.g. {examples}); labels must be 0/1."
            )
        columns.append(array.astype(np.int64))
    return np.column_stack(columns)
