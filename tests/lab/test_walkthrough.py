"""The walkthrough's numbers are the engine's: equal to forward / loss / backward / train_step to float
rounding, related as the tutorial's equations say, and its gradients match finite differences."""

import numpy as np
import pytest

from rnnviz.engine.clipping import ClipConfig
from rnnviz.engine.config import ModelConfig, init_params
from rnnviz.engine.model import backward, forward, loss
from rnnviz.engine.optim import OptimConfig, Optimizer
from rnnviz.engine.step import train_step
from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.lab import Lab
from rnnviz.lab.presets import apply_preset
from rnnviz.lab.walkthrough import (
    MAX_UNITS,
    WalkthroughRefused,
    build_walkthrough,
    stages,
    why_no_walkthrough,
)
from rnnviz.lab.walkthrough_text import csv_rows, format_text, quantities
from rnnviz.training import TrainConfig

WORDS = tuple("the king sits on throne".split())
X, Y = [0, 1, 2, 3], [1, 2, 3, 4]


def toy(cell="rnn", seed=0, **changes):
    cfg = ModelConfig(cell=cell, **{"input": "onehot", "vocab_size": 5, "hidden_size": 5, **changes})
    return cfg, init_params(cfg, np.random.default_rng(seed))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_every_number_is_the_engines(cell):
    cfg, params = toy(cell)
    w = build_walkthrough(params, cfg, X, Y, labels=WORDS)
    x, y = np.array([X]), np.array([Y])
    fp = forward(params, cfg, x)
    lr = loss(fp, y)
    bw = backward(params, fp, lr.dout)
    lt, lg = fp.layers[0], bw.layers[0]
    same = dict(rtol=1e-12, atol=0)
    np.testing.assert_allclose(w.h, lt.hs[:, 0], **same)
    np.testing.assert_allclose(w.logits, fp.out[:, 0], **same)
    np.testing.assert_allclose(w.probs, fp.probs[:, 0], **same)
    np.testing.assert_allclose(w.losses, lr.per_step[:, 0], **same)
    assert w.loss == lr.loss
    np.testing.assert_allclose(w.dy, lr.dout[:, 0], **same)
    np.testing.assert_allclose(w.dh, lg.dh[:, 0], **same)
    np.testing.assert_allclose(w.dz, lg.dax[:, 0], **same)
    np.testing.assert_allclose(w.dh_next[0], lg.dh0[0], **same)
    for name in params:
        np.testing.assert_allclose(w.grads[name], bw.grads[name], **same)
    if cell == "lstm":
        np.testing.assert_allclose(w.c, lt.cs[:, 0], **same)
        np.testing.assert_allclose(w.gates, lt.acts[:, :, 0], **same)
    assert (w.c is None) == (cell != "lstm") and (w.dz_rec is None) == (cell != "gru")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_the_update_is_the_one_a_training_step_makes(cell, kind):
    cfg, params = toy(cell)
    clip = ClipConfig("norm", 0.05)  # small enough to clip: the update uses the clipped gradient
    w = build_walkthrough(params, cfg, X, Y, clip=clip, optimizer=Optimizer(OptimConfig(kind=kind, lr=0.1)))
    assert w.clip.clipped
    trained = dict(params)
    r = train_step(trained, cfg, Optimizer(OptimConfig(kind=kind, lr=0.1)), np.array([X]), np.array([Y]), clip=clip)
    assert r.applied and r.loss == w.loss and r.clip == w.clip
    for name in params:
        np.testing.assert_allclose(w.clipped[name], r.bw.grads[name], rtol=1e-12, atol=0)  # (clipped in place)
        np.testing.assert_allclose(w.new_weights[name], trained[name], rtol=1e-12, atol=0)
        np.testing.assert_allclose(w.update[name], trained[name] - params[name], rtol=1e-9, atol=1e-15)
    assert w.loss_after == loss(forward(trained, cfg, np.array([X])), np.array([Y])).loss


