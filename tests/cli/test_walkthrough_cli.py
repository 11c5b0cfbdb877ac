"""``rnnviz walkthrough`` headless: the tutorial's tables as text, every number as CSV, on the toy
preset and on a saved checkpoint; a model too large is refused with exit code 2 and a reason."""

import csv

import numpy as np

from rnnviz.engine.model import forward
from rnnviz.lab.presets import apply_preset
from rnnviz.training import TrainConfig, Trainer, load_model, save_trainer

from .conftest import run_cli


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_the_toy_by_default_prints_every_section_and_writes_the_csv(tmp_path):
    out = tmp_path / "toy.csv"
    r = run_cli("walkthrough", "--csv", out)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "preset toy" in text and "Sequence: 'the king sits on' -> 'king sits on throne' (4 steps)" in text
    for words in ("FORWARD", "t = 0   read 'the' (id 0), target 'king' (id 1)", "dh_raw = (1 - h_t^2) * dh",
                  "BACKWARD (t = 3 down to 0)", "GRADIENTS", "dW_hy = sum_t h_t^T dy_t", "CLIPPING (off)",
                  "UPDATE (SGD: W <- W - 0.1 * dW)", "LOSS ON THIS SEQUENCE"):  # fmt: skip
        assert words in text
    rows = read_csv(out)
    assert rows[0] == ["t", "quantity", "index", "value"] and f"wrote {len(rows) - 1:,} numbers" in r.stderr
    # the numbers are the preset's new model's, before any update
    trainer = Trainer(apply_preset("toy", TrainConfig()))
    fp = forward(trainer.params, trainer.model_cfg, np.array([[0, 1, 2, 3]]))
    h = {(int(t), int(i)): float(v) for t, q, i, v in rows[1:] if q == "h" and t != "-1"}
    assert h == {(t, i): float(fp.layers[0].hs[t + 1, 0, i]) for t in range(4) for i in range(5)}
    loss_mean = float(next(v for t, q, i, v in rows if q == "loss_mean"))
    assert f"LOSS = mean of loss_t = {loss_mean:.4f}" in text


def test_a_saved_checkpoint_is_walked_through_with_its_own_weights(tmp_path):
    trainer = Trainer(apply_preset("toy", TrainConfig()))
    for _ in range(30):
        trainer.train_step()
    ckpt = tmp_path / "toy.npz"
    save_trainer(trainer, ckpt)
    out = tmp_path / "w.csv"
    r = run_cli("walkthrough", ckpt, "--steps", "2", "--csv", out)
    assert r.returncode == 0, r.stderr
    assert "(2 steps)" in r.stdout and "t = 2" not in r.stdout
    saved = load_model(ckpt)
    fp = forward(saved.params, saved.model_cfg, np.array([[0, 1]]))
    rows = read_csv(out)
    probs = {(int(t), int(i)): float(v) for t, q, i, v in rows[1:] if q == "probs"}
    assert probs == {(t, i): float(fp.probs[t, 0, i]) for t in range(2) for i in range(5)}
    assert {t for t, q, i, v in rows[1:] if q == "x"} == {"0", "1"}
    # the file itself is not changed (the update is shown, not applied)
    np.testing.assert_array_equal(load_model(ckpt).params["head.W_hy"], saved.params["head.W_hy"])


def test_a_model_too_large_is_refused_with_exit_code_2(tmp_path):
    trainer = Trainer(TrainConfig(task="toy", cell="rnn", hidden=32))
    ckpt = tmp_path / "big.npz"
    save_trainer(trainer, ckpt)
    r = run_cli("walkthrough", ckpt)
    assert r.returncode == 2 and r.stdout == ""
    assert "at most 16 hidden units; this one has 32" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("walkthrough", "--preset", "names")
    assert r.returncode == 2 and "language model" in r.stderr
    r = run_cli("walkthrough", ckpt, "--preset", "toy")
    assert r.returncode == 2 and "not both" in r.stderr
    r = run_cli("walkthrough", "--steps", "0")
    assert r.returncode == 2 and "--steps" in r.stderr


def test_a_csv_path_that_cannot_be_written_fails_before_any_table_is_printed(tmp_path):
    """The message must not scroll away under pages of numbers: nothing is printed, the exit code says
    the input was bad, and the message names the file."""
    bad = tmp_path / "no such folder" / "w.csv"
    r = run_cli("walkthrough", "--csv", bad)
    assert r.returncode != 0 and r.stdout == ""
    assert "w.csv" in r.stderr and "Traceback" not in r.stderr
    assert not bad.exists()
