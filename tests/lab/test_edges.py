"""The lab at its edges: a load that fails leaves the run as it was (training, if it was), and a run
that diverged says so in events, never in NumPy warnings on stderr (pytest turns them into errors)."""

from __future__ import annotations

import pytest

from rnnviz.lab import Lab
from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.loop import LabLoop, _LoadFailed
from rnnviz.training import TrainConfig

SMALL = TrainConfig(task="sine", hidden=8, seq_len=12, batch_size=4)


def bad_load(tmp_path, what: str) -> c.Command:
    if what == "text":
        picture = tmp_path / "picture.png"
        picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
        return c.LoadCorpus(SMALL.replace(task="lm", corpus=str(picture)))
    notes = tmp_path / "notes.npz"
    notes.write_text("not a checkpoint")
    return c.LoadCheckpoint(str(notes))


@pytest.mark.parametrize("what", ["text", "checkpoint"])
@pytest.mark.parametrize("before", ["running", "paused", "idle"])
def test_a_load_that_fails_leaves_the_run_as_it_was(tmp_path, what, before):
    events = []
    loop = LabLoop(events.append, SMALL)
    lab = loop.lab
    lab.reset(SMALL)
    if before != "idle":
        lab.train_steps(2)
    if before == "running":
        loop._handle(c.Train())
    trainer, step = lab.main.trainer, lab.main.trainer.step
    loop._handle(bad_load(tmp_path, what))
    assert lab.state == e.LOADING and not lab.running  # (no training while a file loads)
    answer = loop.commands.get(timeout=30)
    assert isinstance(answer, _LoadFailed)
    loop._handle(answer)
    assert lab.main.trainer is trainer and lab.main.trainer.step == step
    assert lab.state == {"running": e.RUNNING, "paused": e.PAUSED, "idle": e.IDLE}[before]
    assert lab.running == (before == "running")
    assert any(isinstance(ev, e.Problem) and ev.kind == "load_failed" for ev in events)


# -- a diverging run: told in events, not in NumPy warnings ------------------------------------------


DIVERGING = SMALL.replace(hidden=16, seq_len=20, batch_size=8, optimizer="sgd", lr=100.0, clip="off")


def look_around(lab) -> None:
    """What a user does after the NaN pause: step the probe, go back, step again, scrub the history."""
    for cmd in (c.ProbeForward(), c.ProbeForward(), c.ProbeForward(), c.ProbeBack(), c.StepUpdate(),
                c.ShowHistory(0), c.SetRow(1), c.Train()):  # fmt: skip
        lab.handle(cmd)
    lab.tick()
    lab.handle(c.Pause())
    lab.main.trainer.evaluate(max_batches=2)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_diverged_run_pauses_without_a_numpy_warning(cell):
    events = []
    lab = Lab(events.append)
    lab.reset(DIVERGING.replace(cell=cell))
    lab.train_steps(100)
    assert any(isinstance(ev, e.Problem) and ev.kind == "nonfinite" for ev in events)  # it diverged
    look_around(lab)  # (any RuntimeWarning here is an error: pytest's filterwarnings)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_model_with_an_infinite_weight_is_looked_at_without_a_numpy_warning(cell):
    events = []
    lab = Lab(events.append)
    lab.reset(SMALL.replace(cell=cell))
    lab.train_steps(2)
    lab.main.trainer.params["layer0.W_hh"][0, 0] = float("inf")  # as a damaged checkpoint could hold
    lab.handle(c.StepUpdate())
    assert any(isinstance(ev, e.Problem) and ev.kind == "nonfinite" for ev in events)
    look_around(lab)
