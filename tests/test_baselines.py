"""Tests of the baseline estimators (Shared-Bottom, ESMM, MMoE, PLE, AITM) and
of their networks against NumPy references."""

import inspect
import pickle
import re

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from sk_pimm._net import CascadeLoss
from sk_pimm.baselines import (
    AITMClassifier,
    ESMMClassifier,
    MMoEClassifier,
    PLEClassifier,
    SharedBottomClassifier,
)
from sk_pimm.nn.baselines import (
    AITMNetwork,
    ESMMNetwork,
    MMoENetwork,
    PLENetwork,
    SharedBottomNetwork,
    chain_logits,
)
from sk_pimm.nn.layers import log1mexp

#: Each estimator with small settings of its own hyperparameters.
ESTIMATORS = {
    "shared_bottom": (SharedBottomClassifier, {"bottom_units": (8,)}),
    "esmm": (ESMMClassifier, {}),
    "mmoe": (MMoEClassifier, {"n_experts": 2, "expert_units": (8,)}),
    "ple": (
        PLEClassifier,
        {"n_shared_experts": 1, "n_task_experts": 1, "expert_units": (8,)},
    ),
    "aitm": (AITMClassifier, {"calibrator_weight": 0.3}),
}

#: Shared settings under which every baseline trains in well under a second.
SMALL = {
    "embedding_dim": 3,
    "hidden_units": (8,),
    "dropout": 0.0,
    "lr": 0.03,
    "batch_size": 64,
    "max_epochs": 3,
}

CARDINALITIES = [5, 3]
N_NUMERIC = 2
N_SAMPLES = 16


def make_data(n_samples=400, n_stages=3, random_state=0):
    """A seeded funnel: two numeric columns, one category column, nested y."""
    rng = np.random.default_rng(random_state)
    age = rng.normal(size=n_samples)
    price = rng.normal(size=n_samples)
    channel = rng.integers(0, 3, size=n_samples)
    X = pd.DataFrame(
        {
            "age": age,
            "price": price,
            "channel": pd.Categorical.from_codes(channel, ["ads", "feed", "mail"]),
        }
    )
    effect = np.array([-0.8, 0.2, 1.0])[channel]
    conditional_logits = [1.5 * age + effect, 1.5 * price, effect - age]
    reached = np.ones(n_samples, dtype=bool)
    labels = {}
    for t in range(n_stages):
        p = 1.0 / (1.0 + np.exp(-conditional_logits[t]))
        reached &= rng.random(n_samples) < p
        labels[f"stage_{t}"] = reached.astype(np.int64)
    return X, pd.DataFrame(labels)


pytestmark = pytest.mark.usefixtures("torch_seed")


@pytest.fixture(scope="module", params=[2, 3], ids=lambda t: f"T{t}")
def data(request):
    return make_data(n_stages=request.param, random_state=request.param)


@pytest.fixture(scope="module", params=list(ESTIMATORS))
def fitted(request, data):
    """Each baseline fitted on the T = 2 and T = 3 funnels, with its data."""
    cls, own = ESTIMATORS[request.param]
    X, y = data
    est = cls(random_state=0, **own, **SMALL).fit(X, y)
    return est, X, y


# --------------------------------------------------------------- estimators
def _name_of(est):
    return next(name for name, (cls, _) in ESTIMATORS.items() if type(est) is cls)


def test_fit_predict_proba_and_score(fitted):
    est, X, y = fitted
    proba = est.predict_proba(X)

    assert proba.shape == (len(X), y.shape[1])
    assert proba.dtype == np.float64
    assert np.all((proba > 0) & (proba < 1))
    assert est.stage_names_ == list(y.columns)
    assert est.n_iter_ == SMALL["max_epochs"]
    np.testing.assert_array_equal(est.predict(X), (proba >= 0.5).astype(np.int64))
    # every stage is learned from these three epochs
    score = est.score(X, y)
    assert 0.6 < score <= 1.0


def test_fit_is_reproducible(fitted):
    est, X, y = fitted
    again = clone(est).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))


