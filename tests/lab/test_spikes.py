"""Spikes: a finite step far above the recent median pauses training (when asked) and can be undone."""

import numpy as np

from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.lab import Lab
from rnnviz.lab.spikes import WARMUP
from rnnviz.training import TrainConfig

from .test_lab import Clock, snapshots

SINE = TrainConfig(task="sine", hidden=8, cell="rnn", optimizer="sgd", lr=0.01, clip="off", spike_pause=True)


def lab_with(config):
    events = []
    lab = Lab(events.append, clock=Clock(1.0))
    lab.reset(config)
    return lab, events


def train_then_jump(lab, lr_jump=50.0, calm=12, after=6):
    """Calm steps, then a learning rate that throws the weights off: the loss of the next steps jumps."""
    lab.train_steps(calm)
    lab.handle(c.SetLR(lr_jump))
    lab.handle(c.Train())
    for _ in range(after):
        lab.tick()
        if not lab.running:
            break


def test_a_spike_pauses_training_names_it_and_marks_the_step():
    lab, events = lab_with(SINE)
    train_then_jump(lab)
    found = [ev for ev in events if isinstance(ev, e.SpikeFound)]
    assert len(found) == 1 and not lab.running and lab.state == e.PAUSED
    spike = found[0]
    assert spike.step > 12 and spike.value > 3 * spike.median and "Roll back" in spike.message
    assert any(isinstance(ev, e.Problem) and ev.kind == "spike" for ev in events)
    assert snapshots(events)[-1].step == spike.step and not snapshots(events)[-1].live  # the spike step, whole


def test_roll_back_restores_the_weights_from_before_the_spike_exactly():
    lab, events = lab_with(SINE)
    lab.train_steps(12)
    lab.handle(c.SetLR(50.0))
    t = lab.main.trainer
    kept = {}
    lab.handle(c.Train())
    while lab.running:
        kept[t.step + 1] = {k: v.copy() for k, v in t.params.items()}  # before the step about to be made
        lab.tick()
    spike = next(ev for ev in events if isinstance(ev, e.SpikeFound))
    lab.handle(c.RollBack(spike.step))
    for name, before in kept[spike.step - 1].items():  # the update that made the spiking weights is undone too
        np.testing.assert_array_equal(t.params[name], before)
    assert any(isinstance(ev, e.Notice) and "are back" in ev.message for ev in events)
    lab.handle(c.RollBack(1))  # long gone
    assert events[-1].kind == "spike" and "no longer kept" in events[-1].message


def test_without_spike_pause_the_spike_is_marked_and_the_run_trains_on():
    lab, events = lab_with(SINE.replace(spike_pause=False))
    train_then_jump(lab)
    found = [ev for ev in events if isinstance(ev, e.SpikeFound)]
    assert lab.running and len(found) == 1 and not found[0].paused  # marked on the curves, not stopped
    assert not [ev for ev in events if isinstance(ev, e.Problem)]  # no message bar that outlives the moment
    assert any(isinstance(ev, e.Notice) and "Training goes on" in ev.message for ev in events)
    lab.handle(c.SetSpikePause(True))
    assert lab.main.trainer.cfg.spike_pause


def test_a_run_thrown_off_by_its_first_update_is_caught_at_its_second_step():
    """The loss rule needs one earlier loss (a loss starts near its highest); the norm rule a warm-up."""
    lab, events = lab_with(SINE.replace(lr=100.0))  # the sine preset at 100: 0.5, then about 10^6
    lab.handle(c.Train())
    for _ in range(5):
        lab.tick()
    spike = next(ev for ev in events if isinstance(ev, e.SpikeFound))
    assert spike.step == 2 and spike.what == "loss" and not lab.running


def test_after_a_long_climb_to_nan_roll_back_restores_the_last_calm_weights_and_training_goes_on():
    """Issue 10.7: the weights of the step before a NaN are as diverged as the NaN's; the calm ones are older."""
    lab, events = lab_with(SINE.replace(lr=20.0, spike_pause=False))
    t = lab.main.trainer
    before = {}
    lab.handle(c.Train())
    for _ in range(3000):
        before[t.step + 1] = dict(t.params)  # updates replace the arrays: references are the weights
        lab.tick()
        if not lab.running:
            break
    problem = [ev for ev in events if isinstance(ev, e.Problem)][-1]
    assert problem.kind == "nonfinite" and problem.roll_back and "Roll back" in problem.message
    good = lab.main.good
    assert good.step is not None and good.step < t.step - 5  # far back: the loss climbed for a while
    assert max(float(np.abs(w).max()) for w in t.params.values()) > 1e3  # where the NaN left it
    n = len(snapshots(events))
    lab.handle(c.RollBack(t.step))
    for name, w in before[good.step].items():
        np.testing.assert_array_equal(t.params[name], w)
    assert len(snapshots(events)) == n + 1  # the panels show the weights put back
    lab.handle(c.SetLR(0.01))
    lab.train_steps(20)
    assert lab.main.trainer.log.steps["loss"][-1] < 10 * good.loss  # it goes on from the calm weights


def test_roll_back_shows_the_spiking_batch_again_with_the_weights_put_back():
    lab, events = lab_with(SINE)
    train_then_jump(lab)
    spike = next(ev for ev in events if isinstance(ev, e.SpikeFound))
    shown = snapshots(events)[-1]
    lab.handle(c.RollBack(spike.step))
    again = snapshots(events)[-1]
    assert again is not shown and again.step == spike.step and again.mechanism is not None
    np.testing.assert_array_equal(again.inputs, shown.inputs)  # the same batch ...
    assert np.nanmean(again.losses) < np.nanmean(shown.losses) / 3  # ... seen with the calm weights


