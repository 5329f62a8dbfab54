"""Building blocks shared by every cascade network."""

import torch
from torch import nn


class InputLayer(nn.Module):
    """Embeds categorical codes and concatenates them with numeric columns.

    Parameters
    ----------
    cardinalities : list of int
        Embedding rows per categorical column, the out-of-vocabulary row 0
        included. Row 0 is fixed at zero, so unseen categories add nothing.
    n_numeric : int
        Number of standardised numeric columns.
    embedding_dim : int
        Width of every embedding.
    """

    def __init__(self, cardinalities, n_numeric, embedding_dim):
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.Embedding(n, embedding_dim, padding_idx=0) for n in cardinalities
        )
        self.output_dim = len(cardinalities) * embedding_dim + n_numeric

    def forward(self, x_cat, x_num):
        parts = [emb(x_cat[:, j]) for j, emb in enumerate(self.embeddings)]
        parts.append(x_num)
        return torch.cat(parts, dim=1)


def mlp(input_dim, hidden_units, dropout):
    """Return a ReLU multilayer perceptron and its output width."""
    layers = []
    width = input_dim
    for units in hidden_units:
        layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
        width = units
    return nn.Sequential(*layers), width
