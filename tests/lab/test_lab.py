"""The lab, driven directly (no Qt, no process): commands, complete snapshots, the step history."""

import os
import threading

import numpy as np
import pytest

from rnnviz.lab import Lab
from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.history import DEFAULT_BUDGET, SnapshotHistory
from rnnviz.lab.snapshot import Snapshot
from rnnviz.training import TrainConfig

SMALL = TrainConfig(hidden=12, seq_len=10, batch_size=4, dtype="float64")


class Clock:
    """A clock the test moves: ``step`` seconds per reading (0: time stands still)."""

    def __init__(self, step: float = 1.0):
        self.t, self.step = 0.0, step

    def __call__(self) -> float:
        self.t += self.step
        return self.t


def make_lab(config=SMALL, clock_step=1.0, **kw):
    events = []
    lab = Lab(events.append, clock=Clock(clock_step), **kw)
    lab.reset(config)
    return lab, events


def snapshots(events):
    return [ev for ev in events if isinstance(ev, Snapshot)]


def test_pause_shows_the_newest_step_whole_even_when_it_was_not_traced():
    lab, events = make_lab(clock_step=0.0)  # time stands still: after the first, no step earns a snapshot
    lab.train_steps(5)
    live = [s for s in snapshots(events) if s.live]
    assert [s.step for s in live] == [1]
    final = snapshots(events)[-1]
    assert final.step == 5 == lab.main.trainer.step and final.source == "train" and not final.live
    assert final.has_gradients and all(lv.dh_norm is not None for lv in final.layers)
    states = [ev.state for ev in events if isinstance(ev, e.StateChanged)]
    assert states[-1] == e.PAUSED
    assert isinstance(events[-1], e.HistoryInfo) and events[-1].last_step == 5


def test_every_command_is_a_typed_object_and_anything_else_is_refused():
    lab, events = make_lab()
    for cmd in (c.StepUpdate(), c.ProbeForward(), c.ProbeForward(), c.ProbeBack(), c.ProbeRestart(),
                c.SetProbe("the cat"), c.SetRow(2), c.SetLR(0.01), c.SetClip(lab.main.trainer.clip),
                c.Train(), c.Pause(), c.ShowHistory(0)):  # fmt: skip
        lab.handle(cmd)
    assert lab.main.trainer.cfg.lr == 0.01 and lab.row == 2 and lab.probe.text == "the cat"
    assert lab.main.trainer.step == 1 and lab.state == e.PAUSED  # one update; Train then Pause
    shown = [s.source for s in snapshots(events)]
    assert shown[:1] == ["train"] and "probe" in shown and lab.probe.position == 0  # restarted
    assert snapshots(events)[-1].history is not None  # ShowHistory(0), paused
    with pytest.raises(ValueError, match="cannot handle"):
        lab.handle("train")
    with pytest.raises(ValueError, match="whole number"):
        lab.handle(c.SetRow("not a number"))


def test_snapshots_are_frozen_copies_that_outlive_the_step():
    lab, events = make_lab()
    lab.train_steps(3)
    snap = snapshots(events)[0]
    hs = snap.layers[0].hs.copy()
    lab.train_steps(5)  # the buffer pool reuses the step's arrays: the snapshot must not change
    np.testing.assert_array_equal(snap.layers[0].hs, hs)
    newest = snapshots(events)[-1]
    assert not np.shares_memory(newest.layers[0].hs, lab.main.trainer._last[1].fp.layers[0].hs)


def test_paused_another_row_shows_the_newest_step_for_that_row():
    lab, events = make_lab()
    lab.train_steps(2)
    lab.handle(c.SetRow(3))
    snap = snapshots(events)[-1]
    trace = lab.main.trainer.last_trace(3)
    assert snap.row == 3 and snap.step == 2
    np.testing.assert_array_equal(snap.layers[0].hs, trace.layers[0].hs[:, 3])


