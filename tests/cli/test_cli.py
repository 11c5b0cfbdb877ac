"""The command line end to end, in subprocesses: train -> checkpoint -> generate -> eval; exact
resume; Ctrl-C saves; bad input gets one line and exit code 2; complete help."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from rnnviz.training import load_model

from .conftest import run_cli

SMALL = ["--hidden", "16", "--seq-len", "16", "--batch", "8", "--eval-every", "5", "--save-every", "5"]


def test_train_then_generate_then_eval(tmp_path, small_text):
    ckpt = tmp_path / "run.npz"
    r = run_cli("train", small_text, "--steps", "12", "--out", ckpt, *SMALL)
    assert r.returncode == 0, r.stderr
    assert "done: step 12" in r.stdout and "val" in r.stdout
    assert "step 12/12" in r.stderr and "tok/s" in r.stderr and "ETA" in r.stderr
    assert load_model(ckpt).meta["step"] == 12

    g = run_cli(
        "generate", ckpt, "--prime", "ROMEO:", "--length", "40", "--seed", "3", "--temperature", "0.8", "--top-k", "5"
    )
    assert g.returncode == 0, g.stderr
    assert g.stdout.startswith("ROMEO:") and len(g.stdout) >= len("ROMEO:") + 40
    again = run_cli(
        "generate", ckpt, "--prime", "ROMEO:", "--length", "40", "--seed", "3", "--temperature", "0.8", "--top-k", "5"
    )
    assert again.stdout == g.stdout  # same seed, same text
    greedy = run_cli("generate", ckpt, "--length", "20", "--temperature", "0")
    assert greedy.returncode == 0

    e = run_cli("eval", ckpt, small_text)
    assert e.returncode == 0, e.stderr
    assert "loss" in e.stdout and "perplexity" in e.stdout


def test_classification_eval_prints_accuracy_and_confusion(tmp_path):
    ckpt = tmp_path / "names.npz"
    r = run_cli("train", "--task", "classify", "--steps", "10", "--hidden", "16", "--out", ckpt, "--eval-every", "0")
    assert r.returncode == 0, r.stderr
    e = run_cli("eval", ckpt)
    assert e.returncode == 0, e.stderr
    assert "accuracy" in e.stdout and "true \\ predicted" in e.stdout and "Russ" in e.stdout
    # the confusion table's columns line up: header and the 18 rows end at the same column
    lines = e.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("true \\ predicted"))
    table = lines[start : start + 19]
    assert len({len(line) for line in table}) == 1, table


def test_resume_gives_the_same_result_as_an_uninterrupted_run(tmp_path, small_text):
    common = [small_text, *SMALL, "--cell", "gru", "--layers", "2", "--dropout", "0.2"]
    assert run_cli("train", *common, "--steps", "14", "--out", tmp_path / "straight.npz").returncode == 0
    assert run_cli("train", *common, "--steps", "6", "--out", tmp_path / "part.npz").returncode == 0
    r = run_cli("train", small_text, "--resume", tmp_path / "part.npz", "--steps", "14", "--eval-every", "5")
    assert r.returncode == 0, r.stderr
    a, b = load_model(tmp_path / "straight.npz"), load_model(tmp_path / "part.npz")
    assert b.meta["step"] == 14
    for name in a.params:
        assert a.params[name].tobytes() == b.params[name].tobytes(), name


def test_ctrl_c_saves_a_loadable_checkpoint(tmp_path, small_text):
    ckpt = tmp_path / "interrupted.npz"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rnnviz",
            "train",
            str(small_text),
            "--steps",
            "100000",
            "--out",
            str(ckpt),
            "--hidden",
            "16",
            "--save-every",
            "0",
            "--eval-every",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,  # not the repository: test the installed package
    )
    try:
        for line in proc.stderr:  # the header is printed once Ctrl-C is handled
            if "training to step" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and "--resume" in err
    assert "Traceback" not in err
    saved = load_model(ckpt)
    assert saved.meta["step"] >= 0 and all(np.isfinite(v).all() for v in saved.params.values())


def test_a_step_going_nan_stops_with_exit_1_and_keeps_the_last_good_weights(tmp_path):
    ckpt = tmp_path / "nan.npz"
    r = run_cli(
        "train",
        "--task",
        "sine",
        "--optimizer",
        "sgd",
        "--lr",
        "1e30",
        "--clip",
        "off",
        "--hidden",
        "8",
        "--steps",
        "50",
        "--out",
        ckpt,
    )
    assert r.returncode == 1
    assert "stopped: step" in r.stderr and "NaN or infinite" in r.stderr and "--lr" in r.stderr
    assert all(np.isfinite(v).all() for v in load_model(ckpt).params.values())


@pytest.mark.parametrize(
    "make, args, words",
    [
        (None, ["train", "{tmp}/missing.txt"], "no file"),
        (None, ["train", "{tmp}"], "folder"),
        ("empty", ["train", "{tmp}/empty.txt"], "empty"),
        ("binary", ["train", "{tmp}/picture.png"], "not plain text"),
        ("short", ["train", "{tmp}/short.txt", "--seq-len", "64"], "at least 65"),
        ("large", ["train", "{tmp}/large.txt", "--max-mb", "1"], "--max-mb N or --use-start"),
        (None, ["train", "--clip", "sometimes"], "clipping"),
        (None, ["train", "--hidden", "0"], "hidden"),
        (None, ["train", "--task", "classify", "{tmp}/missing_folder"], "Cannot find the folder"),
        ("notckpt", ["generate", "{tmp}/notes.npz"], "not an rnnviz checkpoint"),
        (None, ["generate", "{tmp}/none.npz"], "no checkpoint file"),
        ("notckpt", ["eval", "{tmp}/notes.npz"], "not an rnnviz checkpoint"),
        (None, ["train", "--resume", "{tmp}/none.npz"], "no checkpoint file"),
    ],
)
def test_bad_input_gets_one_line_and_exit_code_2(tmp_path, make, args, words):
    if make == "empty":
        (tmp_path / "empty.txt").write_bytes(b"")
    elif make == "binary":
        (tmp_path / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    elif make == "short":
        (tmp_path / "short.txt").write_text("too short", encoding="utf-8")
    elif make == "notckpt":
        (tmp_path / "notes.npz").write_text("just some notes", encoding="utf-8")
    elif make == "large":
        (tmp_path / "large.txt").write_text("a line of text\n" * 80_000, encoding="utf-8")  # 1.1 MB
    r = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("rnnviz ") and words in lines[0], lines[0]


def test_help_is_complete():
    top = run_cli("--help")
    assert top.returncode == 0
    for sub in ("train", "generate", "eval", "gradcheck"):
        assert sub in top.stdout
        r = run_cli(sub, "--help")
        assert r.returncode == 0 and "usage: rnnviz " + sub in r.stdout
    train = run_cli("train", "--help").stdout
    for flag in (
        "--task",
        "--level",
        "--cell",
        "--hidden",
        "--layers",
        "--seq-len",
        "--batch",
        "--optimizer",
        "--lr",
        "--clip",
        "--steps",
        "--epochs",
        "--seed",
        "--out",
        "--resume",
    ):
        assert flag in train
    generate = run_cli("generate", "--help").stdout
    for flag in ("--prime", "--length", "--temperature", "--top-k", "--seed"):
        assert flag in generate


def test_gradcheck_command():
    r = run_cli("gradcheck", "--cell", "gru", "--head", "lm", "--layers", "2")
    assert r.returncode == 0, r.stderr
    assert "worst relative error" in r.stdout and r.stdout.strip().splitlines()[-1].split(": ")[1].startswith("OK")


def test_bundled_corpus_is_the_default(tmp_path):
    r = run_cli("train", "--steps", "1", "--hidden", "8", "--out", tmp_path / "a.npz", "--eval-every", "0")
    assert r.returncode == 0, r.stderr
    assert "tinyshakespeare.txt" in r.stderr


def test_bare_rnnviz_and_a_file_open_the_app(monkeypatch):
    """`rnnviz` and `rnnviz FILE` start the GUI (here replaced, so no window opens)."""
    import rnnviz.gui.app as app
    from rnnviz.cli import main

    opened = []
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # a display to open on, whatever the machine
    monkeypatch.setattr(app, "run", lambda path=None: opened.append(path) or 0)
    assert main([]) == 0 and main(["poems.txt"]) == 0
    assert opened == [None, "poems.txt"]
    assert main(["a.txt", "b.txt"]) == 2  # one file at a time


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland displays are a Linux matter")
def test_the_app_without_a_display_says_so_instead_of_aborting(tmp_path):
    # Qt would abort (SIGABRT) blaming missing xcb libraries; the real problem is that there is no display.
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run(
        [sys.executable, "-m", "rnnviz"], capture_output=True, text=True, cwd=tmp_path, timeout=60, env=env
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0] and "rnnviz train" in lines[0]


def test_an_unwritable_checkpoint_path_is_refused_before_training(tmp_path):
    r = run_cli("train", "--task", "sine", "--hidden", "4", "--steps", "5", "--out", tmp_path / "nope" / "x.npz")
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "does not exist" in lines[0] and "Traceback" not in r.stderr
