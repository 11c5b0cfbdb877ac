"""A step whose loss, gradient or new weights are not finite is refused and says where; weights stay."""

import numpy as np
import pytest

from rnnviz.engine import step as step_module
from rnnviz.engine.config import ModelConfig, init_params
from rnnviz.engine.optim import OptimConfig, Optimizer
from rnnviz.engine.step import train_step


def snapshot(params):
    return {k: v.copy() for k, v in params.items()}


def assert_unchanged(params, before):
    for k in params:
        assert np.array_equal(params[k], before[k]), k


def test_nan_in_the_input_is_caught_at_its_time_step():
    cfg = ModelConfig(cell="gru", input="dense", input_size=1, head="regress", output_size=1, hidden_size=4)
    params = init_params(cfg, np.random.default_rng(0))
    opt = Optimizer(OptimConfig(kind="sgd", lr=0.1))
    before = snapshot(params)
    x = np.zeros((2, 6, 1))
    x[1, 3, 0] = np.nan
    r = train_step(params, cfg, opt, x, np.zeros((2, 6, 1)))
    assert not r.applied and r.nonfinite.stage == "loss" and r.nonfinite.timestep == 3
    assert "time step 3" in r.nonfinite.describe()
    assert opt.step == 0
    assert_unchanged(params, before)


def overflowing_problem(dtype):
    """Regression targets so large that the loss is finite but lr * gradient overflows the dtype."""
    big = float(np.finfo(dtype).max) ** 0.5
    cfg = ModelConfig(
        cell="rnn", input="dense", input_size=1, head="regress", output_size=1, hidden_size=4, dtype=dtype
    )
    x, y = np.ones((1, 3, 1)), np.full((1, 3, 1), 0.01 * big)
    return cfg, x, y, OptimConfig(kind="sgd", lr=1000 * big)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_huge_learning_rate_is_refused_before_the_weights_break(dtype):
    cfg, x, y, opt_cfg = overflowing_problem(dtype)
    params = init_params(cfg, np.random.default_rng(0))
    opt = Optimizer(opt_cfg)
    before = snapshot(params)
    r = train_step(params, cfg, opt, x, y)
    assert np.isfinite(r.loss)
    assert not r.applied and r.nonfinite.stage == "weights" and r.nonfinite.parameter in params
    assert r.nonfinite.parameter in r.nonfinite.describe(step=12) and "step 12" in r.nonfinite.describe(step=12)
    assert_unchanged(params, before)


def test_a_nan_gradient_names_the_parameter(monkeypatch):
    cfg = ModelConfig(cell="lstm", vocab_size=5, hidden_size=4)
    params = init_params(cfg, np.random.default_rng(0))
    opt = Optimizer(OptimConfig(kind="adam", lr=0.01))
    before = snapshot(params)
    real_backward = step_module.backward

    def poisoned(*args, **kwargs):
        bw = real_backward(*args, **kwargs)
        bw.grads["layer0.W_hh"][1, 2] = np.inf
        return bw

    monkeypatch.setattr(step_module, "backward", poisoned)
    r = train_step(params, cfg, opt, np.array([[0, 1, 2]]), np.array([[1, 2, 3]]))
    assert not r.applied and r.nonfinite.stage == "gradient" and r.nonfinite.parameter == "layer0.W_hh"
    assert opt.step == 0 and opt.state == {}
    assert_unchanged(params, before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_continues_after_a_refused_step(dtype):
    cfg, x, y, opt_cfg = overflowing_problem(dtype)
    params = init_params(cfg, np.random.default_rng(0))
    opt = Optimizer(opt_cfg)
    assert not train_step(params, cfg, opt, x, y).applied
    opt.config = OptimConfig(kind="sgd", lr=1e-3)  # the user lowers the learning rate and continues
    r = train_step(params, cfg, opt, x, y)
    assert r.applied and opt.step == 1
    assert all(np.isfinite(v).all() for v in params.values())
