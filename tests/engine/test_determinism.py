"""One Generator in, the same bits out: parameters, dropout masks and traces."""

import contextlib

import numpy as np

from rnnviz.engine.clipping import ClipConfig
from rnnviz.engine.config import ModelConfig, init_params
from rnnviz.engine.optim import OptimConfig, Optimizer
from rnnviz.engine.runtime import DEFAULT, Runtime
from rnnviz.engine.step import train_step
from rnnviz.engine.trace import build_trace


def run(seed, runtime=DEFAULT):
    cfg = ModelConfig(cell="lstm", vocab_size=13, hidden_size=16, num_layers=2, dropout=0.3, dtype="float32")
    rng = np.random.default_rng(seed)
    params = init_params(cfg, rng)
    opt = Optimizer(OptimConfig(kind="adam", lr=0.01))
    traces = []
    for _ in range(5):
        x, y = rng.integers(0, 13, (4, 9)), rng.integers(0, 13, (4, 9))
        old = dict(params)
        r = train_step(params, cfg, opt, x, y, clip=ClipConfig("norm", 1.0), dropout_rng=rng, runtime=runtime)
        traces.append(build_trace(old, r.fp, y, r.per_step, [lg.dh for lg in r.bw.layers], r.grad_norms, r.clip))
    return params, traces


def test_same_seed_same_bits():
    p1, t1 = run(42)
    p2, t2 = run(42)
    for k in p1:
        assert p1[k].tobytes() == p2[k].tobytes()
    for a, b in zip(t1, t2, strict=True):
        for la, lb in zip(a.layers, b.layers, strict=True):
            assert la.hs.tobytes() == lb.hs.tobytes() and la.acts.tobytes() == lb.acts.tobytes()
            assert la.dh_norm.tobytes() == lb.dh_norm.tobytes() and la.dlast_norm.tobytes() == lb.dlast_norm.tobytes()
        assert a.probs.tobytes() == b.probs.tobytes()


def test_different_seed_different_weights():
    p1, _ = run(1)
    p2, _ = run(2)
    assert any(p1[k].tobytes() != p2[k].tobytes() for k in p1)


def test_only_the_large_products_run_in_the_wide_context_and_it_changes_no_bits(monkeypatch):
    # The app's training process runs on one BLAS thread and gives the large once-per-step products two
    # (a Runtime's wide_context). The engine must enter it around those products only, never around a
    # step of a time loop, and compute exactly the same numbers in it.
    from rnnviz.engine.cells import lstm

    p_plain, t_plain = run(7)
    inside, entered, loop_steps = [False], [], []

    @contextlib.contextmanager
    def wide():
        assert not inside[0]  # (not nested)
        inside[0] = True
        entered.append(1)
        try:
            yield
        finally:
            inside[0] = False

    def watched(step):
        def f(*args, **kwargs):
            loop_steps.append(inside[0])
            return step(*args, **kwargs)

        return f

    monkeypatch.setattr(lstm, "step_forward", watched(lstm.step_forward))
    monkeypatch.setattr(lstm, "step_backward", watched(lstm.step_backward))
    p_ctx, t_ctx = run(7, Runtime(wide_context=wide))
    # per training step of the 2-layer model on one-hot ids: layer 1's input projection (forward); layer
    # 1's weight gradients and the gradient into layer 0; layer 0's weight gradients (backward). Not the
    # trace's one-row BPTT: nothing in it is large.
    assert len(entered) == 5 * 4
    assert loop_steps and not any(loop_steps)  # 5 steps x 2 layers x 9 time steps, forward and back
    assert len(loop_steps) == 5 * 2 * 9 * 2
    for k in p_plain:
        assert p_plain[k].tobytes() == p_ctx[k].tobytes()
    assert t_plain[-1].layers[0].dlast_norm.tobytes() == t_ctx[-1].layers[0].dlast_norm.tobytes()
    # one row (the probe's forward and backward) is never widened
    from rnnviz.engine.model import backward, forward

    entered.clear()
    cfg = ModelConfig(cell="lstm", vocab_size=13, hidden_size=16, num_layers=2, dtype="float32")
    params = init_params(cfg, np.random.default_rng(0))
    fp = forward(params, cfg, np.arange(9)[None] % 13, runtime=Runtime(wide_context=wide))
    backward(params, fp, fp.probs.copy(), param_grads=False)
    assert entered == []
