"""The echo task and the issue 11 presets on the command line, headless."""

from rnnviz.training import load_model

from .conftest import run_cli


def test_train_the_echo_task_with_a_delay(tmp_path):
    ckpt = tmp_path / "echo.npz"
    r = run_cli("train", "--task", "echo", "--delay", "3", "--steps", "20", "--hidden", "8", "--out", ckpt)
    assert r.returncode == 0, r.stderr
    said = r.stdout + r.stderr  # the progress and the notes go to stderr, the result to stdout
    assert "Echo: the input from 3 steps ago" in said and "done: step 20" in r.stdout
    assert "Always answering 0 scores a loss of" in said  # the baseline the loss is read against
    meta = load_model(ckpt).meta
    assert meta["train_config"]["task"] == "echo" and meta["train_config"]["delay"] == 3


def test_the_echo_and_next_word_presets_train_headless(tmp_path):
    r = run_cli("train", "--preset", "echo", "--steps", "5", "--out", tmp_path / "e.npz")
    assert r.returncode == 0, r.stderr
    assert "Echo: the input from 10 steps ago" in r.stderr
    r = run_cli("train", "--preset", "next-word", "--steps", "2", "--out", tmp_path / "w.npz")
    assert r.returncode == 0, r.stderr
    assert "alice.txt" in r.stderr and "<unk>" in r.stderr


def test_a_delay_as_long_as_the_sequence_is_refused_in_one_line(tmp_path):
    r = run_cli("train", "--task", "echo", "--delay", "64", "--steps", "5", "--out", tmp_path / "x.npz")
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "shorter than the sequence (64 steps)" in lines[0] and "Traceback" not in r.stderr
