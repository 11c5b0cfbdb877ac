"""Two runs in lockstep: same batches, same initial weights where they can be, one setting apart."""

import numpy as np
import pytest

from rnnviz.training import TrainConfig, Trainer
from rnnviz.training.compare import Lockstep, comparison, fork, parse_change, toggled_clip

SMALL = TrainConfig(hidden=12, seq_len=10, batch_size=4, dtype="float64", cell="rnn", clip="off")


def test_runs_in_lockstep_see_the_same_batches_as_a_run_alone():
    a, b = comparison(SMALL, {"lr": 0.01})
    alone = Trainer(SMALL)
    seen_a, seen_b = [], []
    for t, seen in ((a, seen_a), (b, seen_b)):
        original = t.train_step

        def spy(*args, _orig=original, _seen=seen, **kw):
            _seen.append(kw["batch"].x.copy())
            return _orig(*args, **kw)

        t.train_step = spy
    pair = Lockstep(a, b)
    for _ in range(5):
        pair.step()
        alone.train_step()
    assert all(np.array_equal(x, y) for x, y in zip(seen_a, seen_b, strict=True)) and len(seen_a) == 5
    # A is exactly the run it would have been alone: same batches, same bits
    for name in alone.params:
        np.testing.assert_array_equal(a.params[name], alone.params[name])
    assert a.batches_used == b.batches_used == 5


def test_same_architecture_starts_from_the_same_weights_and_a_changed_init_only_changes_its_own():
    a, b = comparison(SMALL, {"clip": "norm:1"})
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    a, b = comparison(SMALL, {"recurrent_gain": 2.0})
    for k in a.params:
        if k.endswith("W_hh"):
            np.testing.assert_allclose(b.params[k], a.params[k] * 2.0)  # (orthogonal or uniform) x gain
        else:
            np.testing.assert_array_equal(a.params[k], b.params[k])
    a, b = comparison(SMALL, {"cell": "lstm"})
    assert a.params["layer0.W_hh"].shape != b.params["layer0.W_hh"].shape


def test_a_fork_continues_exactly_like_the_original_until_its_setting_matters():
    a = Trainer(SMALL.replace(clip="norm:1000"))
    for _ in range(4):
        a.train_step()
    b = fork(a, {"clip": "norm:1e6"})  # both thresholds far above the norm: clipping never acts
    ref = Trainer(SMALL.replace(clip="norm:1000"))
    for _ in range(4):
        ref.train_step()
    pair = Lockstep(a, b)
    for _ in range(3):
        pair.step()
        ref.train_step()
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], ref.params[name])
        np.testing.assert_array_equal(b.params[name], ref.params[name])
    assert b.step == a.step == 7 and b.log.steps.n == 7  # B's log starts with A's past
    assert a.cfg.clip == "norm:1000" and b.cfg.clip != a.cfg.clip


def test_a_fork_with_clipping_differs_where_clipping_acts_and_leaves_the_original_alone():
    a = Trainer(SMALL)
    a.train_step()
    before = {k: v.copy() for k, v in a.params.items()}
    b = fork(a, {"clip": "norm:0.001"})
    ra, rb = Lockstep(a, b).step()
    assert rb.clipped and not ra.clipped and ra.grad_norm == rb.grad_norm  # one batch, one gradient
    assert not np.array_equal(a.params["layer0.W_hh"], b.params["layer0.W_hh"])
    assert str(a.clip) == "off" and not np.array_equal(a.params["layer0.W_hh"], before["layer0.W_hh"])


def test_a_refused_step_stops_that_run_and_the_other_goes_on():
    sine = TrainConfig(task="sine", hidden=8, optimizer="sgd", lr=1e30, clip="off")  # as tests/cli's NaN run
    a, b = comparison(sine, {"lr": 0.01})
    pair = Lockstep(a, b)
    steps = [pair.step() for _ in range(30)]
    stopped_at = next(i for i, (ra, _) in enumerate(steps) if ra is not None and not ra.applied)
    assert pair.stopped == [True, False] and all(s[0] is None for s in steps[stopped_at + 1 :])
    assert all(rb.applied for _, rb in steps) and b.step == 30 and a.step == stopped_at + 1


@pytest.mark.parametrize(
    "changes, words",
    [
        ({}, "at least one setting"),
        ({"k": 5}, "same batches"),
        ({"seed": 3}, "same batches"),
        ({"nope": 1}, "no setting"),
        ({"lr": SMALL.lr}, "the same as A's"),
        ({"hidden": -1}, "hidden"),
    ],
)
def test_a_comparison_that_cannot_compare_is_refused_in_words(changes, words):
    with pytest.raises(ValueError, match=words):
        comparison(SMALL, changes)


def test_a_running_model_forks_only_with_live_settings():
    a = Trainer(SMALL)
    with pytest.raises(ValueError, match="from scratch"):
        fork(a, {"cell": "lstm"})


def test_changes_are_parsed_by_name_or_flag_with_the_settings_type():
    assert parse_change("clip=norm:1") == ("clip", "norm:1")
    assert parse_change("lr=0.01") == ("lr", 0.01)
    assert parse_change("hidden=64") == ("hidden", 64)
    assert parse_change("--recurrent-gain=2") == ("recurrent_gain", 2.0)
    for bad, words in (("clip", "name=value"), ("hidden=abc", "int"), ("colour=red", "no setting")):
        with pytest.raises(ValueError, match=words):
            parse_change(bad)
    assert toggled_clip("off", 1.0) == "norm:1" and toggled_clip("norm:5", 1.0) == "off"
