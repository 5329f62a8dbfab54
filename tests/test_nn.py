"""Tests of the PIMM network against a NumPy reference, and of its loss."""

import numpy as np
import pytest
import torch

from sk_pimm._net import CascadeLoss
from sk_pimm.nn import PIMMNetwork

CARDINALITIES = [4, 3]
N_NUMERIC = 2
N_SAMPLES = 16


pytestmark = pytest.mark.usefixtures("torch_seed")


@pytest.fixture
def inputs(rng):
    x_cat = np.column_stack(
        [rng.integers(0, n, N_SAMPLES) for n in CARDINALITIES]
    ).astype(np.int64)
    x_cat[:3] = 0  # some out-of-vocabulary rows
    x_num = rng.normal(size=(N_SAMPLES, N_NUMERIC)).astype(np.float32)
    return torch.as_tensor(x_cat), torch.as_tensor(x_num)


def make_net(n_stages=3, scale=2.0, **kwargs):
    """A tiny PIMM network with weights scaled up so attention is not uniform."""
    params = dict(embedding_dim=3, hidden_units=(5, 4), dropout=0.0)
    params.update(kwargs)
    net = PIMMNetwork(CARDINALITIES, N_NUMERIC, n_stages, **params)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.mul_(scale)
    return net


def nested_labels(rng, n_stages, n=N_SAMPLES):
    steps = rng.random((n, n_stages)) < 0.6
    return torch.as_tensor(np.cumprod(steps, axis=1), dtype=torch.float32)


# --------------------------------------------------------------------------
# NumPy reference of one forward pass
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def linear(params, name, a):
    out = a @ params[f"{name}.weight"].T
    bias = params.get(f"{name}.bias")
    return out if bias is None else out + bias


def reference_forward(net, x_cat, x_num, premise=None):
    """Forward pass in float64 from the state_dict alone.

    ``premise(t, q)`` overrides the premise of stage ``t`` given the prior
    prediction ``q``; by default the premise is ``q`` (prediction time).
    """
    params = {k: v.detach().double().numpy() for k, v in net.state_dict().items()}
    x_cat, x_num = x_cat.numpy(), x_num.numpy().astype(np.float64)
    n_stages = len(net.towers)
    chain = net.pim_modules[0].chain_premise

    # Each column owns a block of rows in one shared table; code 0 is row 0.
    table = params["inputs.embedding.weight"]
    offsets = np.cumsum([0] + [n - 1 for n in net.inputs.cardinalities])
    parts = [
        table[np.where(x_cat[:, j] > 0, x_cat[:, j] + offsets[j], 0)]
        for j in range(x_cat.shape[1])
    ]
    x = np.concatenate(parts + [x_num], axis=1)
    # The wide part: a weight per category and a linear map of the numbers.
    wide = np.zeros((len(x), n_stages))
    if "wide.numbers.weight" in params:
        wide_table = params["wide.categories.embedding.weight"]
        rows = np.where(x_cat > 0, x_cat + offsets[: x_cat.shape[1]], 0)
        wide = wide_table[rows].sum(axis=1) + linear(params, "wide.numbers", x_num)

    hidden = []
    for t in range(n_stages):
        layers = sorted(
            {int(k.split(".")[2]) for k in params if k.startswith(f"towers.{t}.")}
        )
        a = x
        for i in layers:
            a = np.maximum(linear(params, f"towers.{t}.{i}", a), 0.0)
        hidden.append(a)

    logits = [linear(params, "first_head", hidden[0])[:, 0] + wide[:, 0]]
    for t in range(1, n_stages):
        m = f"pim_modules.{t - 1}"
        q = sigmoid(logits[-1])
        s = (q if premise is None else premise(t, q))[:, None]
        e = params[f"{m}.premise_embedding"]
        u = s * e[1] + (1 - s) * e[0]
        tokens = [hidden[t], u]
        if f"{m}.transfer.weight" in params:
            tokens.insert(1, linear(params, f"{m}.transfer", hidden[t - 1]))
        tokens = np.stack(tokens, axis=1)  # (n, n_tokens, k)
        if f"{m}.fusion.linear.weight" in params:
            flat = tokens.reshape(len(tokens), -1)
            fused = np.maximum(linear(params, f"{m}.fusion.linear", flat), 0.0)
        else:
            width = tokens.shape[2]
            query = linear(params, f"{m}.fusion.query", tokens)
            key = linear(params, f"{m}.fusion.key", tokens)
            value = linear(params, f"{m}.fusion.value", tokens)
            scores = query @ key.transpose(0, 2, 1) / np.sqrt(width)
            scores -= scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            fused = (weights @ value + tokens)[:, 0]
        logit = linear(params, f"{m}.head", fused)[:, 0] + wide[:, t]
        if chain:  # q_t = s * sigmoid(logit), as a logit
            premise_value = np.maximum(s[:, 0], np.finfo(np.float32).tiny)
            product = premise_value * sigmoid(logit)
            logit = np.log(product) - np.log1p(-product)
        logits.append(logit)
    return np.column_stack(logits)


