"""
Quickstart: a funnel model on the bundled KuaiRand sample
=========================================================

Train :class:`sk_pimm.PIMMClassifier` on a real short-video feed log and
predict, for every impression, the probability of each funnel stage:
click -> long view -> like. The sample ships with sk_pimm, so this runs
without any download.
"""

# %%
# Load the data
# -------------
# The sample holds 20,000 impressions from 2022-04-25..30 and 20,000 from
# 2022-05-01..08. We train on the earlier period and test on the later one,
# as a deployed model would be used. ``X`` mixes categorical columns (ids,
# user and video attributes) with numeric ones; ``y`` has one 0/1 column per
# stage, in funnel order.
from sk_pimm import PIMMClassifier
from sk_pimm.datasets import load_kuairand_sample
from sk_pimm.metrics import stage_roc_auc

X_train, y_train = load_kuairand_sample(split="train")
X_test, y_test = load_kuairand_sample(split="test")
print(X_train.shape, "training impressions;", "stages:", list(y_train.columns))
print("stage rates:", y_train.mean().round(4).to_dict())

# %%
# Fit
# ---
# The real log has likes without a click. ``cascade="clip"`` counts a stage
# only when every earlier stage is reached, and warns with the counts.
# ``verbose=1`` prints one row per epoch, with the label probability ``p`` of
# the curriculum falling from 1 to 0.
est = PIMMClassifier(
    curriculum="linear",
    curriculum_start=1.0,
    curriculum_end=0.0,
    cascade="clip",
    max_epochs=5,
    random_state=0,
    verbose=1,
)
est.fit(X_train, y_train)

# %%
# Predict and evaluate
# --------------------
# ``predict_proba`` returns one column per stage: ``P(stage reached | x)``.
# We compare it with the test labels clipped the same way as in training.
proba = est.predict_proba(X_test)
y_test_nested = y_test.cummin(axis=1)
aucs = stage_roc_auc(y_test_nested, proba)
for name, auc in zip(est.stage_names_, aucs, strict=True):
    print(f"test ROC AUC {name:<10} {auc:.4f}")
print(f"mean over stages (est.score): {est.score(X_test, y_test_nested):.4f}")