def test_pickle_round_trip(fitted):
    est, X, _ = fitted
    loaded = pickle.loads(pickle.dumps(est))
    assert type(loaded.net_.module_) is type(est.net_.module_)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_clone_and_get_params(fitted):
    est, _, _ = fitted
    cls, own = ESTIMATORS[_name_of(est)]
    cloned = clone(est)

    assert cloned.get_params() == est.get_params()
    assert not hasattr(cloned, "net_")
    params = cls().get_params()
    assert set(own) <= set(params)
    shared = set(SMALL) | {"categorical_features", "cascade", "device", "verbose"}
    assert shared <= set(params)
    assert cls().set_params(**est.get_params()).get_params() == est.get_params()


def test_esmm_probabilities_never_rise(data):
    X, y = data
    est = ESMMClassifier(random_state=0, **SMALL).fit(X, y)
    proba = est.predict_proba(X)
    assert np.all(proba[:, 1:] <= proba[:, :-1])


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_docstring_documents_every_parameter_in_order(name):
    cls, _ = ESTIMATORS[name]
    doc = cls.__doc__
    section = doc[doc.index("Parameters\n") : doc.index("Attributes\n")]
    documented = re.findall(r"^    (\w+) : ", section, flags=re.MULTILINE)
    assert documented == list(inspect.signature(cls).parameters)
    assert "{shared_parameters}" not in doc
    assert "{attributes}" not in doc
    assert "net_ : skorch.NeuralNet" in doc


@pytest.mark.parametrize(
    "cls, params, error, match",
    [
        (SharedBottomClassifier, {"bottom_units": (8, 0)}, ValueError, "bottom_units"),
        (
            SharedBottomClassifier,
            {"bottom_units": "wide"},
            InvalidParameterError,
            "'bottom_units'",
        ),
        (MMoEClassifier, {"n_experts": 0}, InvalidParameterError, "'n_experts'"),
        (MMoEClassifier, {"expert_units": ()}, ValueError, "expert_units"),
        (PLEClassifier, {"n_levels": 0}, InvalidParameterError, "'n_levels'"),
        (
            PLEClassifier,
            {"n_shared_experts": 0},
            InvalidParameterError,
            "'n_shared_experts'",
        ),
        (
            PLEClassifier,
            {"n_task_experts": 1.5},
            InvalidParameterError,
            "'n_task_experts'",
        ),
        (PLEClassifier, {"expert_units": (4.5,)}, ValueError, "expert_units"),
        (
            AITMClassifier,
            {"calibrator_weight": -0.1},
            InvalidParameterError,
            "'calibrator_weight'",
        ),
        (ESMMClassifier, {"hidden_units": (0,)}, ValueError, "hidden_units"),
    ],
)
def test_invalid_hyperparameter_is_named(cls, params, error, match):
    X, y = make_data(n_samples=50)
    with pytest.raises(error, match=match):
        cls(**params).fit(X, y)


@pytest.mark.parametrize(
    "name, own, weight",
    [(name, {}, 0.3 if name == "aitm" else 0.0) for name in ESTIMATORS]
    + [
        ("aitm", {"calibrator_weight": 0.0}, 0.0),
        ("aitm", {"calibrator_weight": 2}, 2),
    ],
)
def test_calibrator_weight_reaches_the_loss(name, own, weight):
    cls, _ = ESTIMATORS[name]
    X, y = make_data(n_samples=100)
    est = cls(random_state=0, **own, **{**SMALL, "max_epochs": 1}).fit(X, y)
    assert est.net_.criterion_.calibrator_weight == weight


@pytest.mark.parametrize(
    "cls, own, network",
    [
        (SharedBottomClassifier, {"bottom_units": (6, 5)}, SharedBottomNetwork),
        (ESMMClassifier, {}, ESMMNetwork),
        (MMoEClassifier, {"n_experts": 3, "expert_units": (6,)}, MMoENetwork),
        (
            PLEClassifier,
            {
                "n_levels": 3,
                "n_shared_experts": 2,
                "n_task_experts": 2,
                "expert_units": (6,),
            },
            PLENetwork,
        ),
        (AITMClassifier, {}, AITMNetwork),
    ],
)
def test_hyperparameters_shape_the_network(cls, own, network):
    X, y = make_data(n_samples=100)
    module = cls(random_state=0, **own, **{**SMALL, "max_epochs": 1}).fit(X, y)
    module = module.net_.module_
    assert type(module) is network
    if network is SharedBottomNetwork:
        assert [layer.out_features for layer in module.bottom[::3]] == [6, 5]
    elif network is MMoENetwork:
        assert module.experts.n_experts == 3
        assert module.experts.output_dim == 6
    elif network is PLENetwork:
        assert len(module.levels) == 3
        assert module.levels[0].shared_experts.n_experts == 2
        assert module.levels[0].task_experts[0].n_experts == 2
    elif network is AITMNetwork:
        assert len(module.ait_modules) == y.shape[1] - 1


