"""The mechanism view in snapshots: the engine's numbers for the shown row, at a bounded rate while
training, always when paused or probing, and both runs in compare mode."""

import numpy as np

from rnnviz.engine import mechanism as mech
from rnnviz.lab import commands as c
from rnnviz.lab.lab import MECHANISM_INTERVAL, MECHANISM_SHARE
from rnnviz.training import TrainConfig

from .test_lab import make_lab, snapshots

SMALL = TrainConfig(hidden=12, seq_len=10, batch_size=4, dtype="float64", cell="lstm")


class Ticker:
    """The lab's clock, moved by hand: ``ticks(n)`` trains n steps 0.1 s apart (10 steps a second)."""

    def __init__(self, lab):
        self.lab, self.now = lab, 0.0
        lab.clock = lambda: self.now
        lab.handle(c.Train())

    def ticks(self, n: int) -> None:
        for _ in range(n):
            self.now += 0.1
            self.lab.tick()


def test_a_paused_snapshot_carries_the_engines_jacobian_norms_for_its_row():
    lab, events = make_lab(SMALL)
    lab.handle(c.SetRow(2))
    lab.train_steps(3)
    snap = snapshots(events)[-1]
    assert snap.row == 2 and snap.mechanism is not None
    params, result, _ = lab.main.trainer._last
    (expected,) = mech.state_jacobian_norms(params, result.fp, 2)
    (m,) = snap.mechanism
    np.testing.assert_allclose(m.dhT_dh, expected.dhT_dh, rtol=1e-9)
    np.testing.assert_allclose(m.dhT_dc, expected.dhT_dc, rtol=1e-9)  # LSTM: through the cell state too
    np.testing.assert_array_equal(m.lags, np.arange(10, 0, -1))
    assert m.growth == mech.growth_factor(expected.dhT_dh, expected.lags)
    sigma = max(np.linalg.norm(params["layer0.W_hh"][:, k * 12 : (k + 1) * 12], 2) for k in range(4))
    assert abs(m.sigma_max - sigma) < 1e-12
    assert m.regime == mech.classify_regime(m.growth, m.sigma_max, m.saturated).name and m.explanation


def test_while_training_one_view_a_second_and_the_probe_always_has_one():
    lab, events = make_lab(SMALL)
    Ticker(lab).ticks(40)  # 4 seconds
    live = [s for s in snapshots(events) if s.live]
    with_view = [s.step for s in live if s.mechanism is not None]
    assert len(live) == 40  # a snapshot every step (30 a second allowed) ...
    assert 4 / MECHANISM_INTERVAL - 1 <= len(with_view) <= 4 / MECHANISM_INTERVAL + 1  # ... a view once a second
    assert all(b - a >= MECHANISM_INTERVAL / 0.1 - 1e-9 for a, b in zip(with_view, with_view[1:], strict=False))
    lab.handle(c.ProbeForward())
    lab.handle(c.ProbeForward())
    probe = snapshots(events)[-1]
    assert probe.source == "probe" and probe.mechanism is not None and len(probe.mechanism[0].dhT_dh) == 2


def test_an_expensive_view_is_made_less_often_so_that_it_takes_a_bounded_share_of_the_time():
    lab, events = make_lab(SMALL)
    trainer = lab.main.trainer
    make_trace = trainer.last_trace
    clock = Ticker(lab)

    def slow_view(row, mechanism=False):  # the view costs 0.1 s of the lab's time, a step nothing
        if mechanism:
            clock.now += 0.1
        return make_trace(row, mechanism=mechanism)

    trainer.last_trace = slow_view
    clock.ticks(200)  # 20 s of steps at 10 a second, and the views' time on top
    with_view = [s.step for s in snapshots(events) if s.live and s.mechanism is not None]
    spent = 0.1 * len(with_view)
    assert spent <= MECHANISM_SHARE * clock.now + 0.1  # at most the share of the time (one view's slack)
    gap = 0.1 / MECHANISM_SHARE  # seconds between views: 10, i.e. 100 steps, not 10 (once a second)
    assert all(b - a >= gap / 0.1 - 1 for a, b in zip(with_view, with_view[1:], strict=False))
    assert len(with_view) >= 3  # still made while training
    lab.handle(c.Pause())
    assert snapshots(events)[-1].mechanism is not None  # paused: the step is shown whole, at any cost


def test_compare_mode_gives_both_runs_a_view():
    lab, events = make_lab(SMALL.replace(cell="rnn"))
    lab.handle(c.Compare({"cell": "gru"}, from_scratch=True))
    lab.train_steps(2)
    last = {s.run: s for s in snapshots(events)}
    assert last["A"].mechanism is not None and last["B"].mechanism is not None
    assert last["A"].mechanism[0].dhT_dc is None and last["B"].run_label == "cell=gru"


def test_pausing_on_a_live_snapshot_without_the_view_shows_the_step_with_it():
    lab, events = make_lab(SMALL)
    Ticker(lab).ticks(3)
    assert snapshots(events)[-1].mechanism is None  # the third step's came too soon after the first's
    lab.handle(c.Pause())
    final = snapshots(events)[-1]
    assert final.step == 3 and not final.live and final.mechanism is not None
    assert len(lab.main.history) == 3  # the step replaced in the history, not kept twice


def test_the_view_carries_the_spectrum_of_w_hh_as_engine_spectral_computes_it():
    from rnnviz.engine.spectral import spectral_stats

    lab, events = make_lab(SMALL)
    lab.train_steps(2)
    (m,) = snapshots(events)[-1].mechanism
    params = lab.main.trainer._last[0]
    stats = spectral_stats(params, lab.main.trainer.model_cfg)
    assert len(m.eigenvalues) == 4  # one block per LSTM gate
    for k, values in enumerate(m.eigenvalues):
        block = params["layer0.W_hh"][:, k * 12 : (k + 1) * 12]
        np.testing.assert_allclose(np.sort_complex(values), np.sort_complex(np.linalg.eigvals(block)), rtol=1e-9)
    assert abs(m.spectral_radius - max(b.spectral_radius for b in stats)) < 1e-9
    assert abs(m.sigma_max - max(b.sigma_max for b in stats)) < 1e-9


def test_every_view_made_while_training_reaches_the_front_end_as_the_log_keeps_it():
    from rnnviz.lab import events as e

    lab, events = make_lab(SMALL)
    Ticker(lab).ticks(35)
    lab.handle(c.Pause())
    points = [ev for ev in events if isinstance(ev, e.MechanismPoint)]
    log = lab.main.trainer.log.mechanism
    assert len(points) == log.n >= 4 and [p.step for p in points] == list(log["x"])
    for k, p in enumerate(points):
        assert p.values == {name: log[name][k] for name in log.names}
    with_view = [s.step for s in snapshots(events) if s.mechanism is not None]
    assert with_view == [p.step for p in points]  # one point per view, none without