def test_the_history_scrubs_back_to_the_very_numbers_shown_live():
    lab, events = make_lab()
    lab.train_steps(6)
    live = {s.step: s for s in snapshots(events) if s.source == "train" and s.history is None}
    info = [ev for ev in events if isinstance(ev, e.HistoryInfo)][-1]
    assert (info.count, info.first_step, info.last_step) == (6, 1, 6)
    lab.handle(c.ShowHistory(2))
    shown = events[-1]
    assert shown.step == 3 and shown.history.index == 2 and shown.history.newest_step == 6
    assert shown.layers[0].hs is live[3].layers[0].hs  # the same arrays: nothing recomputed
    lab.handle(c.Train())
    lab.tick()  # Train goes on from the newest state
    assert lab.main.trainer.step == 7 and snapshots(events)[-1].step == 7
    lab.handle(c.ShowHistory(0))  # ignored while running
    assert snapshots(events)[-1].step == 7


def test_the_history_keeps_to_its_memory_budget_and_always_the_newest():
    lab, events = make_lab()
    lab.train_steps(1)
    size = snapshots(events)[-1].nbytes
    lab2, _ = make_lab(history_budget=int(3.5 * size))
    lab2.train_steps(10)
    h = lab2.main.history
    assert len(h) == 3 and h.nbytes <= h.budget and h.steps == (8, 10)
    tiny = SnapshotHistory(budget=1)
    tiny.append(snapshots(events)[-1])
    assert len(tiny) == 1  # the newest stays, whatever its size


def test_the_default_budget_holds_at_least_100_steps_of_the_default_model():
    from rnnviz.lab.presets import DEFAULT_PRESET, apply_preset

    lab, events = make_lab(apply_preset(DEFAULT_PRESET, TrainConfig()))
    lab.train_steps(1)
    assert 100 * snapshots(events)[-1].nbytes <= DEFAULT_BUDGET


def test_a_refused_step_pauses_says_where_and_keeps_the_weights():
    lab, events = make_lab(SMALL.replace(dtype="float32", optimizer="sgd", lr=1e39, clip="off"))
    before = {k: v.copy() for k, v in lab.main.trainer.params.items()}
    lab.train_steps(3)
    assert lab.state == e.PAUSED and lab.main.trainer.step == 1
    (problem,) = [ev for ev in events if isinstance(ev, e.Problem)]
    assert problem.kind == "nonfinite" and "step 1" in problem.message
    for k, v in before.items():
        np.testing.assert_array_equal(lab.main.trainer.params[k], v)


def test_a_loaded_checkpoint_brings_its_training_history(tmp_path):
    lab, events = make_lab()
    lab.train_steps(4)
    path = str(tmp_path / "run.npz")
    lab.handle(c.SaveCheckpoint(path))
    losses = [ev.loss for ev in events if isinstance(ev, e.StepScalars)]
    events.clear()
    lab.handle(c.LoadCheckpoint(path))
    (log,) = [ev for ev in events if isinstance(ev, e.RunLog)]
    np.testing.assert_array_equal(log.step, [1, 2, 3, 4])
    np.testing.assert_array_equal(log.loss, losses)
    assert lab.state == e.PAUSED and lab.main.trainer.step == 4


def test_the_loop_in_a_thread_loads_trains_pauses_and_stops():
    from rnnviz.lab.loop import LabLoop

    messages = []
    ready, got = threading.Event(), threading.Event()

    def emit(msg):
        messages.append(msg)
        if isinstance(msg, e.StateChanged) and msg.state == e.IDLE:
            ready.set()
        if isinstance(msg, e.StepScalars) and msg.step >= 3:
            got.set()

    loop = LabLoop(emit, TrainConfig(task="sine", hidden=8, seq_len=12, batch_size=4))
    thread = threading.Thread(target=loop.run)
    thread.start()
    try:
        assert ready.wait(30)
        loop.send(c.Train())
        assert got.wait(30)
        loop.send(c.Pause())
    finally:
        loop.send(c.Stop())
        thread.join(10)
    assert not thread.is_alive()
    states = [ev.state for ev in messages if isinstance(ev, e.StateChanged)]
    assert states[:3] == [e.LOADING, e.IDLE, e.RUNNING] and e.PAUSED in states
    assert any(isinstance(ev, e.ModelInfo) and ev.head == "regress" for ev in messages)


