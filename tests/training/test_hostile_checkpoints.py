"""Hostile checkpoints, made here (never shipped): each is refused with a clean error before anything is
used, or it loads as a run that trains. Never a hang, a traceback or a model that fails at its first step."""

import pytest

from rnnviz.engine import checkpoint
from rnnviz.engine.checkpoint import CheckpointError
from rnnviz.training import TrainConfig, Trainer, load_model, load_trainer, save_trainer

# The toy task builds in a millisecond, so a fuzz of hundreds of files stays fast; an LSTM with Adam
# has every kind of array (weights, two optimizer slots, carried h and c, the log).
TOY = TrainConfig(task="toy", cell="lstm", hidden=4, optimizer="adam")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """``(arrays, meta)`` of a toy run after 3 steps, as ``save_trainer`` wrote them."""
    t = Trainer(TOY)
    for _ in range(3):
        t.train_step()
    path = tmp_path_factory.mktemp("run") / "run.npz"
    save_trainer(t, path)
    arrays, meta = checkpoint.load(path)
    return arrays, {k: v for k, v in meta.items() if k not in ("format", "version")}


def write(tmp_path, arrays, meta, name="crafted.npz"):
    path = tmp_path / name
    checkpoint.save(path, arrays, meta)
    return path


def refusal(path, **kw) -> CheckpointError:
    with pytest.raises(CheckpointError) as info:
        load_trainer(path, **kw)
    return info.value


def assert_damaged(err: CheckpointError, *words: str) -> None:
    assert err.kind == "corrupted" and "damaged checkpoint" in str(err), str(err)
    for w in words:
        assert w in str(err), str(err)


def assert_trains(trainer: Trainer) -> None:
    """A load that succeeded gave a run that can take a step (applied, or refused in plain words)."""
    report = trainer.train_step()
    assert report.applied or report.problem


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("train_config", None, ["settings"]),
        ("model", None, ["model"]),
        ("step", "3", ["step", "whole number"]),
        ("step", -1, ["step"]),
        ("batches_used", 1e12, ["batches_used", "whole number"]),
        ("tokens_seen", True, ["tokens_seen"]),
        ("opt_step", 2**64, ["opt_step"]),  # an optimizer step must fit the counter (beta ** t overflows)
        ("rng", {"bit_generator": "PCG64", "state": {"state": 10**50, "inc": 1}}, ["random state"]),
        ("rng", {"bit_generator": "MT19937"}, ["random state"]),
        ("vocab", {"format": "rnnviz-vocab", "version": 1, "level": "word", "tokens": ["a", "b"]}, ["vocabulary"]),
        ("class_names", "abc", ["class"]),
        ("progress", "far", ["progress"]),
    ],
)
def test_wrong_typed_or_out_of_range_metadata_is_a_damaged_checkpoint(tmp_path, saved, field, value, words):
    arrays, meta = saved
    meta = {**meta, field: value}
    assert_damaged(refusal(write(tmp_path, arrays, meta)), *words)


def test_a_model_that_disagrees_with_its_own_settings_is_damaged(tmp_path, saved):
    arrays, meta = saved
    for change in ({"hidden_size": 5}, {"hidden_size": 4.0}, {"cell": "gru"}, {"vocab_size": 6}, {"dtype": 32}):
        crafted = {**meta, "model": {**meta["model"], **change}}
        assert_damaged(refusal(write(tmp_path, arrays, crafted)))
        with pytest.raises(CheckpointError):
            load_model(tmp_path / "crafted.npz")


def test_a_vocabulary_of_another_size_than_the_model_is_refused_by_load_model_too(tmp_path, saved):
    arrays, meta = saved
    vocab = {**meta["vocab"], "tokens": [*meta["vocab"]["tokens"], "crown"]}  # 6 tokens, a 5-token model
    path = write(tmp_path, arrays, {**meta, "vocab": vocab})
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    assert_damaged(info.value, "vocabulary")
