"""The trainer: same seed same bits, exact resume from a checkpoint, truncated BPTT, refused steps."""

import numpy as np
import pytest

from rnnviz.engine.checkpoint import CheckpointError
from rnnviz.training import TrainConfig, Trainer, iter_training, load_model, load_trainer, save_trainer

SMALL = dict(hidden=16, seq_len=12, batch_size=4)


def params_bytes(trainer):
    return {k: v.tobytes() for k, v in trainer.params.items()}


@pytest.mark.parametrize("task", ["lm", "classify", "sine", "longrange"])
def test_same_seed_same_bits_and_the_trace_does_not_change_training(task, alice_small):
    cfg = TrainConfig(task=task, cell="lstm", layers=2, dropout=0.2, **SMALL, k=5)
    given = alice_small if task == "lm" else None
    a, b = Trainer(cfg, given), Trainer(cfg, given)
    for _ in range(6):
        ra = a.train_step(trace=False)
        rb = b.train_step(trace=True)  # the instrumented run trains exactly the same
        assert ra.loss == rb.loss and rb.trace is not None
    assert params_bytes(a) == params_bytes(b)


def test_different_seeds_differ(alice_small):
    a = Trainer(TrainConfig(seed=1, **SMALL), alice_small)
    b = Trainer(TrainConfig(seed=2, **SMALL), alice_small)
    assert params_bytes(a) != params_bytes(b)


@pytest.mark.parametrize("task", ["lm", "classify", "sine"])
def test_resume_from_checkpoint_continues_bit_for_bit(task, tmp_path, alice_text):
    corpus = tmp_path / "alice.txt"
    corpus.write_text(alice_text[:30000], encoding="utf-8")
    cfg = TrainConfig(
        task=task,
        corpus=str(corpus) if task == "lm" else None,
        cell="gru",
        dropout=0.3,
        layers=2,
        optimizer="adam",
        **SMALL,
    )
    straight = Trainer(cfg)
    for _ in range(10):
        straight.train_step()

    first = Trainer(cfg)
    for _ in range(4):
        first.train_step()
    save_trainer(first, tmp_path / "run.npz")
    resumed = load_trainer(tmp_path / "run.npz")
    assert resumed.step == 4 and resumed.opt.step == 4
    for _ in range(6):
        resumed.train_step()
    assert params_bytes(resumed) == params_bytes(straight)
    assert resumed.tokens_seen == straight.tokens_seen


def test_resume_on_a_text_with_another_vocabulary_is_refused(tmp_path, alice_text):
    a = tmp_path / "a.txt"
    a.write_text(alice_text[:5000], encoding="utf-8")
    b = tmp_path / "b.txt"
    b.write_text("0123456789 " * 400, encoding="utf-8")
    trainer = Trainer(TrainConfig(corpus=str(a), **SMALL))
    save_trainer(trainer, tmp_path / "run.npz")
    with pytest.raises(CheckpointError) as info:
        load_trainer(tmp_path / "run.npz", corpus=str(b))
    assert info.value.kind == "incompatible" and "vocabulary" in str(info.value)


def test_load_model_needs_no_training_data(tmp_path, alice_small):
    trainer = Trainer(TrainConfig(**SMALL), alice_small)
    trainer.train_step()
    save_trainer(trainer, tmp_path / "m.npz")
    saved = load_model(tmp_path / "m.npz")
    assert saved.vocab == alice_small.vocab and saved.model_cfg == trainer.model_cfg
    assert all(np.array_equal(saved.params[k], trainer.params[k]) for k in trainer.params)


def test_hidden_state_carries_between_contiguous_chunks(alice_small):
    trainer = Trainer(TrainConfig(cell="rnn", **SMALL), alice_small)
    trainer.train_step(trace=True)
    assert trainer.state is not None
    carried = trainer.state[0][0].copy()
    report = trainer.train_step(trace=True)
    np.testing.assert_array_equal(report.trace.layers[0].hs[0], carried)  # h_0 of chunk 2 = h_T of chunk 1


