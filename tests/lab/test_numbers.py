"""Every number a snapshot carries is the engine's, recomputed here independently for the same step.

Training source: the lab trains; a second Trainer with the same seed replays the same steps (same
bits) and gives the step's batch row and weights; the test then runs the engine on that row alone
(forward, loss, the full BPTT) and compares. Probe source: the tokens are fed one at a time with
``engine.infer.step_token`` and -log p is taken from its logits by log-sum-exp, not from model.loss.
"""

import numpy as np
import pytest

from rnnviz.engine.infer import step_token
from rnnviz.engine.linalg import row_norms
from rnnviz.engine.model import backward, forward, loss
from rnnviz.lab import Lab
from rnnviz.lab import commands as c
from rnnviz.lab.snapshot import TOP_K, Snapshot
from rnnviz.training import TrainConfig, Trainer

CONFIGS = {
    "lm": TrainConfig(hidden=12, seq_len=10, batch_size=4, dtype="float64", layers=2),
    "lm-gru": TrainConfig(cell="gru", hidden=9, seq_len=8, batch_size=3, dtype="float64"),
    "classify": TrainConfig(task="classify", cell="gru", hidden=10, batch_size=5, dtype="float64"),
    "sine": TrainConfig(task="sine", cell="rnn", hidden=8, seq_len=12, batch_size=4, dtype="float64"),
    "longrange": TrainConfig(task="longrange", k=5, cell="lstm", hidden=8, batch_size=4, dtype="float64"),
}
STEPS, ROW = 3, 1
RTOL = 1e-9


def lab_snapshot(cfg: TrainConfig) -> tuple[Snapshot, Lab]:
    events = []
    lab = Lab(events.append)
    lab.reset(cfg)
    lab.handle(c.SetRow(ROW))
    for _ in range(STEPS):
        lab.handle(c.StepUpdate())
    snap = [ev for ev in events if isinstance(ev, Snapshot)][-1]
    assert snap.step == STEPS and snap.row == ROW and snap.source == "train"
    return snap, lab


def replay(cfg: TrainConfig):
    """The weights used by step STEPS and that step's trace (row ROW), from a fresh trainer."""
    t = Trainer(cfg)
    for _ in range(STEPS - 1):
        t.train_step()
    old = {k: v.copy() for k, v in t.params.items()}
    trace = t.train_step(trace=True, row=ROW).trace
    return t, old, trace


def row_inputs(cfg, trace):
    """The row as a batch of one, with its initial state (carried from the previous chunk for lm)."""
    x = np.asarray(trace.x)[None]
    state = [(lv.hs[0, ROW][None], None if lv.cs is None else lv.cs[0, ROW][None]) for lv in trace.layers]
    y = np.asarray(trace.y)[None]
    return x, y, state


@pytest.mark.parametrize("name", list(CONFIGS))
def test_a_training_snapshot_holds_the_engines_numbers_for_that_step(name):
    cfg = CONFIGS[name]
    snap, lab = lab_snapshot(cfg)
    t, old, trace = replay(cfg)
    T = trace.length
    assert snap.length == T
    x, y, state = row_inputs(cfg, trace)
    head = t.model_cfg.head
    lengths = np.array([T]) if head == "classify" else None
    fp = forward(old, t.model_cfg, x[:, :T] if head == "classify" else x, state=state, lengths=lengths)
    res = loss(fp, y)
    # hidden states, cell states and gates: the heatmap's matrices
    for lv, lt in zip(snap.layers, fp.layers, strict=True):
        np.testing.assert_allclose(lv.hs, lt.hs[:, 0], rtol=RTOL, atol=1e-12)
        np.testing.assert_allclose(lv.acts, lt.acts[:, :, 0], rtol=RTOL, atol=1e-12)
        if lt.cs is not None:
            np.testing.assert_allclose(lv.cs, lt.cs[:, 0], rtol=RTOL, atol=1e-12)
    # the bars, the true token's p and -log p
    if head == "lm":
        probs = fp.probs[:, 0]  # (T, V)
        np.testing.assert_allclose(snap.losses, res.per_step[:, 0], rtol=RTOL)
    elif head == "classify":  # the class probabilities after each prefix: a forward pass over that prefix
        probs = np.stack([forward(old, t.model_cfg, x[:, : i + 1], state=state).probs[0] for i in range(T)])
        assert snap.losses[-1] == pytest.approx(float(res.per_step[0]), rel=RTOL)
        np.testing.assert_allclose(snap.losses, -np.log(probs[np.arange(T), int(y[0])]), rtol=1e-8)
    if head != "regress":
        k = min(TOP_K, probs.shape[1])
        expected = -np.sort(-probs, axis=1)[:, :k]
        np.testing.assert_allclose(snap.top_probs, expected, rtol=RTOL)
        np.testing.assert_allclose(np.take_along_axis(probs, snap.top_ids, axis=1), snap.top_probs, rtol=RTOL)
        target = y[0] if head == "lm" else np.full(T, int(y[0]))
        np.testing.assert_array_equal(snap.target_ids, target)
        np.testing.assert_allclose(snap.target_probs, probs[np.arange(T), target], rtol=RTOL)
    else:
        np.testing.assert_allclose(snap.outputs, fp.out[:, 0], rtol=RTOL)
        np.testing.assert_allclose(snap.target_values, y[0], rtol=RTOL)
        np.testing.assert_allclose(snap.losses, res.per_step[:, 0], rtol=RTOL)
    # gradients through time. ||dL/dh_t||: the row's summed losses through the full BPTT (the mean's
    # gradient times the number of terms). ||dL_T/dh_t||: the full BPTT again, fed the last step's loss only.
    n_terms = res.per_step.size
    bw = backward(old, fp, res.dout)
    d_last = np.zeros_like(res.dout)
    if head == "regress":
        d_last[-1] = 2.0 * (fp.out[-1] - y[0][-1]) / fp.out.shape[-1]
    elif head == "classify":
        d_last[:] = fp.probs
        d_last[0, int(y[0])] -= 1.0
    else:
        d_last[-1, 0] = fp.probs[-1, 0]
        d_last[-1, 0, int(y[0, -1])] -= 1.0
    bw_last = backward(old, fp, d_last)
    for lv, lg, lg_last in zip(snap.layers, bw.layers, bw_last.layers, strict=True):
        np.testing.assert_allclose(lv.dh_norm, row_norms(lg.dh[:, 0]) * n_terms, rtol=1e-8)
        np.testing.assert_allclose(lv.dlast_norm, row_norms(lg_last.dh[:, 0]), rtol=1e-8, atol=1e-300)


