"""Tests of the label-probability curriculum and the callback that applies it."""

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from sk_pimm.callbacks import CurriculumScheduler
from sk_pimm.curriculum import CURRICULUM_SHAPES, curriculum_probability

PROGRESS = [0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0]
DECAYING = ("linear", "exponential", "sigmoid", "cosine")


def reference_probability(r, shape, start, end, k):
    """The formulas of the docstring, written out for one scalar ``r``."""
    r = min(max(r, 0.0), 1.0)
    if shape == "constant":
        return start
    if shape == "linear":
        return start + (end - start) * r
    if shape == "exponential":
        w = (math.exp(-k * r) - math.exp(-k)) / (1.0 - math.exp(-k))
    elif shape == "sigmoid":

        def s(x):
            return 1.0 / (1.0 + math.exp(k * (x - 0.5)))

        w = (s(r) - s(1.0)) / (s(0.0) - s(1.0))
    else:
        w = (1.0 + math.cos(math.pi * r)) / 2.0
    return end + (start - end) * w


@pytest.mark.parametrize("shape", CURRICULUM_SHAPES)
@pytest.mark.parametrize("start, end", [(1.0, 0.0), (0.9, 0.2), (0.3, 0.8)])
@pytest.mark.parametrize("sharpness", [2.0, 5.0, 12.0])
def test_each_shape_matches_its_formula(shape, start, end, sharpness):
    for r in PROGRESS:
        got = curriculum_probability(
            r, shape=shape, start=start, end=end, sharpness=sharpness
        )
        expected = reference_probability(r, shape, start, end, sharpness)
        assert isinstance(got, float)
        assert got == pytest.approx(expected, abs=1e-12), r


@pytest.mark.parametrize("shape", DECAYING)
def test_endpoints_are_start_and_end(shape):
    assert curriculum_probability(0.0, shape=shape, start=0.9, end=0.1) == (
        pytest.approx(0.9, abs=1e-12)
    )
    assert curriculum_probability(1.0, shape=shape, start=0.9, end=0.1) == (
        pytest.approx(0.1, abs=1e-12)
    )


@pytest.mark.parametrize("shape", CURRICULUM_SHAPES)
def test_progress_outside_unit_interval_is_clipped(shape):
    kwargs = dict(shape=shape, start=0.8, end=0.05, sharpness=4.0)
    before = curriculum_probability(0.0, **kwargs)
    after = curriculum_probability(1.0, **kwargs)
    assert curriculum_probability(-0.5, **kwargs) == before
    assert curriculum_probability(-1e9, **kwargs) == before
    assert curriculum_probability(1.5, **kwargs) == after
    assert curriculum_probability(40.0, **kwargs) == after


@pytest.mark.parametrize("shape", DECAYING)
def test_decays_strictly_when_start_above_end(shape):
    r = np.linspace(0.0, 1.0, 101)
    p = curriculum_probability(r, shape=shape, start=1.0, end=0.0)
    assert np.all(np.diff(p) < 0)
    assert np.all((p >= 0.0) & (p <= 1.0))


@pytest.mark.parametrize("shape", DECAYING)
def test_rises_when_end_above_start(shape):
    r = np.linspace(0.0, 1.0, 51)
    p = curriculum_probability(r, shape=shape, start=0.2, end=0.7)
    assert np.all(np.diff(p) > 0)


def test_exponential_is_steep_early_and_sigmoid_is_centred():
    # exponential drops faster than linear at first; sigmoid is symmetric
    # about r = 1/2, so it passes the midpoint there.
    exp_p = curriculum_probability(0.2, shape="exponential", start=1.0, end=0.0)
    assert exp_p < 0.8
    mid = curriculum_probability(0.5, shape="sigmoid", start=1.0, end=0.0)
    assert mid == pytest.approx(0.5, abs=1e-12)
    r = np.array([0.1, 0.3])
    early = curriculum_probability(r, shape="sigmoid", start=1.0, end=0.0)
    late = curriculum_probability(1 - r, shape="sigmoid", start=1.0, end=0.0)
    np.testing.assert_allclose(early, 1 - late, atol=1e-12)


@pytest.mark.parametrize("start", [0.0, 0.35, 1.0])
def test_constant_is_start_and_ignores_end(start):
    r = np.array([-1.0, 0.0, 0.4, 1.0, 3.0])
    p = curriculum_probability(r, shape="constant", start=start, end=0.9)
    np.testing.assert_array_equal(p, np.full(5, start))


@pytest.mark.parametrize("shape", CURRICULUM_SHAPES)
def test_arrays_in_arrays_out(shape):
    r = np.array([[0.0, 0.25], [0.5, 1.0], [1.2, -0.1]])
    p = curriculum_probability(r, shape=shape, start=0.95, end=0.05)
    assert isinstance(p, np.ndarray)
    assert p.shape == r.shape
    expected = [
        [reference_probability(x, shape, 0.95, 0.05, 5.0) for x in row] for row in r
    ]
    np.testing.assert_allclose(p, expected, atol=1e-12)
    listed = curriculum_probability([0.0, 0.5], shape=shape, start=0.95, end=0.05)
    np.testing.assert_allclose(listed, p[[0, 1], [0, 0]], atol=1e-12)


def test_unknown_shape_names_it_and_the_options():
    with pytest.raises(ValueError, match=r"Unknown curriculum shape 'step'.*'cosine'"):
        curriculum_probability(0.5, shape="step", start=1.0, end=0.0)


@pytest.mark.parametrize("shape", ["exponential", "sigmoid"])
def test_tiny_sharpness_tends_to_linear(shape):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        p = curriculum_probability(
            0.3, shape=shape, start=1.0, end=0.0, sharpness=1e-20
        )
        steep = curriculum_probability(
            0.3, shape=shape, start=1.0, end=0.0, sharpness=2000.0
        )
    assert p == pytest.approx(0.7, abs=1e-6)
    assert 0.0 <= steep <= 1.0


def test_scheduler_sets_probability_per_training_batch():
    scheduler = CurriculumScheduler(
        shape="linear", start=1.0, end=0.2, sharpness=5.0, window_steps=4
    ).initialize()
    net = SimpleNamespace(module_=SimpleNamespace(label_probability=None))
    seen = []
    for _ in range(6):
        scheduler.on_batch_begin(net, training=True)
        seen.append(net.module_.label_probability)
        # validation batches do not advance the curriculum
        scheduler.on_batch_begin(net, training=False)
        assert net.module_.label_probability == seen[-1]
    # r = 1/4, 2/4, 3/4, 1, then clipped at 1: the last batch of the window
    # already trains with ``end``.
    np.testing.assert_allclose(seen, [0.8, 0.6, 0.4, 0.2, 0.2, 0.2], atol=1e-12)
