"""sk_pimm: scikit-learn estimators for conversion funnels.

Each row is one impression and y holds one 0/1 column per funnel stage
(impression -> click -> conversion -> ...). :class:`PIMMClassifier` predicts
the probability of reaching every stage; the baselines share its API.
"""

from sk_pimm._version import __version__
from sk_pimm.baselines import (
    AITMClassifier,
    ESMMClassifier,
    MMoEClassifier,
    PLEClassifier,
    SharedBottomClassifier,
)
from sk_pimm.pimm import PIMMClassifier

__all__ = [
    "AITMClassifier",
    "ESMMClassifier",
    "MMoEClassifier",
    "PIMMClassifier",
    "PLEClassifier",
    "SharedBottomClassifier",
    "__version__",
]
