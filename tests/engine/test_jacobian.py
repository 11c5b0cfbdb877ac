"""The Jacobian-coefficient form of BPTT (the app's fast one-row view) equals the step-by-step BPTT."""

import numpy as np
import pytest

from rnnviz.engine.config import ModelConfig, init_params
from rnnviz.engine.layer import layer_backward, layer_backward_states
from rnnviz.engine.model import backward, forward, loss


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-11), ("float32", 2e-4)])
def test_state_gradients_match_step_backward(cell, dtype, rtol):
    cfg = ModelConfig(
        cell=cell, vocab_size=8, hidden_size=6, num_layers=3, dropout=0.4, dtype=dtype, recurrent_gain=1.5
    )
    params = init_params(cfg, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 8, (4, 9)), rng.integers(0, 8, (4, 9))
    state = [
        (
            0.3 * rng.standard_normal((4, 6)).astype(dtype),
            None if cell != "lstm" else rng.standard_normal((4, 6)).astype(dtype),
        )
        for _ in range(3)
    ]
    fp = forward(params, cfg, x, state=state, dropout_rng=np.random.default_rng(2))
    dout = loss(fp, y).dout
    full = backward(params, fp, dout.copy())
    fast = backward(params, fp, dout.copy(), param_grads=False)
    for layer in range(3):
        np.testing.assert_allclose(
            fast.layers[layer].dh, full.layers[layer].dh, rtol=rtol, atol=1e-7 if dtype == "float32" else 1e-15
        )
        np.testing.assert_allclose(
            fast.layers[layer].dax, full.layers[layer].dax, rtol=rtol, atol=1e-7 if dtype == "float32" else 1e-15
        )
        np.testing.assert_allclose(
            fast.layers[layer].dh0, full.layers[layer].dh0, rtol=rtol, atol=1e-7 if dtype == "float32" else 1e-15
        )
        if cell == "lstm":
            np.testing.assert_allclose(
                fast.layers[layer].dc0, full.layers[layer].dc0, rtol=rtol, atol=1e-7 if dtype == "float32" else 1e-15
            )
    assert fast.grads == {}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_on_a_single_row_view(cell):
    """The app runs it on one row of the batch (a strided view of the buffers)."""
    cfg = ModelConfig(cell=cell, vocab_size=8, hidden_size=5)
    params = init_params(cfg, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    fp = forward(params, cfg, rng.integers(0, 8, (3, 6)))
    lt = fp.layers[0]
    dh = rng.standard_normal((6, 3, 5))
    ref = layer_backward(lt, params["layer0.W_hh"], dh.copy())
    row = layer_backward_states(lt.rows(slice(1, 2)), params["layer0.W_hh"], dh[:, 1:2].copy())
    np.testing.assert_allclose(row.dh[:, 0], ref.dh[:, 1], rtol=1e-12)
    np.testing.assert_allclose(row.dax[:, 0], ref.dax[:, 1], rtol=1e-12, atol=1e-15)
