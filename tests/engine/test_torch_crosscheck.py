"""Optional cross-check against PyTorch (skipped when torch is not installed; it is never a dependency).

With the weights copied across, rnnviz's forward pass, loss and every gradient equal PyTorch's
nn.RNN / nn.LSTM / nn.GRU + nn.Linear + cross-entropy to float64 rounding.
"""

import numpy as np
import pytest

from rnnviz.engine.config import ModelConfig, init_params
from rnnviz.engine.model import backward, forward, loss

torch = pytest.importorskip("torch")

MAP = {  # rnnviz name -> (torch module attribute, transpose?)
    "W_xh": ("weight_ih_l{}", True),
    "W_hh": ("weight_hh_l{}", True),
    "b_h": ("bias_ih_l{}", False),
    "b_hh": ("bias_hh_l{}", False),
}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
def test_matches_pytorch(cell, layers):
    V, H, B, T = 7, 5, 3, 6
    cfg = ModelConfig(cell=cell, vocab_size=V, hidden_size=H, num_layers=layers, recurrent_gain=1.3)
    params = init_params(cfg, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))

    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](V, H, num_layers=layers).double()
    head = torch.nn.Linear(H, V).double()
    with torch.no_grad():
        for layer in range(layers):
            for name, (attr, transpose) in MAP.items():
                tensor = getattr(module, attr.format(layer))
                key = f"layer{layer}.{name}"
                if key in params:
                    value = params[key].T if transpose else params[key]
                    tensor.copy_(torch.from_numpy(np.ascontiguousarray(value)))
                else:  # rnnviz has one bias for the RNN and LSTM: zero torch's second one
                    tensor.zero_()
        head.weight.copy_(torch.from_numpy(params["head.W_hy"].T.copy()))
        head.bias.copy_(torch.from_numpy(params["head.b_y"]))

    xt = torch.eye(V, dtype=torch.float64)[torch.from_numpy(x.T)]  # (T, B, V) one-hot
    out, _ = module(xt)
    logits = head(out)
    tl = torch.nn.functional.cross_entropy(logits.reshape(-1, V), torch.from_numpy(y.T.reshape(-1)))
    tl.backward()

    fp = forward(params, cfg, x)
    lr = loss(fp, y)
    bw = backward(params, fp, lr.dout)
    assert lr.loss == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(fp.out, logits.detach().numpy(), rtol=1e-10, atol=1e-12)
    for layer in range(layers):
        for name, (attr, transpose) in MAP.items():
            key = f"layer{layer}.{name}"
            if key in params:
                g = getattr(module, attr.format(layer)).grad.numpy()
                np.testing.assert_allclose(bw.grads[key], g.T if transpose else g, rtol=1e-9, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(bw.grads["head.W_hy"], head.weight.grad.numpy().T, rtol=1e-9, atol=1e-12)