# --------------------------------------------------------------------------
# shapes and the reference
@pytest.mark.parametrize("n_stages", [2, 3, 4])
def test_output_shape(inputs, n_stages):
    net = make_net(n_stages).eval()
    out = net(*inputs)
    assert out.shape == (N_SAMPLES, n_stages)
    assert out.dtype == torch.float32
    assert len(net.pim_modules) == n_stages - 1


@pytest.mark.parametrize(
    "variant",
    [
        {"fusion": "concat"},
        {"use_transfer": False},
        {"fusion": "concat", "use_transfer": False},
    ],
    ids=["concat", "no-transfer", "concat-no-transfer"],
)
@pytest.mark.parametrize("n_stages", [2, 4])
def test_ablation_shapes(inputs, n_stages, variant):
    net = make_net(n_stages, **variant).eval()
    assert net(*inputs).shape == (N_SAMPLES, n_stages)
    module = net.pim_modules[0]
    assert (module.transfer is None) == (variant.get("use_transfer") is False)
    if variant.get("fusion") == "concat":
        n_tokens = 2 if module.transfer is None else 3
        assert module.fusion.linear.in_features == 4 * n_tokens


@pytest.mark.parametrize("n_stages", [2, 3])
def test_forward_matches_numpy_reference(inputs, n_stages):
    net = make_net(n_stages).eval()
    with torch.no_grad():
        out = net(*inputs).numpy()
    expected = reference_forward(net, *inputs)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    # the attention is not trivially uniform at these weights
    assert np.ptp(expected[:, 1]) > 0.1


@pytest.mark.parametrize(
    "variant",
    [{"fusion": "concat"}, {"use_transfer": False}],
    ids=["concat", "no-transfer"],
)
def test_ablations_match_numpy_reference(inputs, variant):
    net = make_net(3, **variant).eval()
    with torch.no_grad():
        out = net(*inputs).numpy()
    np.testing.assert_allclose(
        out, reference_forward(net, *inputs), rtol=1e-5, atol=1e-5
    )


def test_wide_part_matches_numpy_reference_and_feeds_the_premise(inputs):
    net = make_net(3, wide=True).eval()
    with torch.no_grad():
        narrow = net(*inputs).numpy()
    # the wide logits start at zero
    np.testing.assert_allclose(
        narrow, reference_forward(net, *inputs), rtol=1e-5, atol=1e-5
    )
    with torch.no_grad():
        for parameter in net.wide.parameters():
            parameter.normal_(0.0, 1.0)
        net.wide.categories.embedding.weight[0] = 0.0  # the OOV row adds nothing
        out = net(*inputs).numpy()
    np.testing.assert_allclose(
        out, reference_forward(net, *inputs), rtol=1e-5, atol=1e-5
    )
    # then shift every stage
    assert (np.abs(out - narrow).max(axis=0) > 0.1).all()


@pytest.mark.parametrize("wide", [False, True])
def test_chained_premise_matches_numpy_reference(inputs, wide):
    net = make_net(3, chain_premise=True, wide=wide).eval()
    with torch.no_grad():
        if wide:
            net.wide.numbers.weight.normal_(0.0, 1.0)
        out = net(*inputs).numpy()
    np.testing.assert_allclose(
        out, reference_forward(net, *inputs), rtol=1e-5, atol=1e-5
    )
    # a product of probabilities: never rises along the funnel
    assert (np.diff(out, axis=1) <= 0).all()


