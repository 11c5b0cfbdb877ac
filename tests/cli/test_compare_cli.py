"""``rnnviz compare``, ``rnnviz presets`` and ``rnnviz train --preset`` from a real process."""

import csv

from rnnviz.lab.presets import PRESET_LIST
from rnnviz.training.checkpointing import load_model

from .conftest import run_cli

TINY = ("--task", "sine", "--hidden", "6", "--cell", "rnn", "--clip", "off")


def test_compare_trains_both_runs_and_writes_both_to_the_csv(tmp_path):
    out = tmp_path / "runs.csv"
    r = run_cli("compare", *TINY, "--b", "cell=gru", "--steps", "12", "--eval-every", "5", "--csv", out)
    assert r.returncode == 0, r.stderr
    assert "A = cell=rnn; B = cell=gru" in r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["run", "setting"] and lines[1].startswith("A   cell=rnn") and "12" in lines[1]
    assert lines[2].startswith("B   cell=gru")
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["step"]) for row in rows] == list(range(1, 13))
    assert all(row["A_loss"] and row["B_loss"] and row["A_loss"] != row["B_loss"] for row in rows[1:])
    validated = [int(row["step"]) for row in rows if row["A_val_loss"]]
    assert validated == [5, 10, 12] and all(row["B_val_loss"] for row in rows if row["A_val_loss"])


def test_compare_with_a_lesson_preset_makes_the_lessons_comparison(tmp_path):
    r = run_cli("compare", "--preset", "vanishing", "--k", "3", "--steps", "3", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "cell=rnn" in r.stdout and "cell=lstm" in r.stdout


def test_compare_refuses_what_it_cannot_compare_with_exit_2():
    for args, words in (
        ((*TINY, "--steps", "2"), "say what run B changes"),
        ((*TINY, "--b", "k=3"), "same batches"),
        ((*TINY, "--b", "cell"), "name=value"),
        ((*TINY, "--b", "colour=red"), "no setting is called"),
        (("--preset", "names"), "not a comparison"),
        ((*TINY, "--b", "cell=rnn"), "the same as A's"),
    ):
        r = run_cli("compare", *args)
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)


def test_presets_lists_every_preset_and_train_accepts_its_key(tmp_path):
    r = run_cli("presets")
    assert r.returncode == 0
    keys = [line.split()[0] for line in r.stdout.splitlines()]
    assert keys == [p.key for p in PRESET_LIST]
    ckpt = tmp_path / "toy.npz"
    r = run_cli("train", "--preset", "toy", "--seed", "3", "--steps", "4", "--out", ckpt)
    assert r.returncode == 0, r.stderr
    meta = load_model(ckpt).meta
    assert meta["train_config"]["task"] == "toy" and meta["train_config"]["seed"] == 3
    assert meta["train_config"]["hidden"] == 5  # the preset's, where no option overrides it
    r = run_cli("train", "--preset", "toy", "--hidden", "7", "--steps", "1", "--out", ckpt)
    assert r.returncode == 0 and load_model(ckpt).meta["train_config"]["hidden"] == 7
    r = run_cli("train", "--preset", "nope")
    assert r.returncode == 2 and "presets: shakespeare" in r.stderr