def test_a_refused_step_is_reported_and_training_can_go_on(alice_small, monkeypatch):
    from rnnviz.engine import step as step_module

    trainer = Trainer(TrainConfig(cell="lstm", **SMALL), alice_small)
    real_backward = step_module.backward
    calls = []

    def backward_going_nan_on_step_3(*args, **kwargs):
        bw = real_backward(*args, **kwargs)
        calls.append(1)
        if len(calls) == 3:
            bw.grads["layer0.W_hh"][0, 0] = np.nan
        return bw

    monkeypatch.setattr(step_module, "backward", backward_going_nan_on_step_3)
    reports = [r for _, r in zip(range(2), iter_training(trainer), strict=False)]
    assert all(r.applied for r in reports) and trainer.state is not None
    before = params_bytes(trainer)
    bad = trainer.train_step(trace=True, gradients=False)
    assert not bad.applied and bad.step == 3
    assert bad.trace.layers[0].dlast_norm is not None  # a refused step's gradient views always come
    assert bad.problem == "step 3: the gradient of layer0.W_hh became NaN or infinite; the update was skipped."
    assert params_bytes(trainer) == before and trainer.opt.step == 2
    assert trainer.state is None  # nothing from a broken step is carried
    good = trainer.train_step()
    assert good.applied and trainer.opt.step == 3


def test_changing_clipping_between_steps_takes_effect_next_step(alice_small):
    from rnnviz.engine.clipping import ClipConfig

    trainer = Trainer(TrainConfig(cell="rnn", recurrent_gain=3.0, clip="off", **SMALL), alice_small)
    r1 = trainer.train_step()
    assert r1.clip.config.mode == "off" and r1.clip.norm_after == r1.clip.norm_before
    trainer.clip = ClipConfig("norm", 1e-3)
    r2 = trainer.train_step()
    assert r2.clip.norm_before > 1e-3 and r2.clip.norm_after <= 1e-3


@pytest.mark.parametrize("damage", ["no step", "no rng", "bad optimizer state", "bad carried state"])
def test_a_damaged_run_checkpoint_is_reported_as_corrupted(tmp_path, alice_small, damage):
    from rnnviz.engine import checkpoint

    trainer = Trainer(TrainConfig(cell="lstm", optimizer="adam", **SMALL), alice_small)
    trainer.train_step()
    save_trainer(trainer, tmp_path / "run.npz")
    arrays, meta = checkpoint.load(tmp_path / "run.npz")
    meta = {k: v for k, v in meta.items() if k not in ("format", "version")}
    if damage == "no step":
        del meta["step"]
    elif damage == "no rng":
        meta["rng"] = "lost"
    elif damage == "bad optimizer state":
        arrays["opt.m.layer0.W_hh"] = np.zeros(3)
    else:
        arrays["state.h0"] = np.zeros((4, 3))
    checkpoint.save(tmp_path / "damaged.npz", arrays, meta)
    with pytest.raises(CheckpointError) as info:
        load_trainer(tmp_path / "damaged.npz", task=alice_small)
    assert info.value.kind == "corrupted" and "damaged" in str(info.value)


@pytest.mark.parametrize("seed", [0, 5])
def test_the_first_sequence_is_the_one_the_first_step_trains_on(seed):
    """The walkthrough before any step shows the sequence the run's data order starts with (its seed's
    stream), not one from a fixed seed: after one step, the newest batch's first row is that one."""
    t = Trainer(TrainConfig(task="sine", hidden=8, batch_size=4, seq_len=8, seed=seed))
    x, y = t.first_sequence()
    t.train_step()
    x1, y1, _, step = t.newest_sequence(0)
    assert step == 1
    np.testing.assert_array_equal(x, x1)
    np.testing.assert_array_equal(y, y1)
