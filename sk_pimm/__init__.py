"""sk_pimm: scikit-learn estimators for conversion funnels.

Each row is one impression and y holds one 0/1 column per funnel stage
(impression -> click -> conversion -> ...). :class:`PIMMClassifier` predicts
the probability of reaching every stage.
"""

from sk_pimm._version import __version__
from sk_pimm.pimm import PIMMClassifier

__all__ = ["PIMMClassifier", "__version__"]
