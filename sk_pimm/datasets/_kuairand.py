"""Loaders for the KuaiRand-Pure short-video feed log and its shipped sample."""

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

_LOG_FILES = {
    "train": "log_standard_20220425_20220430.parquet",
    "test": "log_standard_20220501_20220508.parquet",
}
_USER_FILE = "user_features_pure.csv"
_VIDEO_FILE = "video_features_basic_pure.csv"
_SAMPLE_FILE = "kuairand_sample.parquet"

# Last day of the "train" period (2022-04-25..2022-04-30).
_TRAIN_LAST_DATE = pd.Timestamp("2022-04-30")

# Binary feedback columns that can serve as funnel stages.
KUAIRAND_LABELS = (
    "is_click",
    "long_view",
    "is_like",
    "is_follow",
    "is_comment",
    "is_forward",
    "is_hate",
    "is_profile_enter",
)
_DEFAULT_STAGES = ("is_click", "long_view", "is_like")

# Feature columns in output order, by source and kind. ``hour`` is derived
# from the log's ``hourmin``.
_LOG_CATEGORICAL = ("user_id", "video_id", "tab", "hour")
_LOG_NUMERIC = ("duration_ms", "freshness_days")
_USER_CATEGORICAL = (
    "user_active_degree",
    "is_live_streamer",
    "is_video_author",
    "follow_user_num_range",
    "fans_user_num_range",
    "friend_user_num_range",
    "register_days_range",
    *(f"onehot_feat{i}" for i in range(18)),
)
_USER_NUMERIC = ("follow_user_num", "fans_user_num", "friend_user_num", "register_days")
_VIDEO_CATEGORICAL = (
    "author_id",
    "music_id",
    "tag",
    "video_type",
    "upload_type",
    "music_type",
)
_VIDEO_NUMERIC = ("server_width", "server_height")

# Levels of the categorical columns that do not come from a feature table.
_FIXED_LEVELS = {
    "tab": [str(i) for i in range(15)],
    "hour": [str(i) for i in range(24)],
}


def _split_files(split):
    """Return the log file names that make up ``split``, in time order."""
    if split == "all":
        return [_LOG_FILES["train"], _LOG_FILES["test"]]
    if split in _LOG_FILES:
        return [_LOG_FILES[split]]
    raise ValueError(f"split must be 'train', 'test' or 'all'; got {split!r}.")


def _check_stages(stages):
    """Return ``stages`` as a list of known label names, in the given order."""
    if isinstance(stages, str):
        stages = [stages]
    stages = list(stages)
    if not stages:
        raise ValueError("stages must name at least one label column.")
    unknown = [name for name in stages if name not in KUAIRAND_LABELS]
    if unknown:
        raise ValueError(
            f"stages has unknown label column(s) {unknown}; choose among "
            f"{list(KUAIRAND_LABELS)}."
        )
    if len(set(stages)) != len(stages):
        raise ValueError(f"stages must not repeat a column; got {stages}.")
    return stages


def _as_text(values):
    """Convert a column to strings, writing whole floats as integers.

    Missing values stay missing.
    """
    if pd.api.types.is_float_dtype(values):
        values = values.astype("Int64")
    text = values.astype("str")
    return text.where(values.notna())


def _sorted_levels(text):
    """Return the distinct non-missing strings, in numeric order if all are ints."""
    levels = pd.unique(text.dropna())
    try:
        order = np.argsort([int(level) for level in levels], kind="stable")
    except ValueError:
        return sorted(levels)
    return [levels[i] for i in order]


def _to_category(values, levels):
    """Return string values as a categorical series with the given levels."""
    dtype = pd.CategoricalDtype(pd.Index(levels, dtype="str"))
    return _as_text(values).astype(dtype)


def _read_table(path, name, columns):
    """Read one CSV feature table, indexed by its first column."""
    table = pd.read_csv(path / name, usecols=list(columns))
    return table.set_index(columns[0])