def test_the_outbox_sends_everything_in_order_but_only_the_newest_snapshot_of_a_run():
    from rnnviz.lab.loop import Outbox

    lab, events = make_lab()
    lab.train_steps(3)
    s1, s2, s3 = [s for s in snapshots(events) if s.step in (1, 2, 3)][:3]
    sent, gate = [], threading.Event()

    def send(msg):
        gate.wait(5)  # the pipe is full: nothing leaves until the window reads
        sent.append(msg)

    box = Outbox(send)
    box.put("first")  # taken by the sender at once, then it waits at the gate
    for msg in (s1, "a", s2, "b", s3):
        box.put(msg)
    gate.set()
    box.close()
    assert sent == ["first", "a", "b", s3]


def test_an_answer_to_an_older_load_never_replaces_a_newer_model():
    """Open a text, and before it has loaded press Reset: the Reset's model stays, whenever the text arrives."""
    from rnnviz.lab.loop import LabLoop, _Loaded

    events = []
    loop = LabLoop(events.append, SMALL)
    lab = loop.lab
    lab.reset(SMALL)
    loop._handle(c.LoadCorpus(SMALL.replace(hidden=8)))  # its answer will come from the loader thread
    assert lab.state == e.LOADING
    loop._handle(c.Reset(SMALL.replace(hidden=5)))  # a newer request, while loading: it must wait its turn too
    answers = []
    while len(answers) < 2:
        answers.append(loop.commands.get(timeout=30))
    for cmd in sorted(answers, key=lambda cmd: -cmd.load):  # the newest answer first, the older one late
        assert isinstance(cmd, _Loaded)
        loop._handle(cmd)
    assert lab.main.trainer.cfg.hidden == 5 and lab.state == e.IDLE
    infos = [ev for ev in events if isinstance(ev, e.ModelInfo)]
    assert infos[-1].hidden == 5


def test_stepping_the_probe_while_training_keeps_the_newest_step_and_says_so():
    lab, events = make_lab()
    lab.handle(c.Train())
    for _ in range(6):
        lab.tick()
    lab.handle(c.ProbeForward())
    info = [ev for ev in events if isinstance(ev, e.HistoryInfo)][-1]
    assert info.last_step == 6 == len(lab.main.history) == info.count
    assert lab.state == e.STEPPING and snapshots(events)[-1].source == "probe"


def test_pause_after_another_row_was_chosen_shows_that_row():
    lab, events = make_lab()
    lab.handle(c.Train())
    lab.tick()
    lab.handle(c.SetRow(2))  # while running: taken from the next snapshot on
    lab.handle(c.Pause())
    final = snapshots(events)[-1]
    assert final.row == 2 and final.step == 1


def test_a_probe_typed_before_the_model_was_ready_is_kept():
    events = []
    lab = Lab(events.append)
    lab.handle(c.SetProbe("To be or not"))
    lab.reset(SMALL)
    assert lab.probe.text == "To be or not"
    assert [ev for ev in events if isinstance(ev, e.ModelInfo)][-1].probe_text == "To be or not"


def test_a_second_validation_at_the_same_step_replaces_the_first():
    from rnnviz.training import Trainer

    t = Trainer(TrainConfig(task="sine", hidden=4, seq_len=6, batch_size=2))
    t.train_step()
    t.evaluate(1)
    t.evaluate(1)
    assert t.log.evals.n == 1


def test_saving_a_model_that_is_not_finite_is_refused_with_a_problem_and_the_run_goes_on(tmp_path):
    lab, events = make_lab()
    lab.train_steps(2)
    t = lab.main.trainer
    t.params = {**t.params, "head.b_y": np.full_like(t.params["head.b_y"], np.nan)}
    lab.handle(c.SaveCheckpoint(str(tmp_path / "run.npz")))
    (problem,) = [ev for ev in events if isinstance(ev, e.Problem)]
    assert problem.kind == "save_failed" and "NaN or infinite" in problem.message
    assert not (tmp_path / "run.npz").exists() and lab.state == e.PAUSED