# ---------------------------------------------------------- log-space ESMM
def log1mexp_reference(x):
    return np.where(x > -np.log(2), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def chain_logits_reference(conditional, eps):
    """Logit of the cumulative product of sigmoids, in float64 NumPy."""
    log_p = np.cumsum(-np.logaddexp(0.0, -conditional), axis=1)
    log_p = np.minimum(log_p, -eps)
    return log_p - log1mexp_reference(log_p)


def test_log1mexp_matches_numpy_and_has_finite_gradients():
    x = torch.tensor(
        [-1e-7, -1e-3, -0.5, -np.log(2), -0.7, -2.0, -30.0, -1e4], dtype=torch.float64
    ).requires_grad_()
    out = log1mexp(x)
    np.testing.assert_allclose(
        out.detach().numpy(), log1mexp_reference(x.detach().numpy()), rtol=1e-12
    )
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_chain_logits_matches_reference_and_stays_finite(dtype):
    rng = np.random.default_rng(1)
    conditional = rng.normal(0, 3, (50, 3))
    conditional[:6] = [
        [1e4, 1e4, 1e4],
        [-1e4, -1e4, -1e4],
        [60.0, -60.0, 60.0],
        [-200.0, 200.0, -200.0],
        [30.0, 30.0, 30.0],
        [0.0, 1e4, -1e4],
    ]
    tensor = torch.tensor(conditional, dtype=dtype, requires_grad=True)
    logits = chain_logits(tensor)
    eps = torch.finfo(dtype).eps
    expected = chain_logits_reference(conditional, eps)

    assert torch.isfinite(logits).all()
    np.testing.assert_allclose(
        logits.detach().double().numpy(), expected, rtol=1e-5, atol=1e-5
    )
    assert (logits[:, 1:] <= logits[:, :-1]).all()
    # a saturated chain is capped just below probability 1
    assert float(logits[0, 2].detach()) == pytest.approx(-np.log(eps), rel=1e-3)
    F = torch.nn.functional
    F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)).backward()
    assert torch.isfinite(tensor.grad).all()


def test_chain_logits_are_the_product_of_conditionals():
    rng = np.random.default_rng(2)
    conditional = rng.normal(0, 2, (30, 4))
    logits = chain_logits(torch.tensor(conditional)).numpy()
    product = np.cumprod(1.0 / (1.0 + np.exp(-conditional)), axis=1)
    np.testing.assert_allclose(1.0 / (1.0 + np.exp(-logits)), product, rtol=1e-12)


@pytest.mark.parametrize("n_stages", [2, 3, 5])
@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_esmm_network_is_monotone_and_finite_with_extreme_weights(
    inputs, n_stages, scale
):
    net = make_net(ESMMNetwork, n_stages, scale=scale)
    with torch.no_grad():
        for t, head in enumerate(net.towers.heads):
            head.bias.fill_(5e3 if t % 2 == 0 else -5e3)
    net.train()
    logits = net(*inputs)
    assert torch.isfinite(logits).all()
    assert (logits[:, 1:] <= logits[:, :-1]).all()
    proba = torch.sigmoid(logits.double())
    assert (proba[:, 1:] <= proba[:, :-1]).all()
    labels = torch.ones_like(logits)
    CascadeLoss()(logits, labels).backward()
    for parameter in net.parameters():
        assert torch.isfinite(parameter.grad).all()


