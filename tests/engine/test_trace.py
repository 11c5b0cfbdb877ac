"""The trace is read-only, shaped as documented, and holds the numbers the panels draw."""

import numpy as np
import pytest

from rnnviz.engine.config import ModelConfig, init_params
from rnnviz.engine.optim import OptimConfig, Optimizer
from rnnviz.engine.spectral import spectral_stats
from rnnviz.engine.step import train_step
from rnnviz.engine.trace import build_trace


@pytest.mark.parametrize("cell,G", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_trace_shapes_and_read_only(cell, G):
    cfg = ModelConfig(cell=cell, vocab_size=9, hidden_size=5, num_layers=2)
    params = init_params(cfg, np.random.default_rng(0))
    opt = Optimizer(OptimConfig())
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 9, (3, 7)), rng.integers(0, 9, (3, 7))
    old = dict(params)
    r = train_step(params, cfg, opt, x, y)
    tr = build_trace(
        old,
        r.fp,
        y,
        r.per_step,
        [lg.dh for lg in r.bw.layers],
        r.grad_norms,
        r.clip,
        row=2,
        spectrum=spectral_stats(old, cfg),
    )
    assert tr.row == 2 and np.array_equal(tr.x, x[2]) and np.array_equal(tr.y, y[2])
    for lv in tr.layers:
        assert lv.hs.shape == (8, 3, 5) and not lv.hs.flags.writeable
        assert lv.acts.shape == (7, G, 3, 5) and not lv.acts.flags.writeable
        assert (lv.cs is not None) == (cell == "lstm")
        assert lv.dh_norm.shape == (7, 3) and lv.dlast_norm.shape == (7,)
        assert np.all(lv.dh_norm >= 0) and lv.dlast_norm[-1] > 0
        with pytest.raises(ValueError):
            lv.hs[0, 0, 0] = 1.0
    np.testing.assert_array_equal(tr.layers[0].hs[0], 0.0)  # h_0
    assert tr.probs.shape == (7, 9) and np.allclose(tr.probs.sum(axis=1), 1.0)
    assert set(tr.grad_norms) == set(params)
    assert len(tr.spectrum) == 2 * G and all(s.sigma_max >= s.spectral_radius - 1e-9 for s in tr.spectrum)
    # without its gradient views (the app asks for them less often): the rest is the same
    light = build_trace(old, r.fp, y, r.per_step, [lg.dh for lg in r.bw.layers], r.grad_norms, r.clip, row=2,
                        gradients=False)  # fmt: skip
    for lv, full in zip(light.layers, tr.layers, strict=True):
        assert lv.dh_norm is None and lv.dlast_norm is None
        assert np.array_equal(lv.hs, full.hs) and np.array_equal(lv.acts, full.acts)
    assert np.array_equal(light.probs, tr.probs)


def test_spectrum_of_the_orthogonal_init_is_the_gain():
    cfg = ModelConfig(cell="rnn", vocab_size=4, hidden_size=16, recurrent_init="orthogonal", recurrent_gain=1.7)
    (s,) = spectral_stats(init_params(cfg, np.random.default_rng(0)), cfg)
    assert s.sigma_max == pytest.approx(1.7) and s.spectral_radius == pytest.approx(1.7)


def test_whole_loss_and_last_step_gradients_agree_at_the_last_step():
    """At t = T only the last step's loss depends on h_T: the two curves meet there (same scale)."""
    cfg = ModelConfig(cell="lstm", vocab_size=9, hidden_size=6, num_layers=2)
    params = init_params(cfg, np.random.default_rng(0))
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, 9, (4, 7)), rng.integers(0, 9, (4, 7))
    old = dict(params)
    r = train_step(params, cfg, Optimizer(OptimConfig()), x, y)
    tr = build_trace(old, r.fp, y, r.per_step, [lg.dh for lg in r.bw.layers], r.grad_norms, r.clip, row=1)
    top = tr.layers[-1]
    assert top.dh_norm[-1, 1] == pytest.approx(top.dlast_norm[-1], rel=1e-10)
    assert np.all(top.dh_norm[:, 1] > 0)