def test_chained_premise_with_labels_is_the_conditional_or_zero(inputs, rng):
    net = make_net(3, chain_premise=True).train()
    net.label_probability = 1.0
    labels = nested_labels(rng, 3)
    with torch.no_grad():
        out = net(*inputs, labels=labels).numpy()
    y = labels.numpy().astype(bool)
    # missed the prior stage: probability about 0, as a finite logit
    assert np.isfinite(out).all()
    assert (out[:, 1:][~y[:, :-1]] < -80).all()
    # reached it: the head's conditional itself
    expected = reference_forward(
        net, *inputs, premise=lambda t, q: y[:, t - 1].astype(np.float64)
    )
    reached = y[:, :-1]
    np.testing.assert_allclose(
        out[:, 1:][reached], expected[:, 1:][reached], rtol=1e-5, atol=1e-5
    )


def test_chained_premise_trains_with_finite_gradients(inputs, rng):
    net = make_net(3, chain_premise=True).train()
    net.label_probability = 0.5
    labels = nested_labels(rng, 3)
    loss = CascadeLoss()(net(*inputs, labels=labels), labels)
    loss.backward()
    assert torch.isfinite(loss)
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_forward_returns_logits_not_probabilities(inputs):
    net = make_net(3).eval()
    with torch.no_grad():
        net.first_head.bias.fill_(-4.0)
        net.pim_modules[0].head.bias.fill_(3.0)
        out = net(*inputs).numpy()
    assert (out[:, 0] < 0).all()
    assert (out[:, 1] > 1).any()
    np.testing.assert_allclose(
        out, reference_forward(net, *inputs), rtol=1e-5, atol=1e-5
    )


def test_dropout_is_off_in_eval_mode(inputs):
    net = make_net(3, dropout=0.5).eval()
    with torch.no_grad():
        first, second = net(*inputs), net(*inputs)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    np.testing.assert_allclose(
        first.numpy(), reference_forward(net, *inputs), rtol=1e-5, atol=1e-5
    )


# --------------------------------------------------------------------------
# labels and the premise
def test_labels_are_ignored_in_eval_mode(inputs, rng):
    net = make_net(3).eval()
    labels = nested_labels(rng, 3)
    with torch.no_grad():
        plain = net(*inputs)
        with_labels = net(*inputs, labels=labels)
        flipped = net(*inputs, labels=1 - labels)
    torch.testing.assert_close(with_labels, plain, rtol=0, atol=0)
    torch.testing.assert_close(flipped, plain, rtol=0, atol=0)


def test_hard_sampling_with_p1_feeds_the_labels(inputs, rng):
    net = make_net(3, sampling="hard").train()
    net.label_probability = 1.0
    labels = nested_labels(rng, 3)
    with torch.no_grad():
        out = net(*inputs, labels=labels)
        flipped = net(*inputs, labels=1 - labels)
    torch.testing.assert_close(out[:, 0], flipped[:, 0], rtol=0, atol=0)
    assert (out[:, 1:] != flipped[:, 1:]).all()
    y = labels.numpy().astype(np.float64)
    expected = reference_forward(net, *inputs, premise=lambda t, q: y[:, t - 1])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sampling", ["hard", "soft"])
def test_p0_never_uses_the_labels(inputs, rng, sampling):
    net = make_net(3, sampling=sampling).train()
    net.label_probability = 0.0
    labels = nested_labels(rng, 3)
    with torch.no_grad():
        out = net(*inputs, labels=labels)
        flipped = net(*inputs, labels=1 - labels)
        plain = net(*inputs)
    torch.testing.assert_close(out, flipped, rtol=0, atol=0)
    torch.testing.assert_close(out, plain, rtol=0, atol=0)
    np.testing.assert_allclose(
        out.numpy(), reference_forward(net, *inputs), rtol=1e-5, atol=1e-5
    )


def test_soft_premise_mixes_label_and_prediction(rng):
    net = make_net(2, sampling="soft").train()
    module = net.pim_modules[0]
    logit = torch.as_tensor(rng.normal(0, 2, 50), dtype=torch.float32)
    label = torch.as_tensor(rng.integers(0, 2, 50), dtype=torch.float32)
    s = module.premise(logit, label, 0.5)
    expected = 0.5 * label.numpy() + 0.5 * sigmoid(logit.numpy().astype(np.float64))
    np.testing.assert_allclose(s.numpy(), expected, rtol=1e-6)
    s = module.premise(logit, label, 0.2)
    expected = 0.2 * label.numpy() + 0.8 * sigmoid(logit.numpy().astype(np.float64))
    np.testing.assert_allclose(s.numpy(), expected, rtol=1e-6)
    # without a label the premise is the prediction
    np.testing.assert_allclose(
        module.premise(logit, None, 0.5).numpy(),
        sigmoid(logit.numpy().astype(np.float64)),
        rtol=1e-6,
    )


def test_soft_forward_matches_reference(inputs, rng):
    net = make_net(3, sampling="soft").train()
    net.label_probability = 0.5
    labels = nested_labels(rng, 3)
    with torch.no_grad():
        out = net(*inputs, labels=labels).numpy()
    y = labels.numpy().astype(np.float64)
    expected = reference_forward(
        net, *inputs, premise=lambda t, q: 0.5 * y[:, t - 1] + 0.5 * q
    )
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_hard_premise_takes_label_with_probability_p():
    net = make_net(2, sampling="hard").train()
    module = net.pim_modules[0]
    n = 20_000
    logit = torch.zeros(n)  # prediction 0.5, label 1: the two are told apart
    label = torch.ones(n)
    s = module.premise(logit, label, 0.3).numpy()
    assert set(np.unique(s)) == {0.5, 1.0}
    # 0.3 +- 6 standard errors (sd of the mean ~ 0.0032)
    assert abs((s == 1.0).mean() - 0.3) < 0.02
    # per sample: another draw picks different rows
    again = module.premise(logit, label, 0.3).numpy()
    assert (again != s).any()


# --------------------------------------------------------------------------
# gradients
def grad_size(parameters):
    return sum(0.0 if p.grad is None else float(p.grad.abs().sum()) for p in parameters)


def backward_on_stage(net, inputs, stage, labels=None):
    net.zero_grad(set_to_none=True)
    net(*inputs, labels=labels)[:, stage].sum().backward()


@pytest.mark.parametrize("stop_prior", [True, False])
def test_stop_prior_gradient_without_transfer(inputs, stop_prior):
    net = make_net(2, use_transfer=False, stop_prior_gradient=stop_prior).eval()
    backward_on_stage(net, inputs, 1)
    head_grad = grad_size(net.first_head.parameters())
    tower_grad = grad_size(net.towers[0].parameters())
    if stop_prior:
        assert head_grad == 0.0
        assert tower_grad == 0.0
    else:
        assert head_grad > 0.0
        assert tower_grad > 0.0
    assert grad_size(net.towers[1].parameters()) > 0.0
    assert grad_size(net.pim_modules[0].parameters()) > 0.0


def test_with_stop_prior_gradient_reaches_prior_tower_only_via_transfer(inputs):
    net = make_net(2, stop_prior_gradient=True).eval()
    backward_on_stage(net, inputs, 1)
    assert grad_size(net.first_head.parameters()) == 0.0
    assert grad_size(net.towers[0].parameters()) > 0.0
    assert grad_size(net.pim_modules[0].transfer.parameters()) > 0.0


def test_stop_transfer_gradient_blocks_prior_tower(inputs):
    net = make_net(3, stop_prior_gradient=True, stop_transfer_gradient=True).eval()
    backward_on_stage(net, inputs, 1)
    assert grad_size(net.towers[0].parameters()) == 0.0
    assert grad_size(net.first_head.parameters()) == 0.0
    assert grad_size(net.towers[1].parameters()) > 0.0
    assert grad_size(net.pim_modules[0].transfer.parameters()) > 0.0
    assert grad_size(net.inputs.parameters()) > 0.0
    # stage 3 reaches back to nothing upstream of its own tower and module
    backward_on_stage(net, inputs, 2)
    for upstream in (net.towers[0], net.towers[1], net.first_head, net.pim_modules[0]):
        assert grad_size(upstream.parameters()) == 0.0
    assert grad_size(net.towers[2].parameters()) > 0.0


def test_transfer_gradient_flows_when_not_stopped(inputs):
    net = make_net(3, stop_prior_gradient=True, stop_transfer_gradient=False).eval()
    backward_on_stage(net, inputs, 2)
    assert grad_size(net.towers[1].parameters()) > 0.0
    # stage 2's module reaches stage 3 only through its detached prediction
    assert grad_size(net.pim_modules[0].parameters()) == 0.0


def test_label_premise_carries_no_gradient_to_prior_head(inputs, rng):
    # p = 1 and no stop: every premise is a label, so nothing reaches the head.
    net = make_net(2, use_transfer=False, stop_prior_gradient=False).train()
    net.label_probability = 1.0
    backward_on_stage(net, inputs, 1, labels=nested_labels(rng, 2))
    assert grad_size(net.first_head.parameters()) == 0.0


def test_oov_embedding_row_is_zero_and_frozen(inputs):
    net = make_net(3, scale=1.0).train()
    x_cat, _ = inputs
    assert (x_cat == 0).any(dim=0).all()
    layer = net.inputs
    for j in range(x_cat.shape[1]):
        assert (layer.column_weight(j)[0] == 0).all()
    offsets = np.cumsum([0] + [n - 1 for n in layer.cardinalities])
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(3):
        optimizer.zero_grad()
        net(*inputs).sum().backward()
        grad = layer.embedding.weight.grad
        assert (grad[0] == 0).all()
        for j in range(x_cat.shape[1]):
            used = torch.unique(x_cat[:, j])
            used = used[used > 0]
            assert (grad[used + offsets[j]].abs().sum(dim=1) > 0).all()
        optimizer.step()
    for j in range(x_cat.shape[1]):
        assert (layer.column_weight(j)[0] == 0).all()


# --------------------------------------------------------------------------
# the loss
def reference_bce(logits, labels):
    """Per-element BCE on logits, in the overflow-free form."""
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


@pytest.fixture
def logits_and_labels(rng):
    logits = rng.normal(0, 3, (40, 3))
    logits[0] = [40.0, -40.0, 25.0]  # saturated values stay finite
    labels = np.cumprod(rng.random((40, 3)) < 0.5, axis=1).astype(np.float64)
    return logits, labels


def as_tensors(*arrays):
    return [torch.as_tensor(a, dtype=torch.float32) for a in arrays]


def test_loss_is_sum_of_stage_means(logits_and_labels):
    logits, labels = logits_and_labels
    loss = CascadeLoss()(*as_tensors(logits, labels))
    expected = reference_bce(logits, labels).mean(axis=0).sum()
    assert loss.ndim == 0
    assert float(loss) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "weights", [[1.0, 0.5, 2.0], np.array([0.0, 1.0, 3.0]), (1, 2, 3)]
)
def test_loss_with_stage_weights(logits_and_labels, weights):
    logits, labels = logits_and_labels
    loss = CascadeLoss(stage_weights=weights)(*as_tensors(logits, labels))
    per_stage = reference_bce(logits, labels).mean(axis=0)
    expected = (np.asarray(weights, dtype=float) * per_stage).sum()
    assert loss.dtype == torch.float32
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_loss_with_calibrator(logits_and_labels):
    logits, labels = logits_and_labels
    logits[:, 2] += 2.0  # make the last stage often exceed the one before
    criterion = CascadeLoss(stage_weights=[1.0, 2.0, 0.5], calibrator_weight=0.3)
    loss = criterion(*as_tensors(logits, labels))
    q = sigmoid(logits)
    rise = np.maximum(q[:, 1:] - q[:, :-1], 0.0)
    assert rise.mean() > 0.05
    bce = (np.array([1.0, 2.0, 0.5]) * reference_bce(logits, labels).mean(0)).sum()
    assert float(loss) == pytest.approx(bce + 0.3 * rise.mean(), rel=1e-5)


def test_loss_gradient_is_sigmoid_minus_label(logits_and_labels):
    logits, labels = logits_and_labels
    z, y = as_tensors(logits, labels)
    z.requires_grad_(True)
    CascadeLoss(stage_weights=[1.0, 2.0, 3.0])(z, y).backward()
    expected = (sigmoid(logits) - labels) / len(logits) * np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-4, atol=1e-7)
