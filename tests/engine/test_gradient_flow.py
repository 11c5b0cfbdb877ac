"""Vanishing and exploding gradients are visible in the per-timestep norms, and clipping bounds them."""

import numpy as np

from rnnviz.engine.clipping import ClipConfig
from rnnviz.engine.config import ModelConfig, init_params
from rnnviz.engine.model import backward, forward, loss
from rnnviz.engine.optim import OptimConfig, Optimizer
from rnnviz.engine.step import train_step
from rnnviz.engine.trace import last_step_dh_norms

T = 50


def last_step_profile(cell, gain, seed=1):
    cfg = ModelConfig(
        cell=cell, vocab_size=20, hidden_size=32, recurrent_init="orthogonal", recurrent_gain=gain, forget_bias=1.0
    )
    params = init_params(cfg, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 100)
    x, y = rng.integers(0, 20, (2, T)), rng.integers(0, 20, (2, T))
    fp = forward(params, cfg, x)
    return last_step_dh_norms(params, fp, y, row=0)[0]  # (T,) ||dL_T/dh_t||, t = 1..T


def test_vanilla_rnn_gradient_vanishes_far_more_than_lstm():
    rnn = last_step_profile("rnn", gain=0.5)
    lstm = last_step_profile("lstm", gain=0.5)
    ratio_rnn = rnn[0] / rnn[-1]  # ||dL_T/dh_1|| / ||dL_T/dh_T||
    ratio_lstm = lstm[0] / lstm[-1]
    assert ratio_rnn * 100 <= ratio_lstm
    assert ratio_rnn < 1e-6


def test_large_recurrent_weights_make_gradients_grow_with_distance():
    norms = last_step_profile("rnn", gain=3.0)
    assert norms[0] > 100 * norms[-1]
    # grows (not strictly at every step) as we go back: compare averages over windows of 10 steps
    windows = norms.reshape(5, 10).mean(axis=1)
    assert all(a > b for a, b in zip(windows, windows[1:], strict=False))


def test_global_norm_clipping_never_exceeds_threshold():
    cfg = ModelConfig(cell="rnn", vocab_size=20, hidden_size=32, recurrent_init="orthogonal", recurrent_gain=3.0)
    params = init_params(cfg, np.random.default_rng(0))
    opt = Optimizer(OptimConfig(kind="sgd", lr=0.5))
    rng = np.random.default_rng(1)
    clip = ClipConfig("norm", 1.0)
    clipped = 0
    for _ in range(30):
        x, y = rng.integers(0, 20, (4, T)), rng.integers(0, 20, (4, T))
        r = train_step(params, cfg, opt, x, y, clip=clip)
        assert r.applied
        assert r.clip.norm_after <= 1.0
        clipped += r.clip.norm_before > 1.0
    assert clipped > 0, "the test must actually exercise clipping"


def test_full_bptt_norms_are_the_backward_pass_dh():
    cfg = ModelConfig(cell="gru", vocab_size=9, hidden_size=6, num_layers=2)
    params = init_params(cfg, np.random.default_rng(0))
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 9, (3, 7)), rng.integers(0, 9, (3, 7))
    fp = forward(params, cfg, x)
    bw = backward(params, fp, loss(fp, y).dout)
    # the last-step view of row 1 equals a full-batch backward whose only loss is row 1's last token
    dout = np.zeros_like(fp.out)
    dout[-1, 1] = fp.probs[-1, 1]
    dout[-1, 1, y[1, -1]] -= 1.0
    full = backward(params, fp, dout, param_grads=False)
    mine = last_step_dh_norms(params, fp, y, row=1)
    for layer in range(2):
        np.testing.assert_allclose(mine[layer], np.linalg.norm(full.layers[layer].dh[:, 1], axis=-1), rtol=1e-12)
        assert bw.layers[layer].dh.shape == (7, 3, 6)
