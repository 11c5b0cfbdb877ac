"""Optimizers follow their textbook update rules; clipping reports what it did."""

import numpy as np
import pytest

from rnnviz.engine.clipping import ClipConfig, clip_gradients
from rnnviz.engine.optim import OptimConfig, Optimizer


def run(config, steps=3):
    w = {"w": np.array([1.0, -2.0, 3.0])}
    opt = Optimizer(config)
    history = []
    for k in range(steps):
        g = {"w": np.array([0.5, -1.0, 2.0]) * (k + 1)}
        opt.commit(w, opt.propose(w, g))
        history.append(w["w"].copy())
    return history, opt


def test_sgd_with_momentum():
    hist, opt = run(OptimConfig(kind="sgd", lr=0.1, momentum=0.9))
    g = np.array([0.5, -1.0, 2.0])
    v1 = g
    v2 = 0.9 * v1 + 2 * g
    np.testing.assert_allclose(hist[1], np.array([1.0, -2.0, 3.0]) - 0.1 * v1 - 0.1 * v2)
    assert set(opt.state) == {"velocity.w"}


def test_adagrad():
    hist, _ = run(OptimConfig(kind="adagrad", lr=0.1), steps=2)
    g = np.array([0.5, -1.0, 2.0])
    w1 = np.array([1.0, -2.0, 3.0]) - 0.1 * g / (np.sqrt(g * g) + 1e-8)
    s2 = g * g + 4 * g * g
    np.testing.assert_allclose(hist[1], w1 - 0.1 * 2 * g / (np.sqrt(s2) + 1e-8))


def test_adam_bias_corrected_first_step_moves_by_lr():
    hist, opt = run(OptimConfig(kind="adam", lr=0.01), steps=1)
    np.testing.assert_allclose(hist[0], np.array([1.0, -2.0, 3.0]) - 0.01 * np.sign([0.5, -1.0, 2.0]), rtol=1e-6)
    assert set(opt.state) == {"m.w", "v.w"} and opt.step == 1


def test_learning_rate_decay_schedule():
    opt = Optimizer(OptimConfig(kind="sgd", lr=1.0, lr_decay=0.5, decay_every=10))
    assert [opt.lr_at(s) for s in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]


def test_propose_does_not_touch_anything():
    w = {"w": np.ones(3)}
    opt = Optimizer(OptimConfig(kind="adam"))
    opt.propose(w, {"w": np.ones(3)})
    assert np.array_equal(w["w"], np.ones(3)) and opt.state == {} and opt.step == 0


def test_norm_clipping():
    grads = {"a": np.array([3.0, 4.0]), "b": np.array([12.0])}  # global norm 13
    r = clip_gradients(grads, ClipConfig("norm", 5.0))
    assert r.norm_before == pytest.approx(13.0) and r.norm_after <= 5.0 and r.norm_after == pytest.approx(5.0)
    assert r.fraction_clipped == 1.0 and r.scale == pytest.approx(5 / 13)
    assert np.linalg.norm(np.concatenate([grads["a"], grads["b"]])) == pytest.approx(5.0)
    small = {"a": np.array([0.1])}
    r = clip_gradients(small, ClipConfig("norm", 5.0))
    assert r.scale == 1.0 and not r.clipped and small["a"][0] == 0.1


def test_value_clipping():
    grads = {"a": np.array([-3.0, 0.5, 2.0, 0.1])}
    r = clip_gradients(grads, ClipConfig("value", 1.0))
    np.testing.assert_array_equal(grads["a"], [-1.0, 0.5, 1.0, 0.1])
    assert r.fraction_clipped == 0.5 and r.norm_before == pytest.approx(np.sqrt(13.26))
    assert r.norm_after == pytest.approx(np.sqrt(2.26))


def test_clipping_off_changes_nothing():
    grads = {"a": np.array([300.0])}
    r = clip_gradients(grads, ClipConfig("off"))
    assert grads["a"][0] == 300.0 and r.norm_after == r.norm_before == 300.0


@pytest.mark.parametrize(
    "text,expected",
    [("off", ClipConfig("off")), ("norm:5", ClipConfig("norm", 5.0)), ("value:0.5", ClipConfig("value", 0.5))],
)
def test_clip_parse(text, expected):
    assert ClipConfig.parse(text) == expected and ClipConfig.parse(str(expected)) == expected


@pytest.mark.parametrize("text", ["norm", "norm:-1", "norm:x", "max:3", "value:0"])
def test_clip_parse_refuses_nonsense(text):
    with pytest.raises(ValueError):
        ClipConfig.parse(text)
