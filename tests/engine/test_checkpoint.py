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


def npy_header(shape, descr="<f8") -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def crafted_zip(tmp_path, entries: dict, compression=zipfile.ZIP_STORED):
    """An .npz with our metadata and ``entries`` {name: bytes, or an iterable of byte chunks}."""
    meta = json.dumps({"format": "rnnviz-checkpoint", "version": 1}).encode()
    path = tmp_path / "crafted.npz"
    with zipfile.ZipFile(path, "w", compression) as z:
        z.writestr("meta.json.npy", npy_header((len(meta),), "|u1") + meta)
        for name, data in entries.items():
            with z.open(name + ".npy", "w", force_zip64=True) as f:
                for chunk in [data] if isinstance(data, bytes) else data:
                    f.write(chunk)
    return path


def refused(path) -> str:
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(path)
    assert info.value.kind == "corrupted" and "damaged checkpoint" in str(info.value), str(info.value)
    return str(info.value)


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    import tracemalloc

    zeros = bytes(1 << 20)
    n = (256 << 20) // 8
    chunks = [npy_header((n,)), *[zeros] * 256]  # 256 MB of float zeros, deflated to ~250 kB
    path = crafted_zip(tmp_path, {"param.w": chunks}, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        message = refused(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "param.w would inflate" in message and peak < 8 << 20, peak  # (it used to peak at the full size)


def test_a_huge_declared_shape_is_refused_without_allocating_it(tmp_path):
    path = crafted_zip(tmp_path, {"param.w": npy_header((10**6, 10**6)) + bytes(64)})  # says 8 TB, holds 64 B
    assert "declares (1000000, 1000000) float64" in refused(path)  # (it used to raise MemoryError)


@pytest.mark.parametrize(
    "descr, words",
    [("|O", "Python objects"), ("<U4", "not an array of numbers"), ("|V8", "not an array of numbers"),
     ("<M8[s]", "not an array of numbers")],
)  # fmt: skip
def test_arrays_that_are_not_numbers_are_refused_before_they_are_read(tmp_path, descr, words):
    path = crafted_zip(tmp_path, {"param.w": npy_header((2,), descr) + bytes(16)})
    assert words in refused(path)


def test_entries_np_savez_never_writes_are_refused(tmp_path):
    path = crafted_zip(tmp_path, {"param.w": npy_header((1,)) + bytes(8)})
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("notes.txt", "hello")
    assert "'notes.txt' is not one array" in refused(path)
    many = {f"a{k}": npy_header((1,)) + bytes(8) for k in range(checkpoint.MAX_ENTRIES)}
    assert f"at most {checkpoint.MAX_ENTRIES:,}" in refused(crafted_zip(tmp_path, many))


def test_an_entry_that_holds_less_than_it_declares_is_refused_before_it_is_read(tmp_path):
    assert "holds 16" in refused(crafted_zip(tmp_path, {"param.w": npy_header((1000,)) + bytes(16)}))


KILLED_SAVE = """
import os, signal, sys
import numpy as np
from rnnviz.engine import checkpoint
checkpoint.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # killed mid-save (kill -9)
checkpoint.save(sys.argv[1], {"w": np.ones(100_000)}, {"step": 2})
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="kill -9 is a POSIX matter")
def test_a_save_killed_midway_leaves_a_recognisable_temp_file_the_next_save_removes(tmp_path):
    import subprocess
    import sys
    import time

    path = good_file(tmp_path)
    r = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], capture_output=True, timeout=60)
    assert r.returncode == -9
    (left,) = [p for p in tmp_path.iterdir() if p != path]
    assert left.name.startswith("good.npz.rnnviz-") and left.name.endswith(".tmp") and left.stat().st_size > 10**5
    old = time.time() - 3600
    os.utime(left, (old, old))  # (a later run: a temp file just made may be a save still on its way)
    checkpoint.save(path, {"w": np.zeros(3)}, {"step": 4})
    assert [p.name for p in tmp_path.iterdir()] == ["good.npz"] and checkpoint.load(path)[1]["step"] == 4


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_cleaning_up_touches_only_stale_temp_files_of_our_own_for_that_checkpoint(tmp_path):
    import time

    fcntl = pytest.importorskip("fcntl")  # (a save under way holds a lock on its temp file)

    path = good_file(tmp_path)
    old = time.time() - 3600
    names = {
        "good.npz.rnnviz-k2j4h6g8.tmp": True,  # ours, for good.npz, left long ago: removed
        "good.npz.rnnviz-fresh001.tmp": False,  # ours but just made: a save on its way (another process)
        "other.npz.rnnviz-k2j4h6g8.tmp": False,  # another checkpoint's
        "good.npz.k2j4h6g8.tmp": False,  # not our naming (an editor's, a download's, an older rnnviz's)
        "good.npz.rnnviz-k2j4h6g8.tmp.bak": False,
        "notes.tmp": False,
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x" * 10)
        if name != "good.npz.rnnviz-fresh001.tmp":
            os.utime(tmp_path / name, (old, old))
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes(b"keep me")
    (tmp_path / "good.npz.rnnviz-link0001.tmp").symlink_to(outside)  # a link: never followed, never removed
    (tmp_path / "good.npz.rnnviz-folder01.tmp").mkdir()
    held = tmp_path / "good.npz.rnnviz-held0001.tmp"  # an old name a save still holds (locked): kept
    held.write_bytes(b"x")
    os.utime(held, (old, old))
    with open(held, "rb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        checkpoint.save(path, {"w": np.zeros(3)}, {"step": 5})
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"good.npz", "elsewhere.bin", "good.npz.rnnviz-link0001.tmp", "good.npz.rnnviz-folder01.tmp",
                    "good.npz.rnnviz-held0001.tmp"} | {n for n, gone in names.items() if not gone}  # fmt: skip
    assert outside.read_bytes() == b"keep me"


def test_a_newer_file_is_called_newer_whatever_else_it_holds(tmp_path):
    meta = json.dumps({"format": "rnnviz-checkpoint", "version": checkpoint.VERSION + 1}).encode()
    path = tmp_path / "newer.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("meta.json.npy", npy_header((len(meta),), "|u1") + meta)
        z.writestr("names.npy", npy_header((2,), "<U4") + bytes(32))  # a kind of array this version refuses
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(path)
    assert info.value.kind == "newer_version"


def test_an_entry_claiming_more_bytes_than_the_file_holds_is_refused_before_any_allocation(tmp_path):
    """A 600-byte file whose zip directory and .npy header claim a stored 3.6 GB array (review finding):
    NumPy allocated the 3.6 GB before the short read; the claim is now checked against the file."""
    import struct

    from rnnviz.engine import checkpoint as ck

    ok, liar = tmp_path / "ok.npz", tmp_path / "liar.npz"
    ck.save(ok, {"W": np.zeros((4, 4), np.float32)}, {"x": 1})
    data = bytearray(ok.read_bytes())
    claim = (30000, 30000)
    i = data.find(b"{'descr': '<f4'")
    end = data.find(b"\n", i)
    old = bytes(data[i:end])
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {claim!r}, }}"
    data[i:end] = header.encode().ljust(len(old))
    size = end + 1 - (i - 10) + claim[0] * claim[1] * 4
    for sig, name_at, sizes_at in ((b"PK\x01\x02", 28, 20), (b"PK\x03\x04", 26, 18)):
        for off in [m for m in range(len(data)) if data[m : m + 4] == sig]:
            n = struct.unpack_from("<H", data, off + name_at)[0]
            start = off + (46 if sig == b"PK\x01\x02" else 30)
            if data[start : start + n] == b"W.npy":
                struct.pack_into("<II", data, off + sizes_at, size, size)  # compressed, uncompressed
    liar.write_bytes(data)
    with pytest.raises(ck.CheckpointError, match="the whole file holds"):
        ck.load(liar)
