"""Building blocks shared by every cascade network."""

import math

import torch
from torch import nn


class InputLayer(nn.Module):
    """Embeds categorical codes and concatenates them with numeric columns.

    All categorical columns share one embedding table, each column owning a
    block of rows, so a batch needs one lookup and one gradient update however
    many columns there are. Code 0, the out-of-vocabulary code of every
    column, maps to row 0, which is fixed at zero: unseen categories add
    nothing.

    Parameters
    ----------
    cardinalities : list of int
        Codes per categorical column, the out-of-vocabulary code 0 included.
    n_numeric : int
        Number of standardised numeric columns.
    embedding_dim : int
        Width of every embedding.

    Attributes
    ----------
    output_dim : int
        Width of the layer's output.
    """

    def __init__(self, cardinalities, n_numeric, embedding_dim):
        super().__init__()
        self.cardinalities = list(cardinalities)
        known = [n - 1 for n in self.cardinalities]  # codes 1.. of each column
        offsets = torch.tensor([0, *known[:-1]], dtype=torch.long).cumsum(0)
        self.register_buffer("offsets", offsets[: len(known)], persistent=False)
        self.embedding = nn.Embedding(1 + sum(known), embedding_dim, padding_idx=0)
        self.output_dim = len(known) * embedding_dim + n_numeric

    def forward(self, x_cat, x_num):
        return torch.cat([self.embed(x_cat).flatten(1), x_num], dim=1)

    def embed(self, x_cat):
        """Embeddings of shape (n_samples, n_categorical, embedding_dim)."""
        rows = torch.where(x_cat > 0, x_cat + self.offsets, 0)
        return self.embedding(rows)

    def column_weight(self, j):
        """Embedding rows of categorical column ``j``, row 0 being the OOV row.

        Returns
        -------
        weight : Tensor of shape (cardinalities[j], embedding_dim)
            Row ``k`` embeds code ``k`` of the column.
        """
        start = 1 + int(self.offsets[j])
        stop = start + self.cardinalities[j] - 1
        table = self.embedding.weight
        return torch.cat([table[:1], table[start:stop]])


class WideLayer(nn.Module):
    """A linear model of the raw features: one logit per output.

    Each category owns a scalar weight per output and each numeric column a
    coefficient, as in a logistic regression on one-hot features; the
    out-of-vocabulary code adds nothing. Next to the towers it plays the part
    of the "wide" component of Wide & Deep (Cheng et al., 2016): a
    category's own effect, such as one user's or one video's rate, is
    learnt directly instead of through an embedding shared with the towers.

    Parameters
    ----------
    cardinalities : list of int
        Codes per categorical column, the out-of-vocabulary code 0 included.
    n_numeric : int
        Number of standardised numeric columns.
    n_outputs : int
        Number of logits, one per stage.
    """

    def __init__(self, cardinalities, n_numeric, n_outputs):
        super().__init__()
        self.categories = InputLayer(cardinalities, 0, n_outputs)
        nn.init.zeros_(self.categories.embedding.weight)
        self.numbers = nn.Linear(n_numeric, n_outputs) if n_numeric else None
        if self.numbers is not None:
            nn.init.zeros_(self.numbers.weight)
            nn.init.zeros_(self.numbers.bias)

    def forward(self, x_cat, x_num):
        logits = self.categories.embed(x_cat).sum(dim=1)
        return logits if self.numbers is None else logits + self.numbers(x_num)


def add_wide(logits, wide, x_cat, x_num):
    """Return ``logits`` plus the wide layer's logits, if there is one."""
    return logits if wide is None else logits + wide(x_cat, x_num)


def mlp(input_dim, hidden_units, dropout):
    """Return a ReLU multilayer perceptron and its output width."""
    layers = []
    width = input_dim
    for units in hidden_units:
        layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
        width = units
    return nn.Sequential(*layers), width


_LOG_HALF = -math.log(2.0)


def log1mexp(x):
    """Return ``log(1 - exp(x))`` for ``x < 0``, without cancellation.

    Uses ``log(-expm1(x))`` for ``x > -ln 2`` and ``log1p(-exp(x))`` otherwise
    (Maechler, "Accurately Computing log(1 - exp(-|a|))", 2012). Each branch
    sees only inputs from its own range, so neither produces an infinite
    gradient that ``torch.where`` would turn into NaN.

    Parameters
    ----------
    x : Tensor
        Log-probabilities, strictly negative; ``x = 0`` gives ``-inf``.

    Returns
    -------
    Tensor
        ``log(1 - exp(x))``, same shape as ``x``.
    """
    near_zero = torch.log(-torch.expm1(x.clamp(min=_LOG_HALF)))
    far = torch.log1p(-torch.exp(x.clamp(max=_LOG_HALF)))
    return torch.where(x > _LOG_HALF, near_zero, far)


def logit_from_log(log_p):
    """Return the logit of a probability given by its logarithm ``log_p``.

    ``log_p`` is capped at ``-eps`` (machine epsilon of its dtype), so the
    logit stays finite, at most about ``-log(eps)``, when the probability
    rounds to 1.
    """
    log_p = log_p.clamp(max=-torch.finfo(log_p.dtype).eps)
    return log_p - log1mexp(log_p)
