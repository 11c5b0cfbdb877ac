"""Hostile checkpoints, made here (never shipped): each is refused with a clean error before anything is
used, or it loads as a run that trains. Never a hang, a traceback or a model that fails at its first step."""

import copy

import numpy as np
import pytest

from rnnviz.corpus import CorpusError
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
        ("progress", 10**400, ["progress", "finite"]),  # (float() of it raised OverflowError)
        ("train_config", {**TOY.to_dict(), "lr": 10**400}, ["learning rate"]),
    ],
)
def test_wrong_typed_or_out_of_range_metadata_is_a_damaged_checkpoint(tmp_path, saved, field, value, words):
    arrays, meta = saved
    meta = {**meta, field: value}
    assert_damaged(refusal(write(tmp_path, arrays, meta)), *words)


def test_a_model_that_disagrees_with_its_own_settings_is_damaged(tmp_path, saved):
    arrays, meta = saved
    for change in ({"hidden_size": 5}, {"hidden_size": 4.0}, {"cell": "gru"}, {"vocab_size": 6}, {"dtype": 32},
                   {"recurrent_gain": 10**400}):  # fmt: skip
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


def test_a_huge_data_position_never_makes_a_load_replay_the_data(tmp_path, saved):
    arrays, meta = saved
    # consistent: the stream restarts at batch 10**12 at once (the toy's stream draws nothing)
    far = {**meta, "batches_used": 10**12, "data_rng": {**meta["data_rng"], "at": 10**12}}
    trainer = load_trainer(write(tmp_path, arrays, far))
    assert trainer.batches_used == 10**12
    assert_trains(trainer)
    assert trainer.batches_used == 10**12 + 1
    # a place in the data that does not fit the count: damaged
    assert_damaged(refusal(write(tmp_path, arrays, {**meta, "batches_used": 10**12})), "place in the data")
    # a file without the place (older rnnviz) is replayed from the seed, but never that far
    legacy = {k: v for k, v in meta.items() if k != "data_rng"}
    err = refusal(write(tmp_path, arrays, {**legacy, "batches_used": 10**12}))
    assert err.kind == "incompatible" and "older rnnviz" in str(err) and "1,000,000,000,000 batches" in str(err)


@pytest.mark.parametrize("task, steps", [("sine", 103), ("classify", 3)])
def test_resuming_lands_on_the_batch_an_uninterrupted_run_trains_next(tmp_path, task, steps):
    """Past an epoch's end too (sine: 100 batches an epoch), and for a file without its place in the data
    (written by an older rnnviz: replayed from the seed), bit for bit."""
    cfg = TrainConfig(task=task, hidden=4, seq_len=6, batch_size=4)
    straight = Trainer(cfg)
    for _ in range(steps + 2):
        straight.train_step()
    first = Trainer(cfg)
    for _ in range(steps):
        first.train_step()
    save_trainer(first, tmp_path / "run.npz")
    arrays, meta = checkpoint.load(tmp_path / "run.npz")
    legacy = write(tmp_path, arrays, {k: v for k, v in meta.items() if k not in ("format", "version", "data_rng")})
    for path in (tmp_path / "run.npz", legacy):
        resumed = load_trainer(path)
        assert resumed.batches_used == steps and resumed.progress == pytest.approx(first.progress)
        for _ in range(2):
            resumed.train_step()
        assert all(resumed.params[k].tobytes() == straight.params[k].tobytes() for k in straight.params)


@pytest.mark.parametrize(
    "key, change",
    [("param.layer0.W_hh", lambda a: a.astype(np.int64)), ("param.layer0.W_hh", lambda a: a.astype(np.complex64)),
     ("param.head.b_y", lambda a: a.astype(np.float64)), ("opt.m.layer0.W_hh", lambda a: a[:2]),
     ("state.h0", lambda a: a.astype(np.float16)), ("param.layer9.W_hh", lambda a: np.zeros((4, 16), np.float32)),
     ("state.c3", lambda a: np.zeros((1, 4), np.float32)), ("log.step.loss", lambda a: np.zeros((2, 2))),
     ("log.mech.rho_q", lambda a: np.zeros(3)), ("log.mech.growth", lambda a: np.zeros((2, 2)))],
)  # fmt: skip
def test_arrays_that_do_not_fit_the_model_are_a_damaged_checkpoint(tmp_path, saved, key, change):
    """int64 or complex weights used to load and fail at the first step ("Cannot cast array data")."""
    arrays, meta = saved
    source = arrays.get(key, arrays["param.layer0.W_hh"])
    path = write(tmp_path, {**arrays, key: change(source)}, meta)
    assert_damaged(refusal(path), key)
    if key.startswith("param."):
        with pytest.raises(CheckpointError) as info:
            load_model(path)
        assert_damaged(info.value, key)


def test_missing_weights_or_a_partial_carried_state_are_a_damaged_checkpoint(tmp_path, saved):
    arrays, meta = saved
    assert_damaged(
        refusal(write(tmp_path, {k: v for k, v in arrays.items() if k != "param.head.b_y"}, meta)), "head.b_y"
    )
    assert_damaged(refusal(write(tmp_path, {k: v for k, v in arrays.items() if k != "state.c0"}, meta)), "carried")


