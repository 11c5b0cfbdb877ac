"""Compare mode in the lab: B forked from A (or both from scratch), trained in lockstep, shown together."""

import numpy as np

from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.snapshot import Snapshot
from rnnviz.training import TrainConfig

from .test_lab import make_lab, snapshots

SMALL = TrainConfig(hidden=12, seq_len=10, batch_size=4, dtype="float64", cell="rnn", clip="off")


def of(events, kind):
    return [ev for ev in events if isinstance(ev, kind)]


def test_compare_forks_the_paused_run_and_both_train_in_lockstep():
    lab, events = make_lab(SMALL)
    lab.train_steps(4)
    a = lab.main.trainer
    events.clear()
    lab.handle(c.Compare({"clip": "norm:0.01"}))  # below every norm: clipping acts
    info = of(events, e.CompareInfo)[-1]
    assert info.runs == ("A", "B") and info.labels == ("clip=off", "clip=norm:0.01") and info.fork_step == 4
    b_info = [m for m in of(events, e.ModelInfo) if m.run == "B"][-1]
    assert b_info.label == "clip=norm:0.01" and b_info.step == 4
    assert [log.run for log in of(events, e.RunLog)] == ["A", "B"]  # B's curves start with A's past
    shown = {s.run: s for s in snapshots(events)}
    assert shown["A"].step == shown["B"].step == 4  # paused: both runs' newest step, at once
    np.testing.assert_array_equal(shown["A"].layers[0].hs, shown["B"].layers[0].hs)  # the same past step
    assert lab.main.trainer is a and lab.state == e.PAUSED
    events.clear()
    lab.train_steps(3)
    scalars = of(events, e.StepScalars)
    assert [(s.run, s.step) for s in scalars] == [("A", 5), ("B", 5), ("A", 6), ("B", 6), ("A", 7), ("B", 7)]
    final = {s.run: s for s in snapshots(events)}
    assert final["A"].step == final["B"].step == 7
    np.testing.assert_array_equal(final["A"].inputs, final["B"].inputs)  # one batch for both
    assert not np.array_equal(lab.runs["A"].trainer.params["layer0.W_hh"], lab.runs["B"].trainer.params["layer0.W_hh"])
    assert lab.runs["B"].trainer.cfg.clip == "norm:0.01" and str(lab.runs["A"].trainer.clip) == "off"


def test_compare_while_running_keeps_running():
    lab, events = make_lab(SMALL)
    lab.handle(c.Train())
    lab.tick()
    lab.handle(c.Compare({"lr": 0.5}))
    assert lab.running and lab.state == e.RUNNING and lab.comparing
    lab.tick()
    assert lab.runs["A"].trainer.step == lab.runs["B"].trainer.step == 2


def test_compare_from_scratch_changes_any_one_setting():
    lab, events = make_lab(SMALL)
    lab.train_steps(2)
    events.clear()
    lab.handle(c.Compare({"cell": "lstm"}, from_scratch=True))
    assert lab.state == e.IDLE and lab.runs["A"].trainer.step == 0 and lab.runs["B"].trainer.cfg.cell == "lstm"
    assert lab.runs["A"].trainer.task is lab.runs["B"].trainer.task  # one task, one batch stream
    assert [m.cell for m in of(events, e.ModelInfo)] == ["rnn", "lstm"]
    lab.train_steps(2)
    assert lab.runs["A"].trainer.step == lab.runs["B"].trainer.step == 2


def test_a_comparison_that_cannot_compare_changes_nothing_and_says_why():
    lab, events = make_lab(SMALL)
    lab.train_steps(2)
    trainer = lab.main.trainer
    events.clear()
    lab.handle(c.Compare({"cell": "lstm"}))  # a fork cannot change the architecture
    lab.handle(c.Compare({"k": 3}, from_scratch=True))  # nor may the data differ
    problems = of(events, e.Problem)
    assert len(problems) == 2 and "from scratch" in problems[0].message and "same batches" in problems[1].message
    assert not lab.comparing and lab.main.trainer is trainer and not of(events, e.CompareInfo)


