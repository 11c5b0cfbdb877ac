"""The training process's loop and the mailbox, without Qt and without a process (in a thread)."""

import threading

import numpy as np
import pytest

from rnnviz.corpus import LMCorpus, bundled_corpus, encode_corpus, load_text
from rnnviz.engine.model import forward, loss
from rnnviz.gui import messages as m
from rnnviz.gui.controller import Mailbox
from rnnviz.gui.probe import ProbeSession
from rnnviz.training import TrainConfig, Trainer


@pytest.fixture(scope="module")
def trainer():
    vocab, ids = encode_corpus(load_text(bundled_corpus()).text[:20000], "char")
    task = LMCorpus(ids, vocab, seq_len=16, batch_size=4)
    t = Trainer(TrainConfig(hidden=12, seq_len=16, batch_size=4, dtype="float64"), task)
    for _ in range(3):
        t.train_step()
    return t


def test_mailbox_drops_what_belongs_to_the_previous_model():
    box = Mailbox()
    old = m.StepScalars(
        step=7, progress=0.1, loss=1.0, grad_norm=1.0, clipped_norm=1.0, clipped=False, lr=0.1, tokens=10
    )
    box.put(old)
    box.put(m.ProbeView((), np.zeros(0), 0, (), (), (), None, None, None, None))
    info = m.ModelInfo("t", "lm", "rnn", 1, 4, ("h",), ((-1, 1),), (), (), 1, {}, "", 0)
    box.put(info)
    new = m.StepScalars(
        step=1, progress=0.1, loss=1.0, grad_norm=1.0, clipped_norm=1.0, clipped=False, lr=0.1, tokens=10
    )
    box.put(new)
    d = box.take()
    assert d.scalars == [new] and d.probe is None and d.events == [info]
    assert box.take().events == []


def test_mailbox_keeps_the_newest_gradients_when_a_newer_view_has_none(trainer):
    # The engine sends gradient norms ~10 times a second, views ~40: a newer view without them must not
    # hide the gradients the panel has not drawn yet.
    def view(gradients):
        r = trainer.train_step(trace=True, spectrum=False, gradients=gradients)
        return m.TrainView.from_trace(r.trace, r.step, "off", None, None)

    box = Mailbox()
    with_grads, without = view(True), view(False)
    assert with_grads.has_gradients and not without.has_gradients
    box.put(with_grads)
    box.put(without)
    d = box.take()
    assert d.train is without and d.gradients is with_grads
    box.put(view(False))
    assert box.take().gradients is None  # taken once


def test_the_probe_loss_is_the_engines_own(trainer):
    """-log p shown while stepping equals the loss the engine computes for the same prefix."""
    probe = ProbeSession()
    probe.set_text(trainer.task, "First Citizen")
    for _ in range(5):
        probe.act(trainer, "step_token")
    view = probe.view(trainer, trainer.task.spec.vocab.labels())
    ids = probe.ids
    fp = forward(trainer.params, trainer.model_cfg, ids[None, :6])
    per_step = loss(fp, ids[None, 1:7]).per_step  # (T, 1)
    assert view.position == 5 and view.true_next == ids[5]
    assert view.true_nll == pytest.approx(float(per_step[4, 0]), rel=1e-12)
    np.testing.assert_allclose(view.hs[0], fp.layers[0].hs[1:6, 0], rtol=1e-12)


def test_the_probe_recomputes_what_it_read_when_the_weights_change(trainer):
    probe = ProbeSession()
    probe.set_text(trainer.task, "Citizen")
    probe.act(trainer, "step_token")
    probe.act(trainer, "step_token")
    before = probe.view(trainer, None).hs[0].copy()
    trainer.train_step()
    probe.act(trainer, "step_back")  # any probe action first brings the read tokens up to date
    after = probe.view(trainer, None)
    assert after.position == 1
    fp = forward(trainer.params, trainer.model_cfg, probe.ids[None, :1])
    np.testing.assert_allclose(after.hs[0][0], fp.layers[0].hs[1, 0], rtol=1e-12)
    assert not np.allclose(after.hs[0][0], before[0])


def test_the_loop_in_a_thread_trains_pauses_and_stops():
    from rnnviz.gui.engine_loop import EngineLoop

    messages = []
    ready, got = threading.Event(), threading.Event()

    def emit(msg):
        messages.append(msg)
        if isinstance(msg, m.StateChanged) and msg.state == m.IDLE:
            ready.set()
        if isinstance(msg, m.StepScalars) and msg.step >= 3:
            got.set()

    loop = EngineLoop(emit, TrainConfig(task="sine", hidden=8, seq_len=12, batch_size=4))
    thread = threading.Thread(target=loop.run)
    thread.start()
    try:
        assert ready.wait(30)  # Train is ignored while the task is still loading (the GUI disables it)
        loop.send("train")
        assert got.wait(30)
        loop.send("pause")
    finally:
        loop.send("stop")
        thread.join(10)
    assert not thread.is_alive()
    states = [e.state for e in messages if isinstance(e, m.StateChanged)]
    assert states[:3] == [m.LOADING, m.IDLE, m.RUNNING] and m.PAUSED in states
    assert any(isinstance(e, m.ModelInfo) and e.head == "regress" for e in messages)


@pytest.mark.parametrize(
    "cpus, steerable, expected",
    [(1, True, (1, False)), (2, True, (2, True)), (2, False, (1, False)), (4, True, (2, False))],
)
def test_blas_threads_of_the_training_process(cpus, steerable, expected):
    from rnnviz.gui.controller import engine_blas_threads

    # on 2 cores: two threads with the time loops on one, if the thread count can be changed at run time
    assert engine_blas_threads(cpus, steerable) == expected


def test_the_time_loops_can_run_on_one_blas_thread(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from rnnviz.engine import layer
    from rnnviz.gui.engine_loop import one_blas_thread_in_time_loops

    monkeypatch.setattr(layer, "loop_context", layer.loop_context)  # restored after the test
    blas = [c for c in threadpoolctl.ThreadpoolController().lib_controllers if c.user_api == "blas"]
    if not blas:
        pytest.skip("no BLAS library that threadpoolctl can steer")
    before = [c.num_threads for c in blas]
    assert one_blas_thread_in_time_loops()
    with layer.loop_context():
        assert [c.num_threads for c in blas] == [1] * len(blas)
    assert [c.num_threads for c in blas] == before