def load_kuairand(
    path,
    split="train",
    *,
    stages=_DEFAULT_STAGES,
    return_date=False,
):
    """Load the KuaiRand-Pure feed log as a conversion funnel.

    Each row is one impression of a short video to a user of the Kuaishou app,
    joined with the user's and the video's features. The labels are the
    user's feedback, e.g. click -> long view -> like.

    Parameters
    ----------
    path : str or path-like
        Folder holding ``log_standard_20220425_20220430.parquet``,
        ``log_standard_20220501_20220508.parquet``,
        ``user_features_pure.csv`` and ``video_features_basic_pure.csv``.
        Nothing is downloaded.

    split : {"train", "test", "all"}, default="train"
        ``"train"``: the log of 2022-04-25..2022-04-30 (94,784 rows).
        ``"test"``: the log of 2022-05-01..2022-05-08 (133,545 rows).
        ``"all"``: the train rows followed by the test rows.

    stages : sequence of str, default=("is_click", "long_view", "is_like")
        Label columns returned in ``y``, in this order. Any of
        ``"is_click"``, ``"long_view"``, ``"is_like"``, ``"is_follow"``,
        ``"is_comment"``, ``"is_forward"``, ``"is_hate"`` and
        ``"is_profile_enter"``. A single string is one stage.

    return_date : bool, default=False
        If True, also return the date of each impression.

    Returns
    -------
    X : pandas.DataFrame
        Features known at impression time. Categorical columns have dtype
        ``category`` with string levels; numeric columns are float64.

        - Impression: ``user_id``, ``video_id``, ``tab`` (UI scenario),
          ``hour`` (hour of day, from ``hourmin``), all categorical;
          ``duration_ms`` (video length) and ``freshness_days`` (days since
          upload), numeric.
        - User: ``user_active_degree``, ``is_live_streamer``,
          ``is_video_author``, the four ``*_range`` buckets and
          ``onehot_feat0`` ... ``onehot_feat17``, categorical;
          ``follow_user_num``, ``fans_user_num``, ``friend_user_num`` and
          ``register_days``, numeric.
        - Video: ``author_id``, ``music_id``, ``tag`` (the video's tag set as
          one level, e.g. ``"20,43"``), ``video_type``, ``upload_type`` and
          ``music_type``, categorical; ``server_width`` and ``server_height``,
          numeric.

    y : pandas.DataFrame
        One int64 0/1 column per name in ``stages``, in that order. The
        labels are returned as recorded, so they are not strictly nested
        (see Notes).

    date : pandas.Series of dtype datetime64[ns]
        Date of each impression, named ``"date"``. Only returned if
        ``return_date`` is True.

    Raises
    ------
    FileNotFoundError
        If one of the four files is missing from ``path``.

    See Also
    --------
    load_kuairand_sample : A small sample of the same data, shipped with
        sk_pimm.

    Notes
    -----
    KuaiRand is by Gao et al., "KuaiRand: An Unbiased Sequential
    Recommendation Dataset with Randomly Exposed Videos", CIKM 2022, and is
    licensed under CC BY-SA 4.0. The two log files are the complete standard
    (non-random) KuaiRand-Pure log of 2022-04-25..2022-05-08.

    Nothing measured after the impression enters ``X``: feedback, play and
    stay times, and the derived ``watch_ratio``, ``finish``, ``like``,
    ``long_watch`` and ``is_positive`` are dropped, and so are the absolute
    time stamps ``time_ms`` and ``date`` (returned apart with
    ``return_date``). Also dropped: the log's copies of video features
    (``author_id``, ``tag``, ``video_duration``, ``upload_dt``,
    ``upload_date``; the video table's values are used, the video length is
    ``duration_ms`` and the upload date enters as ``freshness_days``),
    ``is_rand``, ``source_file`` and the constant columns
    ``is_lowactive_period`` and ``visible_status``.

    The levels of each categorical column are those of the whole user or
    video table (``tab``: 0 to 14; ``hour``: 0 to 23), so the train, test and
    sample loaders return identical dtypes. Missing categorical values, e.g.
    ``tag`` and ``music_type`` of a few videos, stay missing. Missing numeric
    values are set to 0 (the 2022-04-25..05-08 files have none).

    The funnel is nearly but not strictly nested: about 0.35 % of long views
    and 18 % of likes come without a click, because likes in the single
    column UI need no valid play. Estimators must drop these rows or relax
    the cascade.

    Examples
    --------
    >>> from sk_pimm.datasets import load_kuairand
    >>> X, y = load_kuairand("shared/data/kuairand-pure")  # doctest: +SKIP
    >>> X.shape, list(y.columns)  # doctest: +SKIP
    ((94784, 43), ['is_click', 'long_view', 'is_like'])
    """
    path = Path(path)
    files = _split_files(split)
    stages = _check_stages(stages)
    for name in [*_LOG_FILES.values(), _USER_FILE, _VIDEO_FILE]:
        if not (path / name).is_file():
            raise FileNotFoundError(
                f"KuaiRand file {name!r} not found in {str(path)!r}."
            )

    log_columns = [
        "user_id",
        "video_id",
        "date",
        "hourmin",
        "tab",
        *_LOG_NUMERIC,
        *KUAIRAND_LABELS,
    ]
    log = pd.concat(
        [pd.read_parquet(path / name, columns=log_columns) for name in files],
        ignore_index=True,
    )
    users = _read_table(
        path, _USER_FILE, ["user_id", *_USER_CATEGORICAL, *_USER_NUMERIC]
    )
    videos = _read_table(
        path, _VIDEO_FILE, ["video_id", *_VIDEO_CATEGORICAL, *_VIDEO_NUMERIC]
    )
    user_rows = users.reindex(log["user_id"]).reset_index(drop=True)
    video_rows = videos.reindex(log["video_id"]).reset_index(drop=True)

    user_levels = _sorted_levels(_as_text(users.index.to_series()))
    video_levels = _sorted_levels(_as_text(videos.index.to_series()))
    columns = {
        "user_id": _to_category(log["user_id"], user_levels),
        "video_id": _to_category(log["video_id"], video_levels),
        "tab": _to_category(log["tab"], _FIXED_LEVELS["tab"]),
        "hour": _to_category(log["hourmin"] // 100, _FIXED_LEVELS["hour"]),
    }
    for name in _LOG_NUMERIC:
        columns[name] = log[name]
    for table, rows, categorical, numeric in [
        (users, user_rows, _USER_CATEGORICAL, _USER_NUMERIC),
        (videos, video_rows, _VIDEO_CATEGORICAL, _VIDEO_NUMERIC),
    ]:
        for name in categorical:
            levels = _sorted_levels(_as_text(table[name]))
            columns[name] = _to_category(rows[name], levels)
        for name in numeric:
            columns[name] = rows[name]
    for name in [*_LOG_NUMERIC, *_USER_NUMERIC, *_VIDEO_NUMERIC]:
        columns[name] = columns[name].astype("Float64").fillna(0.0)
        columns[name] = columns[name].astype("float64")
    X = pd.DataFrame(columns)

    y = log[stages].astype("int64")
    if not return_date:
        return X, y
    date = pd.to_datetime(log["date"].astype("str"), format="%Y%m%d")
    return X, y, date.astype("datetime64[ns]").rename("date")


def load_kuairand_sample(
    split="all",
    *,
    stages=_DEFAULT_STAGES,
    return_date=False,
):
    """Load a small random sample of KuaiRand-Pure shipped with sk_pimm.

    The sample holds 20,000 impressions drawn at random from each period of
    :func:`load_kuairand`, already joined with the user and video features.
    It needs no download and loads in well under a second, for examples and
    tests.

    Parameters
    ----------
    split : {"train", "test", "all"}, default="all"
        ``"train"``: the rows from 2022-04-25..2022-04-30. ``"test"``: the
        rows from 2022-05-01..2022-05-08. ``"all"``: both, train rows first.

    stages : sequence of str, default=("is_click", "long_view", "is_like")
        Label columns returned in ``y``, in this order, as in
        :func:`load_kuairand`.

    return_date : bool, default=False
        If True, also return the date of each impression.

    Returns
    -------
    X : pandas.DataFrame
        Same columns and dtypes (including category levels) as the ``X`` of
        :func:`load_kuairand`.

    y : pandas.DataFrame
        One int64 0/1 column per name in ``stages``, in that order, not
        forced to be nested.

    date : pandas.Series of dtype datetime64[ns]
        Date of each impression, named ``"date"``. Only returned if
        ``return_date`` is True.

    See Also
    --------
    load_kuairand : The full data, from a local copy.

    Notes
    -----
    The sample derives from KuaiRand (Gao et al., "KuaiRand: An Unbiased
    Sequential Recommendation Dataset with Randomly Exposed Videos", CIKM
    2022) and is distributed under the same licence, CC BY-SA 4.0. See
    ``sk_pimm/datasets/data/KUAIRAND_LICENSE.md`` for the attribution and how
    the sample was drawn; ``sk_pimm/datasets/_make_sample.py`` rebuilds it.

    Examples
    --------
    >>> from sk_pimm.datasets import load_kuairand_sample
    >>> X, y = load_kuairand_sample("train")
    >>> X.shape, list(y.columns)
    ((20000, 43), ['is_click', 'long_view', 'is_like'])
    """
    _split_files(split)
    stages = _check_stages(stages)

    source = resources.files(__package__).joinpath("data", _SAMPLE_FILE)
    with resources.as_file(source) as file:
        frame = pd.read_parquet(file)
    date = frame.pop("date").astype("datetime64[ns]")
    if split != "all":
        keep = (date <= _TRAIN_LAST_DATE) == (split == "train")
        frame = frame[keep.to_numpy()].reset_index(drop=True)
        date = date[keep.to_numpy()].reset_index(drop=True)

    y = frame[stages].astype("int64")
    X = frame.drop(columns=list(KUAIRAND_LABELS))
    if not return_date:
        return X, y
    return X, y, date
