"""Issue 11, sine and echo: the free run is the engine's closed loop, the echo's probe its delayed inputs."""

import numpy as np
import pytest

from rnnviz.engine.infer import free_run
from rnnviz.engine.model import forward
from rnnviz.lab import Lab
from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.freerun import FreeRunSeries, free_run_series
from rnnviz.lab.probe import ECHO_PROBE_STEPS, sine_wave
from rnnviz.lab.snapshot import Snapshot
from rnnviz.training import TrainConfig, Trainer

SINE = TrainConfig(task="sine", cell="gru", hidden=8, seq_len=20, batch_size=4, dtype="float64")
ECHO = TrainConfig(task="echo", delay=3, cell="rnn", hidden=8, seq_len=20, batch_size=4, dtype="float64")


def trained(cfg, steps=5) -> Trainer:
    t = Trainer(cfg)
    for _ in range(steps):
        t.train_step()
    return t


def test_the_free_run_feeds_back_exactly_its_own_outputs():
    t = trained(SINE)
    prime = sine_wave(10)[:, None]  # (P, 1)
    pred = free_run(t.params, t.model_cfg, prime, 6)  # (6, 1)
    # the first value is the model's prediction after the prime, read with the true values
    after_prime = forward(t.params, t.model_cfg, prime[None]).out[-1, 0]
    assert np.array_equal(pred[0], after_prime)
    # reading the prime then its own predictions in one forward pass (teacher forcing with its own outputs)
    # predicts each next one: the loop fed back exactly what it output
    fed = np.concatenate([prime, pred[:-1]])[None]  # (1, P + 5, 1)
    again = forward(t.params, t.model_cfg, fed).out[9:, 0]  # (6, 1) outputs after steps P-1 .. P+4
    np.testing.assert_allclose(again, pred, rtol=1e-12, atol=1e-12)


def test_the_free_run_refuses_what_it_cannot_feed_back():
    lm = Trainer(TrainConfig(task="toy", hidden=4))
    with pytest.raises(ValueError, match="as many outputs as inputs"):
        free_run(lm.params, lm.model_cfg, np.zeros((3, 1)), 4)
    t = Trainer(SINE)
    with pytest.raises(ValueError, match="at least one value"):
        free_run(t.params, t.model_cfg, np.zeros((0, 1)), 4)
    with pytest.raises(ValueError, match="sine task only"):
        free_run_series("A", Trainer(ECHO))
    with pytest.raises(ValueError, match="at least 1"):
        free_run_series("A", t, prime=0)


def test_the_lab_answers_free_run_with_the_series_or_a_problem():
    events = []
    lab = Lab(events.append)
    lab.reset(SINE)
    lab.step_update()
    lab.handle(c.FreeRun())
    series = [ev for ev in events if isinstance(ev, FreeRunSeries)][-1]
    t = lab.main.trainer
    assert series.step == t.step and series.prime == 20 and len(series.true) == 20 + len(series.predicted)
    np.testing.assert_array_equal(series.true, sine_wave(len(series.true)))
    np.testing.assert_array_equal(series.predicted, free_run(t.params, t.model_cfg, series.true[:20, None], 80)[:, 0])
    assert series.mse == pytest.approx(np.mean((series.predicted - series.true[20:]) ** 2))
    lab.reset(ECHO)
    lab.handle(c.FreeRun())
    assert isinstance(events[-1], e.Problem) and "sine task only" in events[-1].message


def test_the_echo_probe_targets_are_its_inputs_from_d_steps_ago_every_step_known():
    events = []
    lab = Lab(events.append)
    lab.reset(ECHO)
    for _ in range(ECHO_PROBE_STEPS):
        lab.probe_forward()
    snap = [ev for ev in events if isinstance(ev, Snapshot)][-1]
    x = snap.inputs[:, 0]  # (N,)
    assert snap.length == ECHO_PROBE_STEPS and np.abs(x).max() <= 1
    np.testing.assert_array_equal(snap.target_values[:, 0], np.concatenate([np.zeros(3), x[:-3]]))
    assert np.isfinite(snap.losses).all() and snap.has_gradients  # the last step has its target too
    np.testing.assert_allclose(snap.losses, (snap.outputs[:, 0] - snap.target_values[:, 0]) ** 2)


def test_the_next_word_preset_names_alice_and_copes_without_bundled_files(monkeypatch):
    from rnnviz.corpus import CorpusError
    from rnnviz.lab import presets

    assert presets.BY_KEY["next-word"].settings["corpus"].endswith("alice.txt")

    def missing(name):
        raise CorpusError("missing", "not installed as files")

    monkeypatch.setattr(presets, "bundled_corpus", missing)
    assert presets._bundled("alice.txt") is None  # the app still starts; loading then says why
