"""Each setting is declared once; the CLI, the checks and the checkpoints are built from it."""

import numpy as np
import pytest

from rnnviz.engine.checkpoint import CheckpointError
from rnnviz.engine.config import ModelConfig
from rnnviz.training import TrainConfig, Trainer, load_trainer, save_trainer
from rnnviz.training.config import DATA_FIELDS, LIVE_FIELDS, SETTINGS
from rnnviz.training.log import Columns, TrainingLog


def test_every_field_is_declared_and_every_flag_is_an_option_with_its_help():
    import argparse

    from rnnviz.cli_train import add_train_parser

    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers(dest="command"))
    train = parser._subparsers._group_actions[0].choices["train"]
    options = {a.dest: a for a in train._actions}
    assert set(SETTINGS) == set(TrainConfig.__dataclass_fields__)
    for name, s in SETTINGS.items():
        assert s.label and s.help, name
        if s.flag:
            assert options[name].option_strings == [s.flag] and s.help in options[name].help
            assert tuple(options[name].choices or ()) == s.choices
    assert set(LIVE_FIELDS) == {"lr", "clip", "spike_pause"} and "seed" in DATA_FIELDS and "hidden" not in DATA_FIELDS


def test_the_cli_builds_the_config_from_the_declarations():
    from rnnviz.cli import build_parser
    from rnnviz.cli_train import config_from_args

    args = build_parser().parse_args(["train", "x.txt", "--cell", "gru", "--batch", "7", "--lr", "0.5", "--lower"])
    cfg = config_from_args(args)
    assert (cfg.cell, cfg.batch_size, cfg.lr, cfg.lower, cfg.corpus) == ("gru", 7, 0.5, True, "x.txt")
    assert cfg.hidden == TrainConfig().hidden  # not given: the default


@pytest.mark.parametrize("cls", [TrainConfig, ModelConfig])
def test_from_dict_refuses_unknown_keys_naming_them(cls):
    d = cls().to_dict()
    d["bogus_setting"] = 3
    with pytest.raises(ValueError, match="bogus_setting"):
        cls.from_dict(d)


@pytest.mark.parametrize(
    "field, value, words",
    [("hidden", "128", "whole number"), ("hidden", 0, r"in \[1"), ("lr", float("nan"), "finite"),
     ("cell", "tcn", "one of"), ("lower", 1, "true or false"), ("dropout", 0.99, r"in \[0"),
     ("batch_size", True, "whole number")],
)  # fmt: skip
def test_a_value_outside_its_declaration_is_refused_with_the_settings_label(field, value, words):
    d = TrainConfig().to_dict()
    d[field] = value
    with pytest.raises(ValueError, match=words) as err:
        TrainConfig.from_dict(d)
    assert SETTINGS[field].label.lower() in str(err.value)


def test_numbers_are_stored_as_the_settings_own_type():
    cfg = TrainConfig(hidden=np.int64(16), lr=1)
    assert type(cfg.hidden) is int and type(cfg.lr) is float and TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_the_training_log_survives_a_checkpoint(tmp_path):
    cfg = TrainConfig(task="sine", hidden=8, seq_len=12, batch_size=4)
    t = Trainer(cfg)
    for _ in range(5):
        t.train_step()
    t.evaluate(max_batches=1)
    save_trainer(t, tmp_path / "run.npz")
    back = load_trainer(tmp_path / "run.npz")
    for cols in ("steps", "evals"):
        a, b = getattr(t.log, cols), getattr(back.log, cols)
        for name in ("x", *a.names):
            np.testing.assert_array_equal(a[name], b[name])
    assert back.log.steps.n == 5 and back.log.evals.n == 1


def test_a_damaged_training_log_is_refused_as_damaged(tmp_path):
    from rnnviz.engine import checkpoint

    t = Trainer(TrainConfig(task="sine", hidden=8, seq_len=12, batch_size=4))
    t.train_step()
    save_trainer(t, tmp_path / "run.npz")
    arrays, meta = checkpoint.load(tmp_path / "run.npz")
    arrays["log.step.loss"] = np.zeros(3)  # one column longer than the others
    meta.pop("format"), meta.pop("version")
    checkpoint.save(tmp_path / "bad.npz", arrays, meta)
    with pytest.raises(CheckpointError, match="training history") as err:
        load_trainer(tmp_path / "bad.npz")
    assert err.value.kind == "corrupted"


def test_columns_stay_bounded_and_keep_the_newest_exactly():
    cols = Columns(("v",), max_points=3000)
    for i in range(10_000):
        cols.append(i, v=2 * i)
    assert cols.n <= 3000 and cols["x"][-1] == 9999 and np.all(np.diff(cols["x"]) > 0)
    np.testing.assert_array_equal(cols["v"], 2 * cols["x"])
    log = TrainingLog.from_arrays(TrainingLog().arrays())
    assert log.steps.n == 0
