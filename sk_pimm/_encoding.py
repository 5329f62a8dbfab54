"""Encoding of tabular X into the integer codes and floats the network reads."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass
class EncodedFeatures:
    """X as the network reads it.

    Attributes
    ----------
    categorical : ndarray of shape (n_samples, n_categorical), dtype int32
        Category codes; 0 is the out-of-vocabulary code. Row-major after
        :meth:`TabularEncoder.fit_transform`, where training gathers shuffled
        rows; a column-major view after :meth:`TabularEncoder.transform`,
        which fills fastest.
    numeric : ndarray of shape (n_samples, n_numeric), dtype float32
        Standardised numeric columns.
    """

    categorical: np.ndarray
    numeric: np.ndarray

    def __len__(self):
        return len(self.categorical)


@dataclass
class TabularEncoder:
    """Maps categorical columns to codes and standardises numeric columns.

    Parameters
    ----------
    categorical_features : "auto", list of str or int, or array-like of bool
        Which columns are categorical. ``"auto"`` picks pandas ``category``,
        object and string columns.
    min_frequency : int
        Categories seen fewer times than this in fit share the
        out-of-vocabulary code 0, as do missing values and categories first
        seen at predict time.
    """

    categorical_features: object = "auto"
    min_frequency: int = 1
    categorical_columns_: list = field(default_factory=list, init=False)
    numeric_columns_: list = field(default_factory=list, init=False)
    categories_: list = field(default_factory=list, init=False)
    mean_: np.ndarray = field(default=None, init=False)
    scale_: np.ndarray = field(default=None, init=False)
    _lookups: dict = field(default_factory=dict, init=False, repr=False)

    def fit_transform(self, X):
        """Learn vocabularies and scales from ``X`` and encode it."""
        frame = as_frame(X)
        is_categorical = self._categorical_mask(frame)
        self.categorical_columns_ = np.flatnonzero(is_categorical).tolist()
        self.numeric_columns_ = np.flatnonzero(~is_categorical).tolist()
        self.categories_ = []
        self._lookups = {}
        for j in self.categorical_columns_:
            column = frame.iloc[:, j]
            try:
                counts = column.value_counts(dropna=True)
            except TypeError as exc:
                raise _unhashable(column) from exc
            frequent = counts.index[counts.to_numpy() >= self.min_frequency]
            self.categories_.append(pd.Index(frequent.to_numpy()))
        numeric = self._numeric_values(frame)
        with np.errstate(over="ignore", invalid="ignore"):
            self.mean_ = numeric.mean(axis=0) if len(numeric) else np.zeros(0)
            scale = numeric.std(axis=0) if len(numeric) else np.ones(0)
        # A constant column's computed spread is rounding error, not zero: at
        # most about n * eps * |mean| (the bound scikit-learn's scalers use).
        rounding = len(numeric) * np.finfo(np.float64).eps * np.abs(self.mean_)
        self.scale_ = np.where(scale > rounding, scale, 1.0)
        overflow = ~(np.isfinite(self.mean_) & np.isfinite(self.scale_))
        if overflow.any():
            raise ValueError(
                f"Numeric columns {self._numeric_names(frame, overflow)} are too "
                "large to standardise (their mean or spread overflows); rescale "
                "them, e.g. with a logarithm."
            )
        return self._encode(frame, numeric, row_major=True)

    def transform(self, X):
        """Encode ``X`` with what :meth:`fit_transform` learnt."""
        frame = as_frame(X)
        return self._encode(frame, self._numeric_values(frame))

    def __getstate__(self):
        # Categories travel as plain lists, which skops loads as data.
        state = dict(self.__dict__)
        state["categories_"] = [categories.tolist() for categories in self.categories_]
        del state["_lookups"]  # a cache, rebuilt on first use
        return state

    def __setstate__(self, state):
        state = dict(state)
        # tupleize_cols=False: tuple categories stay tuples, not a MultiIndex.
        state["categories_"] = [
            pd.Index(values, tupleize_cols=False) for values in state["categories_"]
        ]
        self.__dict__.update(state, _lookups={})

    @property
    def cardinalities(self):
        """Number of embedding rows per categorical column (with the OOV row)."""
        return [len(categories) + 1 for categories in self.categories_]

    def _encode(self, frame, numeric, row_major=False):
        # int32 codes take half the memory of int64. Filling one contiguous
        # row per column is fastest, and its transpose is a view of the
        # (n_samples, n_categorical) shape; training wants row-major codes,
        # which are filled in place rather than copied afterwards.
        shape = (len(self.categorical_columns_), len(frame))
        codes = np.empty(shape[::-1] if row_major else shape, np.int32)
        columns = codes.T if row_major else codes
        for k, j in enumerate(self.categorical_columns_):
            column = frame.iloc[:, j]
            try:
                columns[k] = self._category_codes(k, column)
            except TypeError as exc:
                raise _unhashable(column) from exc
        codes = codes if row_major else codes.T
        with np.errstate(over="ignore"):
            standardised = ((numeric - self.mean_) / self.scale_).astype(np.float32)
        overflow = ~np.isfinite(standardised).all(axis=0)
        if overflow.any():
            raise ValueError(
                f"Numeric columns {self._numeric_names(frame, overflow)} hold "
                "values too far from those seen in fit to represent (beyond "
                "float32 after standardising); check their units."
            )
        return EncodedFeatures(codes, standardised)

    def _category_codes(self, k, column):
        """Codes 1.. of the values in vocabulary ``k``; 0 for anything else."""
        categories = self.categories_[k]
        if not isinstance(column.dtype, pd.CategoricalDtype):
            return categories.get_indexer(column) + 1
        # Map the column's categories, not its rows, and only once while they
        # stay the same, in the same order (codes index them by position;
        # pandas calls unordered dtypes equal whatever their order). Code -1
        # (missing) takes the appended last entry, 0, like any unknown value.
        # Index.equals ignores the dtype: it calls [0, 1] equal to [False,
        # True], which get_indexer does not match, so the dtype is compared too.
        seen, lookup = self._lookups.get(k, (None, None))
        levels = column.cat.categories
        if seen is None or not (
            seen is levels or (seen.dtype == levels.dtype and seen.equals(levels))
        ):
            lookup = np.append(categories.get_indexer(levels), -1) + 1
            self._lookups[k] = (levels, lookup)
        return lookup[column.cat.codes.to_numpy()]

    def _numeric_names(self, frame, mask):
        """Names of the numeric columns selected by a boolean ``mask``."""
        return [
            str(frame.columns[j])
            for j, bad in zip(self.numeric_columns_, mask, strict=True)
            if bad
        ]

    def _categorical_mask(self, frame):
        spec = self.categorical_features
        n_features = frame.shape[1]
        if isinstance(spec, str) and spec == "auto":
            return np.array([_looks_categorical(frame[c]) for c in frame.columns])
        if np.asarray(spec).dtype == bool:
            spec = np.asarray(spec)
            if spec.shape != (n_features,):
                raise ValueError(
                    f"categorical_features is a boolean mask of length {spec.size}"
                    f", but X has {n_features} features."
                )
            return spec.copy()
        mask = np.zeros(n_features, dtype=bool)
        labels = list(frame.columns)
        # Names as strings too: an array's columns are named 0, 1, ...
        as_text = [str(label) for label in labels]
        for item in list(spec):
            if item in labels:  # a column name
                mask[labels.index(item)] = True
            elif isinstance(item, str) and as_text.count(item) == 1:
                mask[as_text.index(item)] = True
            elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                if not -n_features <= item < n_features:
                    raise ValueError(
                        f"categorical_features holds the index {item}, outside "
                        f"[-{n_features}, {n_features}) for X's {n_features} "
                        "features."
                    )
                mask[item] = True
            else:
                raise ValueError(
                    f"categorical_features names column {item!r}, which is not in "
                    "X; give column names or indices."
                )
        return mask

    def _numeric_values(self, frame):
        columns = frame.iloc[:, self.numeric_columns_]
        temporal = [
            str(name)
            for name, dtype in columns.dtypes.items()
            if pd.api.types.is_datetime64_any_dtype(dtype)
            or pd.api.types.is_timedelta64_dtype(dtype)
        ]
        if temporal:
            # Their integer values count units (ns, us, s) that pandas picks
            # by how the column was made, so the same time can give numbers
            # 1,000 times apart: they are not read as numbers silently.
            raise ValueError(
                f"Columns {temporal} hold dates or durations. Convert them to "
                "numbers first, e.g. the hour with X[c].dt.hour or seconds with "
                "(X[c] - start).dt.total_seconds(), or list them in "
                "categorical_features."
            )
        values = np.empty(columns.shape, dtype=np.float64)
        for k, name in enumerate(columns.columns):
            try:
                values[:, k] = columns[name].to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"Column {name!r} is treated as numeric but holds non-numeric "
                    "values; list it in categorical_features or convert it."
                ) from exc
        bad = ~np.isfinite(values)
        if bad.any():
            names = [str(columns.columns[k]) for k in np.flatnonzero(bad.any(axis=0))]
            raise ValueError(
                f"Numeric columns {names} hold NaN or infinite values. Impute "
                "them first (e.g. sklearn.impute.SimpleImputer in a Pipeline), "
                "or mark the column as categorical so missing values get their "
                "own code."
            )
        return values


def as_frame(X):
    """Return ``X`` as a DataFrame with its columns in order."""
    if sp.issparse(X):
        raise TypeError(
            "Sparse X is not supported: the network embeds categorical columns "
            "itself, so pass dense columns (e.g. X.toarray()) rather than sparse "
            "input."
        )
    if isinstance(X, pd.DataFrame):
        duplicated = X.columns[X.columns.duplicated()].unique().tolist()
        if duplicated:
            raise ValueError(
                f"X has duplicate column names {duplicated}; give every column "
                "its own name."
            )
        complex_columns = [
            str(name)
            for name, dtype in X.dtypes.items()
            if pd.api.types.is_complex_dtype(dtype)
        ]
        if complex_columns:
            raise ValueError(f"Complex data not supported: columns {complex_columns}.")
        return X
    array = np.asarray(X)
    if np.iscomplexobj(array):
        raise ValueError("Complex data not supported in X.")
    if array.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_samples, n_features); got an array of shape "
            f"{array.shape}. Reshape your data with X.reshape(-1, 1) if it has "
            "a single feature, or X.reshape(1, -1) if it is a single sample."
        )
    frame = pd.DataFrame(array)
    return frame.infer_objects() if array.dtype == object else frame


def _unhashable(column):
    return ValueError(
        f"Categorical column {column.name!r} holds values that cannot be hashed "
        "(e.g. lists or dicts); categories must be scalars such as strings or "
        "numbers."
    )


def _looks_categorical(column):
    dtype = column.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )
