"""Tests of the per-stage metrics, the batch loader and the skorch net."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import log_loss, roc_auc_score
from skorch.helper import predefined_split

from sk_pimm._data import BatchSliceLoader, CascadeDataset
from sk_pimm._encoding import EncodedFeatures
from sk_pimm._net import CascadeLoss, CascadeNet
from sk_pimm.metrics import stage_log_loss, stage_roc_auc

pytestmark = pytest.mark.usefixtures("torch_seed")


@pytest.fixture
def funnel(rng):
    """Nested labels and probabilities that carry some signal."""
    y = np.cumprod(rng.random((300, 3)) < 0.5, axis=1)
    proba = np.clip(0.3 * y + 0.7 * rng.random(y.shape), 1e-3, 1 - 1e-3)
    return y, proba


# --------------------------------------------------------------------------
# metrics
def test_stage_roc_auc_matches_sklearn_per_column(funnel):
    y, proba = funnel
    auc = stage_roc_auc(y, proba)
    assert auc.shape == (3,)
    expected = [roc_auc_score(y[:, t], proba[:, t]) for t in range(3)]
    np.testing.assert_allclose(auc, expected, rtol=1e-12)
    assert (auc > 0.6).all()
    frame = pd.DataFrame(y, columns=["a", "b", "c"])
    np.testing.assert_allclose(stage_roc_auc(frame, proba.tolist()), expected)


def test_stage_roc_auc_is_computed_over_all_rows(funnel):
    # the AUC over the whole set is not the mean of the AUCs of its halves
    y, proba = funnel
    whole = stage_roc_auc(y, proba)
    halves = np.mean(
        [stage_roc_auc(y[s], proba[s]) for s in (slice(0, 150), slice(150, 300))],
        axis=0,
    )
    assert not np.allclose(whole, halves)


@pytest.mark.parametrize("constant", [0, 1])
def test_stage_roc_auc_is_nan_for_a_single_class(funnel, constant):
    y, proba = funnel
    y = y.copy()
    y[:, 2] = constant
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auc = stage_roc_auc(y, proba)
    assert np.isnan(auc[2])
    np.testing.assert_allclose(
        auc[:2], [roc_auc_score(y[:, t], proba[:, t]) for t in range(2)]
    )


def test_stage_log_loss_matches_sklearn_and_numpy(funnel):
    y, proba = funnel
    loss = stage_log_loss(y, proba)
    expected = [log_loss(y[:, t], proba[:, t]) for t in range(3)]
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    reference = -np.mean(y * np.log(proba) + (1 - y) * np.log(1 - proba), axis=0)
    np.testing.assert_allclose(loss, reference, rtol=1e-10)


def test_stage_log_loss_with_a_single_class(funnel):
    y, proba = funnel
    y = y.copy()
    y[:, 2] = 0
    loss = stage_log_loss(y, proba)
    np.testing.assert_allclose(loss[2], -np.mean(np.log(1 - proba[:, 2])))


@pytest.mark.parametrize("metric", [stage_roc_auc, stage_log_loss])
def test_shape_mismatch(metric, funnel):
    y, proba = funnel
    with pytest.raises(ValueError, match=r"got \(300, 3\) and \(300, 2\)"):
        metric(y, proba[:, :2])
    with pytest.raises(
        ValueError, match=r"shape \(n_samples, n_stages\); got \(300,\)"
    ):
        metric(y[:, 0], proba[:, 0])


# --------------------------------------------------------------------------
# dataset and loader
def make_dataset(n, n_stages=2, with_y=True):
    """Rows whose numeric column 0 holds the row number, to trace them."""
    numeric = np.column_stack([np.arange(n), -np.arange(n)]).astype(np.float32)
    categorical = (np.arange(n) % 3).reshape(-1, 1).astype(np.int32)
    y = np.cumprod((np.arange(n)[:, None] + np.arange(n_stages)) % 2 == 0, axis=1)
    features = EncodedFeatures(categorical, numeric)
    return CascadeDataset(features, y if with_y else None), y


def row_ids(batch):
    X, _ = batch
    return X["x_num"][:, 0].long().tolist()


def test_dataset_holds_tensors_of_the_right_dtype():
    data, y = make_dataset(7)
    assert len(data) == 7
    assert data.x_cat.dtype == torch.int32
    assert data.x_num.dtype == torch.float32
    assert data.y.dtype == torch.float32
    X, yi = data[2:5]
    assert set(X) == {"x_cat", "x_num"}
    np.testing.assert_array_equal(yi.numpy(), y[2:5])
    np.testing.assert_array_equal(X["x_cat"].numpy().ravel(), [2, 0, 1])
    unlabelled, _ = make_dataset(7, with_y=False)
    assert unlabelled.y is None
    assert unlabelled.batch(slice(0, 3))[1] is None


@pytest.mark.parametrize(
    "n, batch_size, sizes",
    [(10, 4, [4, 4, 2]), (12, 4, [4, 4, 4]), (3, 8, [3]), (5, 1, [1] * 5)],
)
def test_loader_without_shuffle_is_the_identity(n, batch_size, sizes):
    data, y = make_dataset(n)
    loader = BatchSliceLoader(data, batch_size=batch_size)
    batches = list(loader)
    assert len(loader) == len(sizes)
    assert [len(b[1]) for b in batches] == sizes
    assert sum((row_ids(b) for b in batches), []) == list(range(n))
    np.testing.assert_array_equal(torch.cat([b[1] for b in batches]).numpy(), y)
    # a second pass is the same
    assert [row_ids(b) for b in loader] == [row_ids(b) for b in batches]


def shuffled_passes(seed, n_passes, n=50, batch_size=7, new_loader_each_pass=False):
    data, y = make_dataset(n)
    generator = torch.Generator().manual_seed(seed)
    passes = []
    loader = None
    for _ in range(n_passes):
        if loader is None or new_loader_each_pass:
            loader = BatchSliceLoader(
                data, batch_size=batch_size, shuffle=True, generator=generator
            )
        batches = list(loader)
        assert [len(b[1]) for b in batches] == [7] * 7 + [1]
        for batch in batches:  # labels travel with their rows
            np.testing.assert_array_equal(batch[1].numpy(), y[row_ids(batch)])
        passes.append(sum((row_ids(b) for b in batches), []))
    return passes


@pytest.mark.parametrize("new_loader_each_pass", [False, True])
def test_shuffle_visits_each_row_once_in_a_new_order(new_loader_each_pass):
    passes = shuffled_passes(0, 3, new_loader_each_pass=new_loader_each_pass)
    for order in passes:
        assert sorted(order) == list(range(50))
        assert order != list(range(50))
    assert passes[0] != passes[1] and passes[1] != passes[2]
    # the same seed gives the same sequence of orders, another seed does not
    assert shuffled_passes(0, 3, new_loader_each_pass=True) == passes
    assert shuffled_passes(1, 3)[0] != passes[0]


# --------------------------------------------------------------------------
# the skorch net
class RecordingModule(torch.nn.Module):
    """Linear in the numeric columns; records what every forward call got."""

    def __init__(self, n_stages=2):
        super().__init__()
        self.linear = torch.nn.Linear(2, n_stages)
        self.calls = []

    def forward(self, x_cat, x_num, labels=None):
        self.calls.append(
            {
                "training": self.training,
                "labels": None if labels is None else labels.detach().clone(),
                "rows": x_num[:, 0].long().tolist(),
            }
        )
        return self.linear(x_num / 10.0)


def test_cascade_net_passes_labels_only_in_training():
    train, y_train = make_dataset(10)
    valid, _ = make_dataset(6)
    net = CascadeNet(
        RecordingModule,
        criterion=CascadeLoss,
        optimizer=torch.optim.SGD,
        lr=0.01,
        max_epochs=2,
        batch_size=4,
        iterator_train=BatchSliceLoader,
        iterator_train__shuffle=True,
        iterator_train__generator=torch.Generator().manual_seed(0),
        iterator_valid=BatchSliceLoader,
        train_split=predefined_split(valid),
        verbose=0,
    )
    net.fit(train, y=None)
    calls = net.module_.calls

    training = [c for c in calls if c["training"]]
    evaluation = [c for c in calls if not c["training"]]
    assert len(training) == 2 * 3  # 10 rows in batches of 4, two epochs
    assert len(evaluation) == 2 * 2  # 6 validation rows
    for call in training:
        assert call["labels"] is not None
        np.testing.assert_array_equal(call["labels"].numpy(), y_train[call["rows"]])
    for epoch in range(2):
        rows = sum((c["rows"] for c in training[3 * epoch : 3 * epoch + 3]), [])
        assert sorted(rows) == list(range(10))
    assert all(c["labels"] is None for c in evaluation)
    assert sorted(sum((c["rows"] for c in evaluation[:2]), [])) == list(range(6))
    assert len(net.history) == 2
    assert np.isfinite(net.history[-1, "valid_loss"])
    assert "print_log" not in dict(net.callbacks_)

    # prediction: eval mode, no labels, the module's own logits
    net.module_.calls.clear()
    logits = net.forward(valid, training=False)
    assert net.module_.calls and all(
        not c["training"] and c["labels"] is None for c in net.module_.calls
    )
    with torch.no_grad():
        expected = net.module_.linear(valid.x_num / 10.0)
    torch.testing.assert_close(logits, expected)


def test_cascade_net_training_loss_is_cascade_loss():
    train, _ = make_dataset(8)
    net = CascadeNet(
        RecordingModule,
        criterion=CascadeLoss,
        criterion__stage_weights=[1.0, 3.0],
        optimizer=torch.optim.SGD,
        lr=0.0,
        max_epochs=1,
        batch_size=8,
        iterator_train=BatchSliceLoader,
        iterator_valid=BatchSliceLoader,
        train_split=None,
        verbose=0,
    )
    net.fit(train, y=None)
    with torch.no_grad():
        logits = net.module_.linear(train.x_num / 10.0).double().numpy()
    y = train.y.double().numpy()
    bce = np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
    expected = (bce.mean(axis=0) * [1.0, 3.0]).sum()
    assert net.history[-1, "train_loss"] == pytest.approx(expected, rel=1e-5)
