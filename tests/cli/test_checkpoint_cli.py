"""Hostile and broken checkpoints at the command line: one line, the right exit code, never a hang or a
traceback (the files are made here)."""

import numpy as np
import pytest

from rnnviz.cli import main
from rnnviz.engine import checkpoint
from rnnviz.training import TrainConfig, Trainer, save_trainer

from .conftest import run_cli

DELETE = object()


def saved_run(tmp_path, task="toy", **changes):
    """A small run's checkpoint, its metadata changed by ``changes`` (a value DELETE deletes the key)."""
    t = Trainer(TrainConfig(task=task, hidden=4, seq_len=8, batch_size=4))
    t.train_step()
    path = tmp_path / "run.npz"
    save_trainer(t, path)
    arrays, meta = checkpoint.load(path)
    meta = {k: v for k, v in meta.items() if k not in ("format", "version")}
    for key, value in changes.items():
        if value is DELETE:
            del meta[key]
        else:
            meta[key] = value
    checkpoint.save(path, arrays, meta)
    return path


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_crafted_data_position_ends_a_resume_at_once_with_exit_2(tmp_path):
    # batches_used 10**12 used to replay the data order batch by batch: `rnnviz train --resume` never returned
    path = saved_run(tmp_path, batches_used=10**12, data_rng=DELETE)  # as an older rnnviz wrote (no data_rng)
    r = run_cli("train", "--resume", path, "--steps", "2", timeout=60)
    assert r.returncode == 2 and "older rnnviz" in one_line(r.stderr)
    path = saved_run(tmp_path, batches_used=10**12)  # data_rng says batch 1
    r = run_cli("train", "--resume", path, "--steps", "2", timeout=60)
    assert r.returncode == 2 and "damaged checkpoint" in one_line(r.stderr)


@pytest.mark.parametrize(
    "field, value, commands",
    [("train_config", None, ("train", "eval", "generate")), ("model", [], ("train", "eval", "generate")),
     ("step", 1e3, ("train",))],
)  # fmt: skip
def test_wrong_typed_metadata_is_a_damaged_checkpoint_with_exit_2(tmp_path, capsys, field, value, commands):
    path = str(saved_run(tmp_path, **{field: value}))
    for command in commands:
        assert main(["train", "--resume", path, "--steps", "1"] if command == "train" else [command, path]) == 2
        line = one_line(capsys.readouterr().err)
        assert line.startswith(f"rnnviz {command}: error:") and "damaged checkpoint" in line, line


def with_weights(tmp_path, change, task="toy"):
    """A small model's checkpoint with ``change(params)`` applied to its weights (in place)."""
    path = saved_run(tmp_path, task)
    arrays, meta = checkpoint.load(path)
    params = {k[len("param.") :]: v.copy() for k, v in arrays.items() if k.startswith("param.")}
    change(params)
    arrays |= {"param." + k: v for k, v in params.items()}
    checkpoint.save(path, arrays, {k: v for k, v in meta.items() if k not in ("format", "version")})
    return str(path)


def test_eval_and_generate_on_a_model_that_is_not_finite_say_so_and_exit_1(tmp_path, capsys):
    path = with_weights(tmp_path, lambda p: p["head.W_hy"].__setitem__((0, 0), np.nan))
    for command in (["eval", path], ["generate", path, "--length", "3"], ["train", "--resume", path]):
        assert main(command) == 1  # (eval used to print "loss nan" and exit 0)
        line = one_line(capsys.readouterr().err)
        assert "not finite" in line and "head.W_hy" in line, line


def test_eval_says_so_when_the_loss_of_finite_weights_is_not_finite_and_exits_1(tmp_path, capsys):
    # float32 weights near its largest number: the predictions overflow to infinity, and so does the loss
    path = with_weights(tmp_path, lambda p: p["head.W_hy"].fill(3e38), task="sine")
    with np.errstate(over="ignore", invalid="ignore"):
        assert main(["eval", path]) == 1
    out, err = capsys.readouterr()
    assert "loss" not in out and "not finite" in one_line(err)


def test_generate_refuses_a_temperature_that_is_not_a_number_and_takes_a_tiny_one_as_greedy(tmp_path, capsys):
    path = str(saved_run(tmp_path))
    assert main(["generate", path, "--temperature", "nan", "--length", "5"]) == 2
    assert "--temperature" in one_line(capsys.readouterr().err)
    assert main(["generate", path, "--temperature", "0", "--length", "8"]) == 0
    greedy = capsys.readouterr().out
    assert main(["generate", path, "--temperature", "5e-324", "--length", "8", "--seed", "4"]) == 0
    assert capsys.readouterr().out == greedy
