"""PyTorch networks behind sk_pimm's estimators. They return logits."""

from sk_pimm.nn.baselines import (
    AITMNetwork,
    ESMMNetwork,
    MMoENetwork,
    PLENetwork,
    SharedBottomNetwork,
)
from sk_pimm.nn.layers import InputLayer, WideLayer, mlp
from sk_pimm.nn.pimm import PIMMNetwork, PIMModule

__all__ = [
    "AITMNetwork",
    "ESMMNetwork",
    "InputLayer",
    "MMoENetwork",
    "PIMMNetwork",
    "PIMModule",
    "PLENetwork",
    "SharedBottomNetwork",
    "WideLayer",
    "mlp",
]
