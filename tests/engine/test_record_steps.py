"""The walkthrough's hook in BPTT: ``backward(record_steps=True)`` keeps what each step computed (the
gradient from above, what each step sends back) without changing a single number of the result."""

import numpy as np
import pytest

from rnnviz.engine.config import ModelConfig, init_params
from rnnviz.engine.layer import layer_backward
from rnnviz.engine.model import backward, forward, loss


def _problem(cell, seed=0, B=2, T=5):
    cfg = ModelConfig(cell=cell, input="onehot", vocab_size=6, hidden_size=4)
    rng = np.random.default_rng(seed)
    params = init_params(cfg, rng)
    x, y = rng.integers(0, 6, (B, T)), rng.integers(0, 6, (B, T))
    fp = forward(params, cfg, x)
    return params, fp, loss(fp, y)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_recording_changes_nothing_and_keeps_each_steps_numbers(cell):
    params, fp, lr = _problem(cell)
    plain = backward(params, fp, lr.dout)
    rec = backward(params, fp, lr.dout, record_steps=True)
    for name in params:
        np.testing.assert_array_equal(rec.grads[name], plain.grads[name])
    lp, lg = plain.layers[0], rec.layers[0]
    np.testing.assert_array_equal(lg.dh, lp.dh)
    np.testing.assert_array_equal(lg.dax, lp.dax)
    assert lp.dh_above is None and lp.dh_prev is None  # training never pays for the record
    # the gradient from above is the head's dy W_hy^T (before the future's share was added)
    np.testing.assert_allclose(lg.dh_above, lr.dout @ params["head.W_hy"].T, rtol=1e-12, atol=1e-15)
    # total dh_t = from above + what step t+1 sent back; step 0 sends dh0
    np.testing.assert_allclose(lg.dh[:-1], lg.dh_above[:-1] + lg.dh_prev[1:], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(lg.dh[-1], lg.dh_above[-1])
    np.testing.assert_array_equal(lg.dh_prev[0], lg.dh0)
    if cell == "lstm":
        np.testing.assert_array_equal(lg.dc_prev[0], lg.dc0)
    else:
        assert lg.dc_prev is None


def test_dh_prev_is_what_reaches_the_previous_state():
    """dh_prev[t] = dL/dh_{t-1} through step t: perturb h_{t-1}'s input path and compare (RNN: it is
    dh_raw W_hh^T, the tutorial's dh_next)."""
    params, fp, lr = _problem("rnn")
    lg = backward(params, fp, lr.dout, record_steps=True).layers[0]
    np.testing.assert_allclose(lg.dh_prev, lg.dax @ params["layer0.W_hh"].T, rtol=1e-12, atol=1e-15)


def test_the_record_would_notice_a_wrong_step(monkeypatch):
    """The guard can fail: a cell whose backward step returns a wrong dh_prev shows in the record."""
    from rnnviz.engine.cells import rnn

    params, fp, lr = _problem("rnn")
    good = backward(params, fp, lr.dout, record_steps=True).layers[0].dh_prev.copy()
    real = rnn.step_backward
    monkeypatch.setattr(rnn, "step_backward", lambda *a: (2.0 * real(*a)[0], None))
    dh_out = lr.dout @ params["head.W_hy"].T
    bad = layer_backward(fp.layers[0], params["layer0.W_hh"], dh_out, record=True).dh_prev
    assert not np.allclose(bad, good)