def test_the_tutorials_equations_hold_for_the_rnn():
    cfg, params = toy("rnn")
    w = build_walkthrough(params, cfg, X, Y)
    T = len(X)
    W_hy, W_hh = params["head.W_hy"], params["layer0.W_hh"]
    close = dict(rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(w.dy, (w.probs - np.eye(5)[Y]) / T, **close)  # dy = (p - onehot(y)) / T
    dh_next_in = np.vstack([w.dh_next[1:], np.zeros((1, 5))])  # what step t+1 sent back (none at the end)
    np.testing.assert_allclose(w.dh, w.dy @ W_hy.T + dh_next_in, **close)  # dh = dy W_hy^T + dh_next
    np.testing.assert_allclose(w.dh_above, w.dy @ W_hy.T, **close)
    np.testing.assert_allclose(w.dz, (1 - w.h[1:] ** 2) * w.dh, **close)  # dh_raw = (1 - h^2) * dh
    np.testing.assert_allclose(w.dh_next, w.dz @ W_hh.T, **close)  # dh_next = dh_raw W_hh^T
    np.testing.assert_allclose(w.grads["head.W_hy"], w.h[1:].T @ w.dy, **close)
    np.testing.assert_allclose(w.grads["layer0.W_hh"], w.h[:-1].T @ w.dz, **close)
    np.testing.assert_allclose(w.grads["layer0.W_xh"], w.inputs.T @ w.dz, **close)
    np.testing.assert_allclose(w.grads["layer0.b_h"], w.dz.sum(0), **close)
    np.testing.assert_allclose(w.grads["head.b_y"], w.dy.sum(0), **close)
    np.testing.assert_allclose(w.update["head.W_hy"], -0.1 * w.grads["head.W_hy"], rtol=1e-9)  # SGD at 0.1, no clip


@pytest.mark.parametrize("cell, inp", [("rnn", "onehot"), ("lstm", "onehot"), ("gru", "onehot"), ("rnn", "embedding")])
def test_accumulated_gradients_match_finite_differences_on_the_toy(cell, inp):
    cfg, params = toy(cell, input=inp, embed_size=3) if inp == "embedding" else toy(cell)
    w = build_walkthrough(params, cfg, X, Y)
    if inp == "embedding":  # the input vector is the embedding row the forward pass gathered
        np.testing.assert_array_equal(w.inputs, params["embed.E"][X])
        assert set(w.grads) == set(params) and "x_embed" in {q.key for q in quantities(w)}
    x, y, eps = np.array([X]), np.array([Y]), 1e-6
    for name, p in params.items():
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            changed = dict(params)
            for sign in (1, -1):
                q = p.copy()
                q[i] += sign * eps
                changed[name] = q
                numeric[i] += sign * loss(forward(changed, cfg, x), y).loss / (2 * eps)
        np.testing.assert_allclose(w.grads[name], numeric, rtol=1e-5, atol=1e-9, err_msg=name)


def test_nothing_of_the_callers_changes():
    cfg, params = toy("lstm")
    before = {k: v.copy() for k, v in params.items()}
    opt = Optimizer(OptimConfig(kind="adam", lr=0.01), step=3, state={})
    w = build_walkthrough(params, cfg, X, Y, optimizer=opt)
    assert opt.step == 3 and opt.state == {}
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
        assert not w.h.flags.writeable and not w.grads[k].flags.writeable


def test_initial_state_is_used():
    cfg, params = toy("rnn")
    h0 = np.full((1, 5), 0.3)
    w = build_walkthrough(params, cfg, X, Y, state=[(h0, None)])
    fp = forward(params, cfg, np.array([X]), state=[(h0, None)])
    np.testing.assert_array_equal(w.h[0], h0[0])
    np.testing.assert_allclose(w.h, fp.layers[0].hs[:, 0], rtol=1e-12)
    assert w.losses_after.shape == (4,) and np.isclose(w.loss_after, w.losses_after.mean())


@pytest.mark.parametrize(
    "hidden, layers, head, words",
    [(MAX_UNITS + 1, 1, "lm", "at most 16 hidden units; this one has 17"), (5, 2, "lm", "one-layer"),
     (5, 1, "classify", "language model"), (5, 1, "regress", "language model")],
)  # fmt: skip
def test_models_it_cannot_show_are_refused_in_words(hidden, layers, head, words):
    assert words in why_no_walkthrough(hidden, layers, head)
    cfg = ModelConfig(cell="rnn", vocab_size=5, hidden_size=hidden, num_layers=layers, head=head,
                      output_size=0 if head == "lm" else 3, input="dense" if head == "regress" else "onehot",
                      input_size=1)  # fmt: skip
    with pytest.raises(WalkthroughRefused, match=words.split(";")[0]):
        build_walkthrough(init_params(cfg, np.random.default_rng(0)), cfg, X, Y)
    assert why_no_walkthrough(MAX_UNITS, 1, "lm") is None


def test_stages_are_in_the_order_a_step_makes_them():
    cfg, params = toy("rnn")
    w = build_walkthrough(params, cfg, X, Y, labels=WORDS)
    s = stages(w)
    assert [(st.kind, st.t) for st in s] == [
        *[("forward", t) for t in range(4)], ("loss", None), *[("backward", t) for t in (3, 2, 1, 0)],
        ("gradients", None), ("clip", None), ("update", None),
    ]  # fmt: skip
    assert [st.number for st in s] == list(range(1, 13))
    assert "'the'" in s[0].title and "'king'" in s[0].title and "dh_raw" in s[5].title
    assert f"{w.loss:.4f} -> {w.loss_after:.4f}" in s[-1].title


def test_csv_has_every_number_as_t_quantity_index_value():
    cfg, params = toy("rnn")
    w = build_walkthrough(params, cfg, X, Y, labels=WORDS)
    rows = csv_rows(w)
    assert rows[0] == ["t", "quantity", "index", "value"]
    assert all(len(r) == 4 for r in rows)
    kinds = {r[1] for r in rows[1:]}
    assert {"x", "y", "h", "logits", "probs", "loss", "dy", "dh", "dh_raw", "dh_next",
            "dW_xh", "dW_hh", "dW_hy", "db_h", "db_y"} <= kinds  # fmt: skip
    by = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert [by[(str(t), "x", "")] for t in range(4)] == ["0", "1", "2", "3"]  # token ids
    assert [by[(str(t), "y", "")] for t in range(4)] == ["1", "2", "3", "4"]
    assert float(by[("2", "dh_raw", "3")]) == w.dz[2, 3]
    assert float(by[("-1", "h", "0")]) == w.h[0, 0] and float(by[("0", "h", "4")]) == w.h[1, 4]
    assert float(by[("", "dW_hy", "1,2")]) == w.grads["head.W_hy"][1, 2]
    assert float(by[("", "db_y", "4")]) == w.grads["head.b_y"][4]
    assert float(by[("", "loss_after", "")]) == w.loss_after
    per_step = sum(q.values.size for q in quantities(w))
    grads = sum(g.size for g in w.grads.values())
    assert len(rows) - 1 == 5 + per_step + grads + grads + 2  # h_0, per step, gradients, updates, two losses


def test_the_text_has_the_tutorials_sections():
    cfg, params = toy("lstm")
    text = format_text(build_walkthrough(params, cfg, X, Y, labels=WORDS))
    for words in ("WEIGHTS", "FORWARD", "BACKWARD (t = 3 down to 0)", "GRADIENTS", "CLIPPING", "UPDATE",
                  "dz_f = dc * c_{t-1} * f (1 - f)", "read 'on' (id 3), target 'throne' (id 4)",
                  "dc_next"):  # fmt: skip
        assert words in text


def test_the_lab_sends_it_when_asked_and_never_while_training():
    events = []
    lab = Lab(events.append)
    lab.reset(apply_preset("toy", TrainConfig()))
    sent = lambda: [ev for ev in events if isinstance(ev, e.WalkthroughReady)]  # noqa: E731
    assert sent() == []  # nobody asked
    lab.handle(c.WatchWalkthrough(True))
    first = sent()[-1]
    assert first.sequence == "the first sequence of the data" and first.step == 0
    assert first.walkthrough.labels == WORDS and list(first.walkthrough.x) == [0, 1, 2, 3]
    lab.handle(c.StepUpdate())
    second = sent()[-1]
    assert second.step == 1 and second.sequence == "row 0 of step 1's batch"
    # the iteration shown before is the one just made: its loss after is this one's loss before
    assert second.walkthrough.loss == pytest.approx(first.walkthrough.loss_after, rel=1e-6)
    n = len(sent())
    lab.handle(c.ProbeForward())  # nothing it is made of changed: nothing sent
    assert len(sent()) == n
    lab.handle(c.Train())
    for _ in range(5):
        lab.tick()
    assert len(sent()) == n  # not while training
    lab.handle(c.Pause())
    assert sent()[-1].step == 6
    lab.handle(c.WatchWalkthrough(False))
    lab.handle(c.StepUpdate())
    assert sent()[-1].step == 6
    lab.handle(c.WatchWalkthrough(True))
    lab.reset(TrainConfig(task="toy", cell="rnn", hidden=17))
    assert sent()[-1].walkthrough is None and "at most 16 hidden units" in sent()[-1].reason