def test_a_run_that_goes_nan_stops_and_the_other_goes_on():
    sine = TrainConfig(task="sine", hidden=8, optimizer="sgd", lr=1e30, clip="off")
    lab, events = make_lab(sine)
    lab.handle(c.Compare({"lr": 0.01}, from_scratch=True))
    lab.handle(c.Train())
    for _ in range(30):
        lab.tick()
    stopped = of(events, e.RunStopped)
    assert [s.run for s in stopped] == ["A"] and "run B goes on" in stopped[0].message
    assert lab.running and lab.runs["B"].trainer.step == 30 and lab.runs["A"].trainer.step == stopped[0].step
    assert [ev for ev in of(events, e.Problem) if "Run A" in ev.message]


def test_ending_compare_keeps_the_chosen_run_as_the_main_run_with_its_history():
    lab, events = make_lab(SMALL)
    lab.handle(c.Compare({"lr": 0.5}, from_scratch=True))
    lab.train_steps(3)
    b = lab.runs["B"].trainer
    events.clear()
    lab.handle(c.EndCompare(keep="B"))
    assert list(lab.runs) == ["A"] and lab.main.trainer is b and lab.main.id == "A"
    assert of(events, e.CompareInfo)[-1].runs == ("A",)
    assert of(events, e.ModelInfo)[-1].config["lr"] == 0.5
    events.clear()
    lab.handle(c.ShowHistory(0))
    shown = snapshots(events)[-1]
    assert isinstance(shown, Snapshot) and shown.run == "A" and shown.history is not None


def test_a_reset_during_compare_ends_it():
    lab, events = make_lab(SMALL)
    lab.handle(c.Compare({"lr": 0.5}, from_scratch=True))
    events.clear()
    lab.handle(c.Reset(SMALL))
    assert not lab.comparing and of(events, e.CompareInfo)[-1].runs == ("A",)


def test_a_refused_comparison_leaves_the_current_one_as_it_was():
    lab, events = make_lab(SMALL)
    lab.handle(c.Compare({"lr": 0.5}, from_scratch=True))
    b = lab.runs["B"].trainer
    lab.handle(c.Compare({"seq_len": 5}, from_scratch=True))
    assert lab.comparing and lab.runs["B"].trainer is b and of(events, e.Problem)


def test_step_update_tries_a_stopped_run_again():
    sine = TrainConfig(task="sine", hidden=8, optimizer="sgd", lr=1e30, clip="off")
    lab, events = make_lab(sine)
    lab.train_steps(30)
    stuck = lab.main.trainer.step
    lab.handle(c.SetLR(0.01))
    lab.handle(c.StepUpdate())
    assert lab.main.trainer.step == stuck + 1


def test_history_shown_after_compare_ends_carries_no_comparison_label():
    lab, events = make_lab(SMALL)
    lab.handle(c.Compare({"lr": 0.5}, from_scratch=True))
    lab.train_steps(2)
    lab.handle(c.EndCompare(keep="A"))
    lab.handle(c.ShowHistory(0))
    assert snapshots(events)[-1].run_label == ""


def test_the_run_kept_after_compare_goes_on_at_the_streams_position():
    sine = TrainConfig(task="sine", hidden=8, optimizer="sgd", lr=0.01, clip="off")
    lab, events = make_lab(sine)
    lab.handle(c.Compare({"lr": 1e30}, from_scratch=True))  # B goes NaN and stops; A draws on
    lab.train_steps(20)
    assert "B" in lab.stopped
    lab.handle(c.EndCompare(keep="B"))
    assert lab.main.trainer.batches_used == 20  # the batches A drew meanwhile count: the stream is there


def test_a_stopped_run_that_goes_on_again_keeps_step_numbers_in_lockstep_with_the_other():
    """Run A stopped at a NaN while B trained on: after a Roll back and Train, A's step k is the k-th
    batch again (the batch B's step k trained on), not its own count of steps."""
    sine = TrainConfig(task="sine", hidden=8, optimizer="sgd", lr=1e30, clip="off")
    lab, events = make_lab(sine)
    lab.handle(c.Compare({"lr": 0.01}, from_scratch=True))
    lab.handle(c.Train())
    for _ in range(10):
        lab.tick()
    a, b = lab.runs["A"].trainer, lab.runs["B"].trainer
    assert a.step < b.step  # A stopped
    lab.handle(c.Pause())
    lab.handle(c.SetLR(0.01, run="A"))
    lab.handle(c.RollBack(a.step, run="A"))
    lab.handle(c.StepUpdate())
    assert a.step == b.step and a.log.steps["x"][-1] == b.log.steps["x"][-1] == b.step