def hostile_checkpoints(tmp_path, lab) -> list[str]:
    """Files that used to load and break the run, or never finish loading: made from the lab's own run."""
    from rnnviz.engine import checkpoint

    good = str(tmp_path / "good.npz")
    lab.handle(c.SaveCheckpoint(good))
    arrays, meta = checkpoint.load(good)
    meta = {k: v for k, v in meta.items() if k not in ("format", "version")}
    w = "param.layer0.W_hh"
    crafted = {
        "int64.npz": ({**arrays, w: arrays[w].astype(np.int64)}, meta),
        "inf.npz": ({**arrays, w: np.full_like(arrays[w], np.inf)}, meta),
        "vocab.npz": (arrays, {**meta, "vocab": {**meta["vocab"], "tokens": meta["vocab"]["tokens"][:-1]}}),
        "far.npz": (arrays, {**{k: v for k, v in meta.items() if k != "data_rng"}, "batches_used": 10**12}),
    }
    paths = []
    for name, (a, m) in crafted.items():
        checkpoint.save(tmp_path / name, a, m)
        paths.append(str(tmp_path / name))
    return paths


def test_a_refused_load_keeps_the_run_exactly_as_it_was_and_training_if_it_was(tmp_path):
    lab, events = make_lab()
    lab.train_steps(2)
    paths = hostile_checkpoints(tmp_path, lab)
    lab.handle(c.Train())
    lab.tick()
    trainer = lab.main.trainer
    before = {k: v.tobytes() for k, v in trainer.params.items()}
    for path in paths:
        events.clear()
        lab.handle(c.LoadCheckpoint(path))  # (int64 and inf weights used to be swapped in)
        (problem,) = [ev for ev in events if isinstance(ev, e.Problem)]
        assert problem.kind == "load_failed" and os.path.basename(path) in problem.message
        assert lab.main.trainer is trainer and lab.running and lab.state == e.RUNNING
        assert {k: v.tobytes() for k, v in trainer.params.items()} == before and trainer.step == 3
    lab.tick()
    assert trainer.step == 4


def test_the_loop_goes_on_training_after_a_refused_load(tmp_path):
    """In the app the loop loads on a thread; a refused file used to leave the run paused ("as it was":
    training, if it was training)."""
    from rnnviz.lab.loop import LabLoop, _LoadFailed

    events = []
    loop = LabLoop(events.append, SMALL)
    lab = loop.lab
    lab.reset(SMALL)
    lab.train_steps(1)
    (path, *_) = hostile_checkpoints(tmp_path, lab)
    for was_running in (True, False):
        loop._handle(c.Train() if was_running else c.Pause())
        trainer, state = lab.main.trainer, lab.state
        loop._handle(c.LoadCheckpoint(path))
        assert lab.state == e.LOADING and not lab.running  # no step while loading (the app waits for the answer)
        answer = loop.commands.get(timeout=30)
        assert isinstance(answer, _LoadFailed)
        loop._handle(answer)
        assert lab.main.trainer is trainer and lab.state == state and lab.running == was_running
        assert [ev for ev in events if isinstance(ev, e.Problem)][-1].kind == "load_failed"


def test_a_language_models_validation_carries_its_perplexity():
    """Issue 11: perplexity (exp of the mean validation loss) beside the validation loss."""
    import math

    from rnnviz.lab.lab import EVAL_EVERY

    lab, events = make_lab(SMALL.replace(hidden=4, seq_len=5, batch_size=2))
    lab.train_steps(EVAL_EVERY)
    (ev,) = [x for x in events if isinstance(x, e.EvalResult)]
    assert ev.perplexity == pytest.approx(math.exp(ev.loss))


def test_a_loaded_checkpoint_brings_its_mechanism_views_over_training(tmp_path):
    lab, events = make_lab()
    lab.train_steps(3)  # the pause shows the newest step whole: one mechanism view, logged
    lab.step_update()
    logged = lab.main.trainer.log.mechanism
    assert list(logged["x"][-2:]) == [3, 4]  # (and those made while it ran)
    path = str(tmp_path / "run.npz")
    lab.handle(c.SaveCheckpoint(path))
    events.clear()
    lab.handle(c.LoadCheckpoint(path))
    (log,) = [ev for ev in events if isinstance(ev, e.RunLog)]
    assert set(log.mechanism) == {"x", *logged.names}
    for name, values in log.mechanism.items():
        np.testing.assert_array_equal(values, logged[name])
