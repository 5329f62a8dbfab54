"""Synthetic conversion funnels with a known, learnable signal."""

import numbers

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

# Share of the signal variance that is common to every stage; the rest is
# specific to each stage.
_SHARED_FRACTION = 0.7

# The first stage's default rate and the factor between successive stages.
_DEFAULT_FIRST_RATE = 0.4
_DEFAULT_RATE_RATIO = 0.25


def _check_int(value, name, minimum):
    """Return ``value`` as an int, or raise if it is not an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{name} must be an integer >= {minimum}; got {value!r} "
            f"of type {type(value).__name__}."
        )
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")
    return int(value)


def _check_stage_rates(stage_rates, n_stages):
    """Return validated stage rates as a float array of length ``n_stages``."""
    if stage_rates is None:
        return _DEFAULT_FIRST_RATE * _DEFAULT_RATE_RATIO ** np.arange(n_stages)

    try:
        rates = np.asarray(stage_rates, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"stage_rates must be a sequence of floats; got {stage_rates!r}."
        ) from exc
    if rates.ndim != 1 or rates.shape[0] != n_stages:
        raise ValueError(
            f"stage_rates must hold one rate per stage (n_stages={n_stages}); "
            f"got {stage_rates!r}."
        )
    if not np.all(np.isfinite(rates)) or np.any(rates <= 0) or np.any(rates >= 1):
        raise ValueError(
            f"stage_rates must lie strictly between 0 and 1; got {stage_rates!r}."
        )
    if np.any(np.diff(rates) >= 0):
        raise ValueError(
            f"stage_rates must be strictly decreasing, because every stage is "
            f"nested in the one before it; got {stage_rates!r}."
        )
    return rates


def _standardise(score):
    """Scale ``score`` to zero mean and unit variance (left as is if constant)."""
    centred = score - score.mean()
    scale = centred.std()
    if scale > 0:
        centred = centred / scale
    return centred


def make_cascade_classification(
    n_samples=10_000,
    *,
    n_stages=3,
    stage_rates=None,
    n_numeric=4,
    n_categorical=3,
    n_categories=8,
    signal_strength=1.0,
    random_state=None,
):
    """Generate a synthetic conversion funnel with nested stage labels.

    Each row is one impression. Stage ``t`` can only be reached by rows that
    reached every stage before it, so the labels are strictly nested, as in
    impression -> click -> conversion.

    Parameters
    ----------
    n_samples : int, default=10_000
        Number of rows (impressions).

    n_stages : int, default=3
        Number of funnel stages, i.e. label columns.

    stage_rates : array-like of shape (n_stages,), default=None
        Target marginal positive rate of each stage, strictly decreasing and
        strictly between 0 and 1. The generated rates match them up to
        rounding. ``None`` uses ``0.4 * 0.25 ** t`` for stage ``t``, i.e.
        0.4, 0.1, 0.025, 0.00625, ...

    n_numeric : int, default=4
        Number of numeric features ``num_0``, ``num_1``, ...

    n_categorical : int, default=3
        Number of categorical features ``cat_0``, ``cat_1``, ...

    n_categories : int, default=8
        Number of levels of each categorical feature, named ``"c0"``,
        ``"c1"``, ... At least 2.

    signal_strength : float, default=1.0
        Standard deviation of the feature-driven part of each stage's latent
        score, relative to the unit-variance noise. ``0`` gives labels that
        do not depend on the features.

    random_state : int, RandomState instance or None, default=None
        Seed or random generator, for reproducible output.

    Returns
    -------
    X : pandas.DataFrame of shape (n_samples, n_numeric + n_categorical)
        Numeric columns ``num_*`` of dtype float64 followed by categorical
        columns ``cat_*`` of dtype ``category`` with string levels.

    y : pandas.DataFrame of shape (n_samples, n_stages)
        Columns ``stage_0`` ... ``stage_{n_stages-1}`` of dtype int64, 0/1.
        ``stage_t`` is 1 only where every earlier stage is 1.

    See Also
    --------
    load_kuairand : Real feed data with a nearly nested funnel.

    Notes
    -----
    Every stage has a latent score made of a component shared by all stages
    (70 % of the signal variance) and a stage-specific component (30 %). Each
    component is a linear function of the numeric features plus one random
    effect per level of each categorical feature, scaled to unit variance and
    then multiplied by ``signal_strength``; standard normal noise is added.
    A row reaches stage ``t`` if it reached stage ``t - 1`` and its latent
    score is above the quantile, taken among the rows that reached stage
    ``t - 1``, that leaves ``stage_rates[t] / stage_rates[t - 1]`` of them
    above it. The shared component makes a stage's outcome informative about
    the next one.

    Examples
    --------
    >>> from sk_pimm.datasets import make_cascade_classification
    >>> X, y = make_cascade_classification(1_000, random_state=0)
    >>> X.shape, y.shape
    ((1000, 7), (1000, 3))
    >>> bool((y["stage_1"] <= y["stage_0"]).all())
    True
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    n_stages = _check_int(n_stages, "n_stages", 1)
    n_numeric = _check_int(n_numeric, "n_numeric", 0)
    n_categorical = _check_int(n_categorical, "n_categorical", 0)
    n_categories = _check_int(n_categories, "n_categories", 2)
    if n_numeric + n_categorical == 0:
        raise ValueError(
            "n_numeric and n_categorical cannot both be 0: at least one "
            "feature is needed."
        )
    if (
        isinstance(signal_strength, bool)
        or not isinstance(signal_strength, numbers.Real)
        or not np.isfinite(signal_strength)
        or signal_strength < 0
    ):
        raise ValueError(
            f"signal_strength must be a finite number >= 0; got {signal_strength!r}."
        )
    rates = _check_stage_rates(stage_rates, n_stages)
    rng = check_random_state(random_state)

    numeric = rng.standard_normal((n_samples, n_numeric))
    codes = rng.randint(0, n_categories, size=(n_samples, n_categorical))

    def feature_score():
        # One random linear score of the features, standardised.
        score = numeric @ rng.standard_normal(n_numeric)
        for j in range(n_categorical):
            score = score + rng.standard_normal(n_categories)[codes[:, j]]
        return _standardise(score)

    shared = feature_score()
    y = np.zeros((n_samples, n_stages), dtype=np.int64)
    reached = np.ones(n_samples, dtype=bool)
    previous_rate = 1.0
    for t in range(n_stages):
        signal = (
            np.sqrt(_SHARED_FRACTION) * shared
            + np.sqrt(1.0 - _SHARED_FRACTION) * feature_score()
        )
        latent = signal_strength * signal + rng.standard_normal(n_samples)
        if reached.any():
            # Keep the top share of the rows still in the funnel.
            pass_rate = rates[t] / previous_rate
            threshold = np.quantile(latent[reached], 1.0 - pass_rate)
            reached &= latent > threshold
        y[:, t] = reached
        previous_rate = rates[t]

    levels = pd.Index([f"c{k}" for k in range(n_categories)], dtype="str")
    columns = {f"num_{j}": numeric[:, j] for j in range(n_numeric)}
    for j in range(n_categorical):
        columns[f"cat_{j}"] = pd.Categorical.from_codes(codes[:, j], levels)
    X = pd.DataFrame(columns, index=pd.RangeIndex(n_samples))
    y = pd.DataFrame(y, columns=[f"stage_{t}" for t in range(n_stages)])
    return X, y
