"""The reference for what PyTorch itself costs: a plain training loop.

It trains the module a fitted sk_pimm estimator built, with the same batch
size, optimiser and curriculum, by slicing pre-built tensors per batch. No
skorch, no callbacks, no history. ``benchmarks/speed.py`` and the speed
regression test compare the estimator's epochs with these.
"""

import time

import numpy as np
import torch

from sk_pimm._net import CascadeLoss
from sk_pimm.curriculum import curriculum_probability


def encoded_tensors(estimator, X, y):
    """Encode ``X`` once with a fitted estimator's encoder; return tensors."""
    features = estimator._encoder.transform(X)
    return (
        # Row-major codes: the fastest layout for gathering shuffled rows.
        torch.as_tensor(np.ascontiguousarray(features.categorical)),
        torch.as_tensor(features.numeric),
        torch.tensor(y, dtype=torch.float32),
    )


def fresh_module(estimator, seed=0):
    """A newly initialised copy of the network a fitted estimator trains."""
    module_class, params = estimator._module_params()
    torch.manual_seed(seed)
    return module_class(**params)


def plain_epochs(module, tensors, *, batch_size, lr, n_epochs, seed=0):
    """Train ``module`` for ``n_epochs``; return the seconds of each epoch.

    Parameters
    ----------
    module : torch.nn.Module
        A cascade network (``forward(x_cat, x_num, labels=None)``).
    tensors : tuple of Tensor
        ``(x_cat, x_num, y)`` as returned by :func:`encoded_tensors`.
    batch_size : int
        Rows per batch.
    lr : float
        Adam learning rate.
    n_epochs : int
        Epochs to train; the linear curriculum spans all of them.
    seed : int, default=0
        Seed of the shuffling.

    Returns
    -------
    seconds : list of float
    """
    x_cat, x_num, y = tensors
    n_samples = len(y)
    optimizer = torch.optim.Adam(module.parameters(), lr=lr, fused=True)
    criterion = CascadeLoss()
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = -(-n_samples // batch_size)
    window = n_epochs * steps_per_epoch
    step = 0
    seconds = []
    module.train()
    for _ in range(n_epochs):
        started = time.perf_counter()
        order = torch.randperm(n_samples, generator=generator)
        for start in range(0, n_samples, batch_size):
            index = order[start : start + batch_size]
            step += 1
            module.label_probability = curriculum_probability(
                step / window, shape="linear", start=1.0, end=0.0
            )
            optimizer.zero_grad()
            labels = y[index]
            loss = criterion(module(x_cat[index], x_num[index], labels=labels), labels)
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - started)
    return seconds


def plain_forward_seconds(module, tensors, *, batch_size):
    """Seconds for one forward pass over all rows, in eval mode, no gradient."""
    x_cat, x_num, _ = tensors
    module.eval()
    started = time.perf_counter()
    with torch.no_grad():
        for start in range(0, len(x_cat), batch_size):
            stop = start + batch_size
            torch.sigmoid(module(x_cat[start:stop], x_num[start:stop]))
    return time.perf_counter() - started