# ------------------------------------------------------- NumPy references
@pytest.fixture
def inputs():
    rng = np.random.default_rng(0)
    x_cat = np.column_stack(
        [rng.integers(0, n, N_SAMPLES) for n in CARDINALITIES]
    ).astype(np.int64)
    x_cat[:3] = 0  # some out-of-vocabulary rows
    x_num = rng.normal(size=(N_SAMPLES, N_NUMERIC)).astype(np.float32)
    return torch.as_tensor(x_cat), torch.as_tensor(x_num)


def make_net(network, n_stages, scale=2.0, **kwargs):
    """A tiny network with weights scaled up so gates and attention are not flat."""
    params = {"embedding_dim": 3, "hidden_units": (5, 4), "dropout": 0.0, **kwargs}
    net = network(CARDINALITIES, N_NUMERIC, n_stages, **params)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.mul_(scale)
    return net.eval()


def state(net):
    return {k: v.detach().double().numpy() for k, v in net.state_dict().items()}


def linear(params, name, a):
    out = a @ params[f"{name}.weight"].T
    bias = params.get(f"{name}.bias")
    return out if bias is None else out + bias


def relu_mlp(params, prefix, a):
    """Apply the Linear-ReLU(-Dropout) layers stored under ``prefix``."""
    depth = len(prefix.split("."))
    layers = sorted(
        {int(k.split(".")[depth]) for k in params if k.startswith(f"{prefix}.")}
    )
    for i in layers:
        a = np.maximum(linear(params, f"{prefix}.{i}", a), 0.0)
    return a


def softmax(z, axis):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def embed(params, x_cat, x_num, cardinalities=CARDINALITIES):
    """Embed each column from its block of rows in the shared table."""
    table = params["inputs.embedding.weight"]
    offsets = np.cumsum([0] + [n - 1 for n in cardinalities])
    parts = [
        table[np.where(x_cat[:, j] > 0, x_cat[:, j] + offsets[j], 0)]
        for j in range(x_cat.shape[1])
    ]
    return np.concatenate(parts + [x_num.astype(np.float64)], axis=1)


def wide_logits(params, x_cat, x_num, cardinalities=CARDINALITIES):
    """The wide layer's logits: summed category weights plus a linear map."""
    x_cat, x_num = np.asarray(x_cat), np.asarray(x_num, dtype=np.float64)
    table = params["wide.categories.embedding.weight"]
    offsets = np.cumsum([0] + [n - 1 for n in cardinalities])
    rows = np.where(x_cat > 0, x_cat + offsets[: x_cat.shape[1]], 0)
    return table[rows].sum(axis=1) + linear(params, "wide.numbers", x_num)


