"""Synthetic and real conversion-funnel data sets.

Every loader returns ``(X, y)``: ``X`` is a pandas DataFrame of features, with
categorical columns of dtype ``category``, and ``y`` a DataFrame with one 0/1
column per funnel stage, earliest stage first.
"""

from sk_pimm.datasets._kuairand import (
    KUAIRAND_LABELS,
    load_kuairand,
    load_kuairand_sample,
)
from sk_pimm.datasets._synthetic import make_cascade_classification

__all__ = [
    "KUAIRAND_LABELS",
    "load_kuairand",
    "load_kuairand_sample",
    "make_cascade_classification",
]