@pytest.mark.parametrize("name", ["lm", "lm-gru", "sine", "classify"])
def test_the_probe_is_the_forward_pass_over_its_prefix_and_equals_stepping(name):
    cfg = CONFIGS[name]
    events = []
    lab = Lab(events.append)
    lab.reset(cfg)
    lab.train_steps(2)
    lab.handle(c.SetProbe("First Citizen" if name != "classify" else "Dostoevsky"))
    for _ in range(4):
        lab.handle(c.ProbeForward())
    snap = [ev for ev in events if isinstance(ev, Snapshot)][-1]
    t = lab.main.trainer
    ids = lab.probe.ids
    assert snap.source == "probe" and snap.length == 4 and snap.step == 2
    state, steps = None, []
    for i in range(4):
        s = step_token(t.params, t.model_cfg, ids[i], state)
        steps.append(s)
        state = s.state
    for layer, lv in enumerate(snap.layers):
        np.testing.assert_allclose(lv.hs[1:], [s.hs[layer] for s in steps], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(lv.acts, [s.acts[layer] for s in steps], rtol=1e-10, atol=1e-13)
    head = t.model_cfg.head
    if head == "lm":
        for i, s in enumerate(steps):  # -log p(next) from the stepped logits, by log-sum-exp
            logits = s.logits.astype(np.float64)
            nll = np.log(np.exp(logits - logits.max()).sum()) + logits.max() - logits[int(ids[i + 1])]
            assert snap.losses[i] == pytest.approx(nll, rel=1e-10)
            np.testing.assert_allclose(snap.top_probs[i], -np.sort(-s.probs)[:TOP_K], rtol=1e-10)
        assert snap.has_gradients
    elif head == "classify":  # a typed name has no known class: probabilities, no loss, no gradients
        np.testing.assert_allclose(snap.top_probs[-1], -np.sort(-steps[-1].probs)[:TOP_K], rtol=1e-10)
        assert np.all(snap.target_ids == -1) and np.all(np.isnan(snap.losses)) and not snap.has_gradients
    else:
        np.testing.assert_allclose(snap.outputs, [s.logits for s in steps], rtol=1e-10)
        nxt = np.asarray(ids[1:5], float).reshape(4, -1)
        np.testing.assert_allclose(snap.losses, ((np.array([s.logits for s in steps]) - nxt) ** 2).mean(axis=1))
        assert snap.has_gradients
    if head != "classify":  # the probe's gradients: the full BPTT of its losses, and of its last loss alone
        x, y = ids[None, :4], ids[None, 1:5]
        fp = forward(t.params, t.model_cfg, x)
        res = loss(fp, y)
        d_last = np.zeros_like(res.dout)
        if head == "lm":
            d_last[-1, 0] = fp.probs[-1, 0]
            d_last[-1, 0, int(y[0, -1])] -= 1.0
        else:
            d_last[-1] = 2.0 * (fp.out[-1] - y[0][-1]) / fp.out.shape[-1]
        whole, last = backward(t.params, fp, res.dout), backward(t.params, fp, d_last)
        for lv, lg, lg_last in zip(snap.layers, whole.layers, last.layers, strict=True):
            np.testing.assert_allclose(lv.dh_norm, row_norms(lg.dh[:, 0]) * res.per_step.size, rtol=1e-8)
            np.testing.assert_allclose(lv.dlast_norm, row_norms(lg_last.dh[:, 0]), rtol=1e-8)


def test_at_the_end_of_the_probe_the_last_token_has_no_next_one():
    events = []
    lab = Lab(events.append)
    lab.reset(CONFIGS["lm"])
    lab.handle(c.SetProbe("abc"))
    for _ in range(5):  # one more than there are tokens: stays at the end
        lab.handle(c.ProbeForward())
    snap = [ev for ev in events if isinstance(ev, Snapshot)][-1]
    assert snap.length == 3 and list(snap.target_ids[:2]) == [int(i) for i in lab.probe.ids[1:]]
    assert snap.target_ids[2] == -1 and np.isnan(snap.losses[2]) and np.isnan(snap.target_probs[2])
    assert np.all(np.isfinite(snap.losses[:2])) and not snap.has_gradients
    lab.handle(c.ProbeBack())
    assert [ev for ev in events if isinstance(ev, Snapshot)][-1].has_gradients
