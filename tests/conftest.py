"""Seeded funnel data and small estimator settings shared by the tests.

The generator here is deliberately independent of
``sk_pimm.datasets.make_cascade_classification``: the estimator tests must not
break, or pass by accident, because of a change in the library's own data
generator.
"""

import numpy as np
import pandas as pd
import pytest
import torch

#: Stage names in funnel order; a funnel of T stages uses the first T.
STAGE_NAMES = ("click", "conversion", "core_conversion", "repurchase")

#: Small, fast settings under which the network still learns the funnel.
FAST_PARAMS = {
    "hidden_units": (16, 8),
    "embedding_dim": 4,
    "dropout": 0.0,
    "lr": 0.02,
    "batch_size": 128,
    "max_epochs": 3,
}


def make_funnel(n_samples=1500, n_stages=3, random_state=0):
    """Return a seeded impression table ``X`` and nested funnel labels ``y``.

    ``X`` has three float columns (``age``, ``price``, ``score``) and two pandas
    ``category`` columns (``channel``, ``device``). Each stage is reached with a
    probability that depends on the features, and only if the stage before it
    was, so ``y`` is nested and a model can learn every stage.

    Parameters
    ----------
    n_samples : int, default=1500
        Number of impressions.
    n_stages : int, default=3
        Number of funnel stages, 2 to 4.
    random_state : int, default=0
        Seed of the generator.

    Returns
    -------
    X : DataFrame of shape (n_samples, 5)
    y : DataFrame of shape (n_samples, n_stages)
        0/1 columns named after :data:`STAGE_NAMES`, in funnel order.
    """
    if not 2 <= n_stages <= len(STAGE_NAMES):
        raise ValueError(f"n_stages must be in [2, {len(STAGE_NAMES)}].")
    rng = np.random.default_rng(random_state)
    age = rng.normal(size=n_samples)
    price = rng.normal(size=n_samples)
    score = rng.normal(size=n_samples)
    channel = rng.integers(0, 4, size=n_samples)
    device = rng.integers(0, 3, size=n_samples)
    X = pd.DataFrame(
        {
            "age": age,
            "channel": pd.Categorical.from_codes(
                channel, categories=["ads", "feed", "mail", "search"]
            ),
            "price": price,
            "device": pd.Categorical.from_codes(
                device, categories=["android", "ios", "web"]
            ),
            "score": score,
        }
    )
    channel_effect = np.array([-1.0, 0.0, 0.5, 1.5])[channel]
    device_effect = np.array([0.8, -0.2, -0.8])[device]
    # Logit of reaching stage t given stage t - 1 was reached.
    conditional_logits = [
        1.5 * age + channel_effect,
        1.5 * score + device_effect,
        -1.5 * price + 0.5 * channel_effect,
        age - score,
    ]
    reached = np.ones(n_samples, dtype=bool)
    columns = {}
    for t in range(n_stages):
        p = 1.0 / (1.0 + np.exp(-conditional_logits[t]))
        reached = reached & (rng.random(n_samples) < p)
        columns[STAGE_NAMES[t]] = reached.astype(np.int64)
    return X, pd.DataFrame(columns)


@pytest.fixture(scope="session", autouse=True)
def single_torch_thread():
    """Train on one thread: the networks are tiny, and on a shared machine
    several threads per process mostly wait for each other."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture(scope="session")
def funnel_factory():
    """The seeded funnel generator, for tests that need their own variant."""
    return make_funnel


@pytest.fixture(scope="session", params=[2, 3, 4], ids=lambda t: f"T{t}")
def funnel(request):
    """``(X, y)`` for funnels of 2, 3 and 4 stages."""
    return make_funnel(n_stages=request.param, random_state=request.param)


@pytest.fixture(scope="session")
def funnel3():
    """``(X, y)`` for a three-stage funnel."""
    return make_funnel(n_stages=3, random_state=0)


@pytest.fixture(scope="session")
def fast_params():
    """Estimator settings that train in well under a second on this data."""
    return dict(FAST_PARAMS)


@pytest.fixture
def rng():
    """A NumPy generator seeded with 0."""
    return np.random.default_rng(0)


@pytest.fixture
def torch_seed():
    """Seed torch for a test and restore the global generator afterwards.

    Files that want it for every test say
    ``pytestmark = pytest.mark.usefixtures("torch_seed")``.
    """
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield
