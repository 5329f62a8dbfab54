"""Tensors for training and a loader that slices them by batch.

skorch's default ``DataLoader`` indexes one row at a time and collates the
rows again. Slicing whole tensors per batch gives the same batches for a
fraction of the cost.
"""

import torch
from torch.utils.data import Dataset


class CascadeDataset(Dataset):
    """Encoded features and, when training, the funnel labels, as tensors.

    Parameters
    ----------
    features : EncodedFeatures
        Categorical codes and standardised numeric columns.
    y : ndarray of shape (n_samples, n_stages), default=None
        Nested 0/1 labels; ``None`` for prediction.
    """

    def __init__(self, features, y=None):
        # The codes keep their int32 type and their memory: no copy.
        self.x_cat = torch.as_tensor(features.categorical)
        self.x_num = torch.as_tensor(features.numeric, dtype=torch.float32)
        self.y = None if y is None else torch.as_tensor(y, dtype=torch.float32)

    def __len__(self):
        return len(self.x_cat)

    def __getitem__(self, index):
        return self.batch(index)

    def batch(self, index):
        """Return ``({"x_cat": ..., "x_num": ...}, y)`` for rows ``index``."""
        X = {"x_cat": self.x_cat[index], "x_num": self.x_num[index]}
        return X, (None if self.y is None else self.y[index])


class BatchSliceLoader:
    """Yields mini-batches by slicing the dataset's tensors.

    It takes the arguments skorch passes to ``iterator_train`` and
    ``iterator_valid``.

    Parameters
    ----------
    dataset : CascadeDataset
        The data to iterate over.
    batch_size : int
        Rows per batch; the last batch may be smaller.
    shuffle : bool, default=False
        Draw a new permutation of the rows for each pass.
    generator : torch.Generator, default=None
        Source of the permutations. skorch builds a new loader every epoch, so
        pass one generator that lives across epochs to get a fresh,
        reproducible order each epoch.
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        n_samples = len(self.dataset)
        order = (
            torch.randperm(n_samples, generator=self.generator)
            if self.shuffle
            else None
        )
        for start in range(0, n_samples, self.batch_size):
            stop = min(start + self.batch_size, n_samples)
            index = slice(start, stop) if order is None else order[start:stop]
            yield self.dataset.batch(index)
