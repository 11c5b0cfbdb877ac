"""The mechanism views over training: kept in the run's log as the trace made them, saved with it."""

import numpy as np

from rnnviz.engine.cells import get_cell
from rnnviz.training import TrainConfig, Trainer, load_trainer, save_trainer
from rnnviz.training.log import mechanism_columns, mechanism_row

LSTM = TrainConfig(task="sine", cell="lstm", hidden=6, seq_len=8, batch_size=3, dtype="float64")


def test_every_mechanism_view_of_a_training_step_is_logged_as_the_trace_made_it():
    t = Trainer(LSTM)
    assert t.log.mechanism.names == mechanism_columns(get_cell("lstm").GATES)
    assert "rho_f" in t.log.mechanism.names and "sigma_o" in t.log.mechanism.names
    t.train_step()
    t.last_trace(0)  # no view: nothing logged
    assert t.log.mechanism.n == 0
    view = t.last_trace(0, mechanism=True).mechanism[0]
    t.train_step()
    t.train_step()
    later = t.last_trace(1, mechanism=True).mechanism[0]
    cols = t.log.mechanism
    assert list(cols["x"]) == [1, 3]
    for k, m in ((0, view), (1, later)):
        row = {n: cols[n][k] for n in cols.names}
        assert row == mechanism_row(m, get_cell("lstm").GATES)
        assert row["growth"] == m.growth and max(row[f"sigma_{g}"] for g in "ifgo") == m.sigma_max
        assert max(row[f"rho_{g}"] for g in "ifgo") == m.spectral_radius


def test_another_view_of_the_newest_step_replaces_its_row_and_an_older_one_is_not_kept():
    t = Trainer(LSTM)
    t.train_step()
    t.last_trace(0, mechanism=True)
    again = t.last_trace(2, mechanism=True).mechanism[0]  # the same step, another row (a pause, a row switch)
    cols = t.log.mechanism
    assert list(cols["x"]) == [1] and cols["growth"][0] == again.growth
    cols.put(0, growth=5.0)  # a step before the newest: the series runs forward
    assert list(cols["x"]) == [1] and cols["growth"][0] == again.growth


def test_the_views_over_training_survive_a_checkpoint(tmp_path):
    t = Trainer(LSTM)
    for _ in range(3):
        t.train_step()
        t.last_trace(0, mechanism=True)
    save_trainer(t, tmp_path / "run.npz")
    back = load_trainer(tmp_path / "run.npz")
    for name in ("x", *t.log.mechanism.names):
        np.testing.assert_array_equal(back.log.mechanism[name], t.log.mechanism[name])
    assert back.log.mechanism.n == 3
