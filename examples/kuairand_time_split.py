"""
KuaiRand time split: PIMM next to gradient boosting
===================================================

Train on the KuaiRand-Pure standard log of 2022-04-25..30 (94,784
impressions) and test on 2022-05-01..08 (133,545 impressions). Print the test
ROC AUC of every stage (click -> long view -> like) for
:class:`sk_pimm.PIMMClassifier` and for one
:class:`~sklearn.ensemble.HistGradientBoostingClassifier` per stage.

Run ``python examples/kuairand_time_split.py [PATH]``. PATH is a folder laid
out like ``shared/data/kuairand-pure``; by default the ``shared`` folder beside
the repository is used.

Both models use fixed, untuned hyperparameters: nothing is chosen on the test
period. Labels are clipped to a nested funnel (``cascade="clip"``) for
training and testing alike.
"""

# %%
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from sk_pimm import PIMMClassifier
from sk_pimm.datasets import load_kuairand
from sk_pimm.exceptions import CascadeWarning
from sk_pimm.metrics import stage_roc_auc

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "shared/data/kuairand-pure"
path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH

X_train, y_train = load_kuairand(path, split="train")
X_test, y_test = load_kuairand(path, split="test")
y_train_nested = y_train.cummin(axis=1)
y_test_nested = y_test.cummin(axis=1)
print(f"train {len(X_train):,} rows, test {len(X_test):,} rows")

# %%
# PIMM
# ----
# The warning of ``cascade="clip"`` reports how many training rows it nests.
started = time.perf_counter()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", CascadeWarning)
    pimm = PIMMClassifier(cascade="clip", max_epochs=5, random_state=0)
    pimm.fit(X_train, y_train)
for warning in caught:
    print("warning:", warning.message)
pimm_seconds = time.perf_counter() - started
pimm_auc = stage_roc_auc(y_test_nested, pimm.predict_proba(X_test))

# %%
# One gradient-boosted classifier per stage
# -----------------------------------------
# Categorical columns with at most 255 levels are native categories; the
# high-cardinality ids (users, videos, authors, music) enter as their integer
# codes, since the booster cannot bin more than 255 categories.


def as_boosting_input(X):
    columns = {}
    for name, column in X.items():
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.astype(float).replace(-1, np.nan)
            columns[name] = codes
        else:
            columns[name] = column
    return pd.DataFrame(columns)


low_cardinality = [
    name
    for name, column in X_train.items()
    if isinstance(column.dtype, pd.CategoricalDtype)
    and len(column.cat.categories) <= 255
]
started = time.perf_counter()
hgb_proba = np.column_stack(
    [
        HistGradientBoostingClassifier(
            categorical_features=low_cardinality, random_state=0
        )
        .fit(as_boosting_input(X_train), y_train_nested[stage])
        .predict_proba(as_boosting_input(X_test))[:, 1]
        for stage in y_train.columns
    ]
)
hgb_seconds = time.perf_counter() - started
hgb_auc = stage_roc_auc(y_test_nested, hgb_proba)

# %%
# Results
# -------
print(f"\n{'test ROC AUC':<14}{'PIMM':>10}{'HGB/stage':>12}")
for name, ours, theirs in zip(y_train.columns, pimm_auc, hgb_auc, strict=True):
    print(f"{name:<14}{ours:>10.4f}{theirs:>12.4f}")
print(f"{'fit seconds':<14}{pimm_seconds:>10.1f}{hgb_seconds:>12.1f}")