def test_no_spike_is_called_before_the_warmup_nor_on_a_clipped_norm():
    lab, events = lab_with(SINE.replace(clip="norm:0.001"))  # every step clipped: bounded updates
    lab.train_steps(WARMUP + 20)
    assert not [ev for ev in events if isinstance(ev, e.SpikeFound)]


def test_continue_after_a_spike_does_not_pause_again_at_once():
    lab, events = lab_with(SINE)
    train_then_jump(lab)
    lab.handle(c.SetLR(0.01))
    lab.handle(c.Train())
    for _ in range(10):
        lab.tick()
    assert lab.running and len([ev for ev in events if isinstance(ev, e.SpikeFound)]) == 1


def test_a_jump_of_the_raw_norm_alone_is_no_spike_when_clipping_bounds_the_step():
    from rnnviz.lab.spikes import find_spike
    from rnnviz.training import Trainer

    t = Trainer(SINE.replace(clip="norm:0.01"))
    for _ in range(WARMUP + 3):
        t.train_step()
    report = t.train_step()
    assert report.clipped
    raw = type(report)(**{**report.__dict__, "grad_norm": report.grad_norm * 1e6})  # a huge raw norm ...
    t.log.steps.n -= 1
    t.log.add_step(raw.step, raw.loss, raw.grad_norm, raw.clipped_norm, raw.clipped)
    assert find_spike(t, raw) is None  # ... but the step taken was clipped
    unclipped = Trainer(SINE)
    for _ in range(WARMUP + 3):
        unclipped.train_step()
    r = unclipped.train_step()
    jump = type(r)(**{**r.__dict__, "grad_norm": r.grad_norm * 1e6})
    unclipped.log.steps.n -= 1
    unclipped.log.add_step(jump.step, jump.loss, jump.grad_norm, jump.clipped_norm, jump.clipped)
    assert find_spike(unclipped, jump).what == "gradient norm"
    early = Trainer(SINE)
    early.train_step()
    r = early.train_step()
    assert find_spike(early, type(r)(**{**r.__dict__, "grad_norm": r.grad_norm * 1e6})) is None  # warm-up


def test_a_small_loss_tripling_near_zero_is_no_spike_but_a_jump_back_towards_the_start_is():
    from rnnviz.lab.spikes import find_spike
    from rnnviz.training import Trainer

    def judged(losses):
        t = Trainer(SINE)
        r = t.train_step()
        t.log.steps.n = 0
        for k, loss in enumerate(losses, 1):
            t.log.add_step(k, loss, 1.0, 1.0, False)
        return find_spike(t, type(r)(**{**r.__dict__, "step": len(losses), "loss": losses[-1]}))

    learned = [1.4] + [0.04] * 30
    assert judged(learned + [0.16]) is None  # x4, but 0.12 nats of 1.36 learned: noise
    assert judged(learned + [0.9]).what == "loss"  # more than half of what it learned, undone
    assert judged([1.4] * 10 + [4.5]).what == "loss"  # nothing learned yet: x3 is enough


def test_a_refused_step_with_a_finite_loss_is_not_a_calm_one():
    """Review finding: a step refused for an overflowing gradient has a finite loss; its weights must
    not become the rollback point the NaN message offers."""
    from rnnviz.lab.spikes import GoodWeights
    from rnnviz.training import Trainer

    t = Trainer(SINE)
    good = GoodWeights()
    for _ in range(3):
        good.before_step(t)
        good.after_step(t.train_step(), 3.0)
    assert good.step == 3
    good.before_step(t)
    r = t.train_step()
    good.after_step(type(r)(**{**r.__dict__, "applied": False}), 3.0)  # refused, loss finite
    assert good.step == 3


def test_both_runs_of_a_comparison_failing_at_one_step_are_each_said_and_offered_a_roll_back():
    lab, events = lab_with(SINE.replace(lr=1e30, spike_pause=False))
    lab.handle(c.Compare({"lr": 1e31}, from_scratch=True))
    lab.handle(c.Train())
    for _ in range(5):
        lab.tick()
        if not lab.running:
            break
    offers = {ev.roll_back[0] for ev in events if isinstance(ev, e.Problem) and ev.roll_back}
    assert not lab.running and offers == {"A", "B"}


def test_without_spike_pause_nothing_is_kept_for_a_spike_and_roll_back_uses_the_calm_weights():
    lab, events = lab_with(SINE.replace(spike_pause=False))
    lab.train_steps(10)
    run = lab.main
    assert not run.weights._ring  # no models held for a Roll back that cannot be offered
    lab.handle(c.SetSpikePause(True))
    lab.train_steps(3)
    assert len(run.weights._ring) == 3
    lab.handle(c.SetSpikePause(False))
    assert not run.weights._ring
    lab.handle(c.RollBack(run.trainer.step + 1))  # the calm weights are those before the newest step
    assert any(isinstance(ev, e.Notice) and "are back" in ev.message for ev in events)


def test_roll_back_while_stepping_the_probe_goes_back_to_paused():
    lab, events = lab_with(SINE.replace(lr=20.0, spike_pause=False))
    lab.handle(c.Train())
    for _ in range(3000):
        lab.tick()
        if not lab.running:
            break
    lab.handle(c.ProbeForward())
    assert lab.state == e.STEPPING
    lab.handle(c.RollBack(lab.main.trainer.step))
    assert lab.state == e.PAUSED and snapshots(events)[-1].source == "train"