def randomise_wide(net):
    """Give the wide layer, which starts at zero, weights that matter."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in net.wide.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
        net.wide.categories.embedding.weight[0] = 0.0  # the OOV row adds nothing


def towers(params, inputs, prefix="towers"):
    return np.column_stack(
        [
            linear(
                params,
                f"{prefix}.heads.{t}",
                relu_mlp(params, f"{prefix}.towers.{t}", x),
            )
            for t, x in enumerate(inputs)
        ]
    )


def experts(params, prefix, n_experts, x):
    """Expert outputs, shape (n, n_experts, width), one expert at a time."""
    n_layers = len([k for k in params if k.startswith(f"{prefix}.weights.")])
    outputs = []
    for e in range(n_experts):
        a = x
        for layer in range(n_layers):
            weight = params[f"{prefix}.weights.{layer}"][e]
            bias = params[f"{prefix}.biases.{layer}"][e]
            a = np.maximum(a @ weight + bias, 0.0)
        outputs.append(a)
    return np.stack(outputs, axis=1)


def mix(gate_logits, outputs):
    return np.einsum("ne,ned->nd", softmax(gate_logits, axis=1), outputs)


def reference_shared_bottom(params, x, n_stages, wide=0.0):
    shared = relu_mlp(params, "bottom", x)
    return towers(params, [shared] * n_stages) + wide


def reference_esmm(params, x, n_stages, wide=0.0):
    conditional = towers(params, [x] * n_stages) + wide
    product = np.cumprod(1.0 / (1.0 + np.exp(-conditional)), axis=1)
    return np.log(product) - np.log1p(-product)


def reference_mmoe(params, x, n_stages, n_experts, wide=0.0):
    outputs = experts(params, "experts", n_experts, x)
    mixed = [mix(linear(params, f"gates.{t}", x), outputs) for t in range(n_stages)]
    return towers(params, mixed) + wide


def reference_ple(params, x, n_stages, n_levels, n_task, n_shared, wide=0.0):
    task_inputs, shared_input = [x] * n_stages, x
    for level in range(n_levels):
        m = f"levels.{level}"
        shared = experts(params, f"{m}.shared_experts", n_shared, shared_input)
        owned = [
            experts(params, f"{m}.task_experts.{t}", n_task, task_inputs[t])
            for t in range(n_stages)
        ]
        new_inputs = [
            mix(
                linear(params, f"{m}.task_gates.{t}", task_inputs[t]),
                np.concatenate([owned[t], shared], axis=1),
            )
            for t in range(n_stages)
        ]
        if level < n_levels - 1:
            shared_input = mix(
                linear(params, f"{m}.shared_gate", shared_input),
                np.concatenate([*owned, shared], axis=1),
            )
        else:
            assert f"{m}.shared_gate.weight" not in params
        task_inputs = new_inputs
    return towers(params, task_inputs) + wide


def reference_aitm(params, x, n_stages, wide=0.0):
    hidden = [relu_mlp(params, f"towers.{t}", x) for t in range(n_stages)]
    fused = [hidden[0]]
    for t in range(1, n_stages):
        m = f"ait_modules.{t - 1}"
        transfer = np.maximum(linear(params, f"{m}.transfer.0", fused[-1]), 0.0)
        tokens = np.stack([hidden[t], transfer], axis=1)  # (n, 2, k)
        query = linear(params, f"{m}.query", tokens)
        key = linear(params, f"{m}.key", tokens)
        value = linear(params, f"{m}.value", tokens)
        scores = (query * key).sum(axis=2) / np.sqrt(tokens.shape[2])
        weights = softmax(scores, axis=1)
        fused.append((weights[:, :, None] * value).sum(axis=1))
    logits = [linear(params, f"heads.{t}", z)[:, 0] for t, z in enumerate(fused)]
    return np.column_stack(logits) + wide


REFERENCES = {
    "shared_bottom": (
        SharedBottomNetwork,
        {"bottom_units": (6, 5)},
        lambda p, x, t, w: reference_shared_bottom(p, x, t, wide=w),
    ),
    "esmm": (ESMMNetwork, {}, lambda p, x, t, w: reference_esmm(p, x, t, wide=w)),
    "mmoe": (
        MMoENetwork,
        {"n_experts": 3, "expert_units": (6,)},
        lambda p, x, t, w: reference_mmoe(p, x, t, n_experts=3, wide=w),
    ),
    "mmoe_deep_experts": (
        MMoENetwork,
        {"n_experts": 3, "expert_units": (6, 5)},
        lambda p, x, t, w: reference_mmoe(p, x, t, n_experts=3, wide=w),
    ),
    "ple_cgc": (
        PLENetwork,
        {"n_levels": 1, "n_task_experts": 2, "n_shared_experts": 1},
        lambda p, x, t, w: reference_ple(
            p, x, t, n_levels=1, n_task=2, n_shared=1, wide=w
        ),
    ),
    "ple_2_levels": (
        PLENetwork,
        {"n_levels": 2, "n_task_experts": 1, "n_shared_experts": 2},
        lambda p, x, t, w: reference_ple(
            p, x, t, n_levels=2, n_task=1, n_shared=2, wide=w
        ),
    ),
    "aitm": (AITMNetwork, {}, lambda p, x, t, w: reference_aitm(p, x, t, wide=w)),
}


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize("n_stages", [2, 3])
@pytest.mark.parametrize("name", list(REFERENCES))
def test_forward_matches_numpy_reference(inputs, name, n_stages, wide):
    network, kwargs, reference = REFERENCES[name]
    net = make_net(network, n_stages, wide=wide, **kwargs)
    if wide:
        randomise_wide(net)
    with torch.no_grad():
        out = net(*inputs).numpy()
    params = state(net)
    x_cat, x_num = (t.numpy() for t in inputs)
    expected = reference(params, embed(params, x_cat, x_num), n_stages, 0.0)
    if wide:
        with_wide = reference(
            params, embed(params, x_cat, x_num), n_stages, wide_logits(params, *inputs)
        )
        assert np.abs(with_wide - expected).max() > 0.05  # the wide part counts
        expected = with_wide

    assert out.shape == (N_SAMPLES, n_stages)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    assert np.ptp(expected, axis=0).min() > 0.05  # not a constant output


@pytest.mark.parametrize("name", list(REFERENCES))
def test_labels_are_ignored(inputs, name):
    network, kwargs, _ = REFERENCES[name]
    net = make_net(network, 3, **kwargs).train()  # dropout is 0
    labels = torch.ones(N_SAMPLES, 3)
    with torch.no_grad():
        torch.testing.assert_close(net(*inputs, labels=labels), net(*inputs))


def test_gates_and_attention_are_not_flat(inputs):
    """The references above would miss a wrong softmax axis on flat weights."""
    net = make_net(MMoENetwork, 2, scale=1.5, n_experts=3, expert_units=(6,))
    params = state(net)
    x = embed(params, *(t.numpy() for t in inputs))
    weights = softmax(linear(params, "gates.0", x), axis=1)
    assert weights.max() > 0.6
    net = make_net(AITMNetwork, 2, scale=1.5)
    params = state(net)
    x = embed(params, *(t.numpy() for t in inputs))
    h = relu_mlp(params, "towers.1", x)
    p = np.maximum(
        linear(params, "ait_modules.0.transfer.0", relu_mlp(params, "towers.0", x)), 0
    )
    tokens = np.stack([h, p], axis=1)
    scores = (
        linear(params, "ait_modules.0.query", tokens)
        * linear(params, "ait_modules.0.key", tokens)
    ).sum(axis=2) / 2.0
    assert np.ptp(softmax(scores, axis=1)[:, 0]) > 0.1


# ---------------------------------------------------------- AITM's loss
def reference_bce(logits, labels):
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


def reference_aitm_loss(logits, labels, alpha):
    bce = reference_bce(logits, labels).mean(axis=0).sum()
    q = 1.0 / (1.0 + np.exp(-logits))
    return bce + alpha * np.maximum(q[:, 1:] - q[:, :-1], 0.0).mean()


@pytest.mark.parametrize("n_stages", [2, 3])
def test_aitm_loss_with_calibrator_matches_numpy(inputs, n_stages):
    rng = np.random.default_rng(3)
    net = make_net(AITMNetwork, n_stages, scale=1.5)
    labels = np.cumprod(rng.random((N_SAMPLES, n_stages)) < 0.6, axis=1)
    labels = torch.as_tensor(labels, dtype=torch.float32)
    alpha = AITMClassifier()._calibrator_weight()
    with torch.no_grad():
        loss = CascadeLoss(calibrator_weight=alpha)(net(*inputs), labels)

    params = state(net)
    x = embed(params, *(t.numpy() for t in inputs))
    logits = reference_aitm(params, x, n_stages)
    expected = reference_aitm_loss(logits, labels.numpy(), alpha)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    # the calibrator is active here: some stage is predicted above its prior
    q = 1.0 / (1.0 + np.exp(-logits))
    assert (q[:, 1:] > q[:, :-1]).any()
    assert expected > reference_aitm_loss(logits, labels.numpy(), 0.0)


def test_fitted_aitm_loss_matches_numpy():
    X, y = make_data(n_samples=120, n_stages=3)
    est = AITMClassifier(random_state=0, **SMALL).fit(X, y)
    features = est._encoder.transform(X)
    x_cat = torch.as_tensor(features.categorical)
    x_num = torch.as_tensor(features.numeric)
    module = est.net_.module_.eval()
    labels = torch.tensor(y.to_numpy(), dtype=torch.float32)
    with torch.no_grad():
        loss = est.net_.get_loss(module(x_cat, x_num), labels)

    params = state(module)
    x = embed(params, x_cat.numpy(), x_num.numpy())
    logits = reference_aitm(params, x, 3, wide=wide_logits(params, x_cat, x_num))
    expected = reference_aitm_loss(logits, y.to_numpy().astype(float), 0.3)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(
        est.predict_proba(X), 1.0 / (1.0 + np.exp(-logits)), rtol=1e-4, atol=1e-6
    )
