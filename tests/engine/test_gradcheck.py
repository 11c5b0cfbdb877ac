"""Finite-difference checks: every cell x head x 1/2 layers x input kind, with a carried state and a
fixed dropout mask, relative error below 1e-6 (float64)."""

import numpy as np
import pytest

from rnnviz.engine.cells import StepView, get_cell
from rnnviz.engine.config import ModelConfig
from rnnviz.engine.gradcheck import CELLS, combinations, gradcheck, random_problem, small_config
from rnnviz.engine.layer import gate_major

COMBOS = combinations()


@pytest.mark.parametrize("cell,head,layers,inp", COMBOS)
def test_model_gradients_match_finite_differences(cell, head, layers, inp):
    cfg = small_config(cell, head, layers, inp, dropout=0.3 if layers == 2 else 0.0)
    report = gradcheck(cfg, rng=np.random.default_rng(7))
    assert report.worst < 1e-6, report.format()
    # the carried (truncated-BPTT) initial state is checked too
    assert all(f"state.h{layer}" in report.errors for layer in range(layers))
    if cell == "lstm":
        assert "state.c0" in report.errors


@pytest.mark.parametrize("cell", CELLS)
def test_three_layers_with_dropout(cell):
    cfg = ModelConfig(cell=cell, num_layers=3, vocab_size=6, hidden_size=4, dropout=0.5)
    problem = random_problem(cfg, np.random.default_rng(3))
    assert problem.dropout_masks is not None and (problem.dropout_masks[1] == 0).any()
    report = gradcheck(cfg, problem=problem, rng=np.random.default_rng(3))
    assert report.worst < 1e-6, report.format()


def test_gradcheck_detects_a_wrong_gradient(monkeypatch):
    """The check itself must be able to fail: break the RNN's tanh slope and it reports a large error."""
    rnn = get_cell("rnn")
    original = rnn.step_backward

    def wrong(dh, dc, step, W_hh_T, dax_out, dah_out):
        return original(dh * 1.5, dc, step, W_hh_T, dax_out, dah_out)

    monkeypatch.setattr(rnn, "step_backward", wrong)
    report = gradcheck(small_config("rnn", "lm", 1, "onehot"), rng=np.random.default_rng(0))
    assert report.worst > 1e-2


@pytest.mark.parametrize("cell", CELLS)
def test_cell_step_backward_matches_finite_differences(cell):
    """The step functions on their own: d/d(ax_t, h_prev, c_prev, W_hh, b_hh) of <R, outputs>."""
    rng = np.random.default_rng(11)
    mod = get_cell(cell)
    B, H = 3, 4
    G = len(mod.GATES)
    ax = rng.standard_normal((G, B, H))  # gate-major input pre-activation
    h_prev = rng.standard_normal((B, H))
    c_prev = rng.standard_normal((B, H)) if mod.HAS_CELL_STATE else None
    W_hh = rng.standard_normal((H, G * H)) * 0.7
    b_hh = rng.standard_normal(G * H) if mod.HAS_RECURRENT_BIAS else None
    R_h = rng.standard_normal((B, H))  # random upstream gradients: L = <R_h, h> + <R_c, c>
    R_c = rng.standard_normal((B, H)) if mod.HAS_CELL_STATE else None

    def run():
        hs = np.empty((2, B, H))
        hs[0] = h_prev
        cs = None
        if mod.HAS_CELL_STATE:
            cs = np.empty((2, B, H))
            cs[0] = c_prev
        act = hs[1][None] if mod.ACT_IS_H else np.empty((G, B, H))
        extra = np.empty((B, H)) if mod.EXTRA else None
        step = StepView(hs[0], None if cs is None else cs[0], hs[1], None if cs is None else cs[1], act, extra)
        b4 = None if b_hh is None else np.broadcast_to(b_hh.reshape(G, 1, H), (G, B, H)).copy()
        mod.step_forward(ax, gate_major(W_hh, G), b4, step)
        value = float((R_h * step.h).sum() + (0.0 if cs is None else (R_c * step.c).sum()))
        return value, step

    _, step = run()
    dax = np.empty((B, G * H))
    dah = np.empty((B, G * H)) if mod.HAS_RECURRENT_BIAS else dax
    dh_prev, dc_prev = mod.step_backward(R_h.copy(), None if R_c is None else R_c.copy(), step, W_hh.T.copy(), dax, dah)
    # ax is gate-major (G, B, H); its gradient dax is (B, G*H) with gate blocks side by side
    analytic = {"ax": dax.reshape(B, G, H).transpose(1, 0, 2), "h_prev": dh_prev, "W_hh": h_prev.T @ dah}
    variables = {"ax": ax, "h_prev": h_prev, "W_hh": W_hh}
    if mod.HAS_CELL_STATE:
        analytic["c_prev"], variables["c_prev"] = dc_prev, c_prev
    if mod.HAS_RECURRENT_BIAS:
        analytic["b_hh"], variables["b_hh"] = dah.sum(0), b_hh
    eps = 1e-6
    for name, v in variables.items():
        num = np.zeros_like(v)
        for k in range(v.size):
            old = v.flat[k]
            v.flat[k] = old + eps
            up = run()[0]
            v.flat[k] = old - eps
            down = run()[0]
            v.flat[k] = old
            num.flat[k] = (up - down) / (2 * eps)
        err = np.linalg.norm(analytic[name] - num) / (np.linalg.norm(analytic[name]) + np.linalg.norm(num))
        assert err < 1e-7, f"{cell} d/d{name}: relative error {err:.2e}"


def test_entry_errors_measure_tiny_gradients_against_the_floor():
    """Below TINY both numbers are rounding noise of the finite difference: not called wrong; zero in
    both is no error; a real disagreement is large whatever the size."""
    from rnnviz.engine.gradcheck import TINY, entry_errors

    a = np.array([1e-12, 0.0, 0.5, 2e-3, -1.0])
    n = np.array([3e-12, 0.0, 0.5 + 1e-9, 1e-3, 1.0])
    err = entry_errors(a, n)
    assert err[0] == pytest.approx(2e-12 / TINY) and err[0] < 1e-5
    assert err[1] == 0.0 and err[2] < 1e-8
    assert err[3] == pytest.approx(1 / 3) and err[4] == 1.0


def test_check_entries_agrees_with_the_whole_check_and_leaves_the_weights_alone():
    from rnnviz.engine.config import init_params
    from rnnviz.engine.gradcheck import check_entries

    cfg = small_config("gru", "lm", 2, "onehot")
    rng = np.random.default_rng(5)
    params = init_params(cfg, rng)
    before = {k: v.copy() for k, v in params.items()}
    problem = random_problem(cfg, rng)
    entries = [(name, k) for name in params for k in (0, params[name].size - 1)]
    check = check_entries(cfg, params, problem, entries)
    assert check.errors.max() < 1e-6 and len(check.names) == len(entries)
    assert all(np.array_equal(before[k], params[k]) for k in params)
