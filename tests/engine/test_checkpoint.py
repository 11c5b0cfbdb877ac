"""Checkpoints: bit-exact round trip and resume; one clear error per kind of bad file; atomic saves."""

import json
import os
import stat
import zipfile

import numpy as np
import pytest

from rnnviz.engine import checkpoint
from rnnviz.engine.checkpoint import CheckpointError
from rnnviz.engine.config import ModelConfig, init_params, param_shapes
from rnnviz.engine.optim import OptimConfig, Optimizer
from rnnviz.engine.step import train_step

CFG = ModelConfig(cell="lstm", vocab_size=11, hidden_size=8, num_layers=2, dropout=0.2, dtype="float32")
OPT = OptimConfig(kind="adam", lr=0.01)


def batches(rng, n):
    return [(rng.integers(0, 11, (3, 6)), rng.integers(0, 11, (3, 6))) for _ in range(n)]


def save_training(path, params, opt, rng):
    arrays = {"param." + k: v for k, v in params.items()} | {"opt." + k: v for k, v in opt.state.items()}
    meta = {"model": CFG.to_dict(), "optimizer": OPT.to_dict(), "step": opt.step, "rng": rng.bit_generator.state}
    checkpoint.save(path, arrays, meta)


def load_training(path):
    arrays, meta = checkpoint.load(path)
    cfg = ModelConfig.from_dict(meta["model"])
    params = {k[6:]: v for k, v in arrays.items() if k.startswith("param.")}
    checkpoint.check_compatible(params, param_shapes(cfg))
    opt = Optimizer(
        OptimConfig(**meta["optimizer"]), meta["step"], {k[4:]: v for k, v in arrays.items() if k.startswith("opt.")}
    )
    rng = np.random.default_rng()
    rng.bit_generator.state = meta["rng"]
    return cfg, params, opt, rng


def run(params, opt, rng, data):
    for x, y in data:
        train_step(params, CFG, opt, x, y, dropout_rng=rng)


def test_round_trip_is_bit_exact_and_resume_continues_identically(tmp_path):
    data = batches(np.random.default_rng(5), 10)
    params, opt, rng = init_params(CFG, np.random.default_rng(0)), Optimizer(OPT), np.random.default_rng(1)
    run(params, opt, rng, data[:5])
    save_training(tmp_path / "a.npz", params, opt, rng)

    cfg2, params2, opt2, rng2 = load_training(tmp_path / "a.npz")
    assert cfg2 == CFG and opt2.step == 5
    for k in params:
        assert params2[k].dtype == params[k].dtype and np.array_equal(params2[k], params[k])

    run(params, opt, rng, data[5:])  # uninterrupted
    run(params2, opt2, rng2, data[5:])  # resumed from the file
    for k in params:
        assert params2[k].tobytes() == params[k].tobytes()


def test_checkpoint_never_needs_pickle(tmp_path):
    checkpoint.save(tmp_path / "a.npz", {"w": np.ones(3)}, {"note": "x"})
    with np.load(tmp_path / "a.npz", allow_pickle=False) as npz:
        assert set(npz.files) == {"w", "meta.json"}
    with pytest.raises(TypeError):
        checkpoint.save(tmp_path / "b.npz", {"w": np.array([{}], dtype=object)}, {})


def good_file(tmp_path):
    path = tmp_path / "good.npz"
    checkpoint.save(path, {"w": np.arange(1000.0)}, {"step": 3})
    return path


def kind_of(path):
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(path)
    assert str(info.value)  # a message for a person
    return info.value.kind


def test_each_bad_file_gets_its_own_error(tmp_path):
    good = good_file(tmp_path)

    assert kind_of(tmp_path / "nope.npz") == "missing"
    assert kind_of(tmp_path) == "missing"

    text = tmp_path / "notes.npz"
    text.write_text("hello, not a checkpoint")
    assert kind_of(text) == "not_checkpoint"

    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(4))
    assert kind_of(foreign) == "not_checkpoint"

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert kind_of(truncated) == "corrupted"

    flipped = tmp_path / "flipped.npz"
    raw = bytearray(good.read_bytes())
    raw[200] ^= 0xFF  # inside the stored array data: the zip CRC no longer matches
    flipped.write_bytes(bytes(raw))
    assert kind_of(flipped) == "corrupted"

    newer = tmp_path / "newer.npz"
    meta = {"format": "rnnviz-checkpoint", "version": checkpoint.VERSION + 1}
    np.savez(newer, **{"meta.json": np.frombuffer(json.dumps(meta).encode(), np.uint8)})
    assert kind_of(newer) == "newer_version"


def test_incompatible_shapes_are_reported(tmp_path):
    params = init_params(CFG, np.random.default_rng(0))
    bigger = param_shapes(CFG.replace(hidden_size=9))
    with pytest.raises(CheckpointError) as info:
        checkpoint.check_compatible(params, bigger)
    assert info.value.kind == "incompatible" and "layer0.W_hh" in str(info.value)


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = good_file(tmp_path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.os, "fsync", explode)
    with pytest.raises(OSError):
        checkpoint.save(path, {"w": np.zeros(5)}, {"step": 4})
    assert path.read_bytes() == before
    arrays, meta = checkpoint.load(path)
    assert meta["step"] == 3
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no temporary file is left behind"


def test_zip_entries_are_plain_npy(tmp_path):
    path = good_file(tmp_path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["meta.json.npy", "w.npy"]


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX permissions")
def test_a_saved_file_has_a_normal_files_permissions_and_a_replaced_one_keeps_its_own(tmp_path):
    # The temporary file behind the atomic write is private (0600); a checkpoint is not a secret.
    umask = os.umask(0o022)
    try:
        path = tmp_path / "new.npz"
        checkpoint.save(path, {"w": np.zeros(3)}, {"step": 1})
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        path.chmod(0o640)  # the user's own choice survives a later save over it
        checkpoint.save(path, {"w": np.ones(3)}, {"step": 2})
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
    finally:
        os.umask(umask)


def with_meta(tmp_path, text: str):
    """An .npz holding only metadata ``text`` (JSON as we write it, or not)."""
    path = tmp_path / "crafted.npz"
    np.savez(path, **{"meta.json": np.frombuffer(text.encode(), np.uint8)})
    return path


@pytest.mark.parametrize(
    "version, words",
    [('"2"', "not a whole number"), ("true", "not a whole number"), ("0", "no format version 0"),
     ("-3", "no format version -3"), ("1.0", "not a whole number"), ("null", "missing")],
)  # fmt: skip
def test_a_format_version_that_is_not_a_whole_number_from_1_up_is_refused(tmp_path, version, words):
    path = with_meta(tmp_path, f'{{"format": "rnnviz-checkpoint", "version": {version}}}')
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(path)
    assert info.value.kind == "corrupted" and "damaged checkpoint" in str(info.value) and words in str(info.value)


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "[" * 100_000 + "]" * 100_000])
def test_metadata_json_that_we_never_write_is_refused_as_damaged(tmp_path, value):
    # json.dumps of our metadata never writes NaN or Infinity (every number in it is finite), and
    # nesting a hundred thousand deep would overflow the parser's stack (a RecursionError, not a message)
    path = with_meta(tmp_path, f'{{"format": "rnnviz-checkpoint", "version": 1, "x": {value}}}')
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(path)
    assert info.value.kind == "corrupted" and "damaged checkpoint" in str(info.value)