@pytest.mark.parametrize("key", ["param.layer0.W_xh", "opt.v.head.W_hy", "state.c0"])
@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_a_model_that_is_not_finite_is_refused_and_says_so(tmp_path, saved, key, bad):
    arrays, meta = saved
    broken = arrays[key].copy()
    broken.flat[1] = bad
    path = write(tmp_path, {**arrays, key: broken}, meta)
    err = refusal(path)
    assert err.kind == "not_finite" and key in str(err) and "NaN or infinite" in str(err)
    if key.startswith("param."):  # eval and generate read the weights only
        with pytest.raises(CheckpointError) as info:
            load_model(path)
        assert info.value.kind == "not_finite"


def test_an_array_that_does_not_fit_the_model_is_refused_before_it_is_read(tmp_path, saved):
    import tracemalloc

    arrays, meta = saved
    big = np.ones((2000, 2000), np.float32)  # 16 MB, declared (and held) as the optimizer state of a 4x16 W_hh
    path = write(tmp_path, {**arrays, "opt.m.layer0.W_hh": big}, meta)
    del big
    tracemalloc.start()
    try:
        assert_damaged(refusal(path), "opt.m.layer0.W_hh is (2000, 2000) float32")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak


# Values of every JSON type, and a few that are the right type but out of range; each field of the
# metadata (and of its settings, model, vocabulary and random state) gets some of them.
FUZZ_VALUES = [None, True, False, 0, -1, 1, 7, 2**63, 10**30, 10**400, 0.5, -1e300, 1e308, "", "2", "lstm",
               [], [0], [["x"]], {}, {"format": "rnnviz-vocab"}]  # fmt: skip
_DELETE = object()


def field_paths(meta: dict) -> list[tuple[str, ...]]:
    """Every key of the metadata, and every key of its dict values (one level down)."""
    paths = []
    for key, value in meta.items():
        paths.append((key,))
        if isinstance(value, dict):
            paths += [(key, inner) for inner in value]
    return paths


def set_path(meta: dict, path: tuple[str, ...], value) -> dict:
    meta = copy.deepcopy(meta)
    where = meta
    for key in path[:-1]:
        where = where[key]
    if value is _DELETE:
        del where[path[-1]]
    else:
        where[path[-1]] = value
    return meta


def test_a_fuzz_of_every_metadata_field_gives_a_clean_load_or_a_clean_refusal(tmp_path, saved):
    arrays, meta = saved
    rng = np.random.default_rng(10)
    outcomes = {"loaded": 0, "refused": 0}
    for path in field_paths({"format": "rnnviz-checkpoint", "version": 1, **meta}):
        for k in [*rng.choice(len(FUZZ_VALUES), 3, replace=False), None]:
            value = _DELETE if k is None else FUZZ_VALUES[k]
            crafted = set_path(meta, path, value) if path[0] in meta else meta
            file = write(tmp_path, arrays, crafted)
            if path[0] not in meta:  # format and version: written by checkpoint.save, crafted in the file
                file = rewrite_header(file, path[0], value)
            try:
                trainer = load_trainer(file)
            except CheckpointError as err:
                # (incompatible: a valid vocabulary, but not the one of the data the settings name)
                assert err.kind in ("corrupted", "newer_version", "not_checkpoint", "incompatible"), (path, value, err)
                if err.kind == "corrupted":
                    assert "damaged checkpoint" in str(err), (path, value, err)
                outcomes["refused"] += 1
            except CorpusError as err:  # a corpus setting that names no usable file: the data's own error
                assert path[:2] == ("train_config", "corpus") or path[:2] == ("train_config", "task"), (path, err)
                outcomes["refused"] += 1
            else:
                assert_trains(trainer)
                outcomes["loaded"] += 1
    assert outcomes["refused"] > 150 and outcomes["loaded"] > 10, outcomes  # both outcomes really happen


def rewrite_header(path, key, value):
    """The file at ``path`` with its own metadata's ``key`` (format or version) set to ``value``."""
    import json

    with np.load(path) as npz:
        data = {k: npz[k] for k in npz.files}
    meta = json.loads(data["meta.json"].tobytes())
    if value is _DELETE:
        del meta[key]
    else:
        meta[key] = value
    data["meta.json"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **data)
    return path


def test_a_run_that_is_not_finite_is_never_saved_and_the_previous_file_stays(tmp_path):
    t = Trainer(TOY)
    t.train_step()
    path = tmp_path / "run.npz"
    save_trainer(t, path)
    before = path.read_bytes()
    t.params = {**t.params, "head.b_y": np.full_like(t.params["head.b_y"], np.inf)}
    with pytest.raises(CheckpointError) as info:
        save_trainer(t, path)  # (it used to be saved without a word)
    assert info.value.kind == "not_finite" and "head.b_y" in str(info.value) and "run.npz is left" in str(info.value)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["run.npz"]
