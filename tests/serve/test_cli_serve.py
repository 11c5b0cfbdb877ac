"""``rnnviz serve`` itself: where it listens, how it stops, and what it says when it cannot start."""

import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading

import httpx
import numpy as np
import pytest

from rnnviz.cli import main
from rnnviz.engine import checkpoint
from rnnviz.engine.checkpoint import CheckpointError
from rnnviz.training import load_model

from .conftest import run_rnnviz


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_says_where_it_listens_and_a_signal_stops_it_cleanly(checkpoints, sig):
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnviz", "serve", str(checkpoints["char"]), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    watchdog = threading.Timer(60, proc.kill)  # a hung start fails the test instead of hanging it
    watchdog.start()
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "listening on" in line:
                break
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", "".join(lines))
        assert found, (lines, proc.stderr.read() if proc.poll() is not None else "")
        assert httpx.get(found.group(1) + "/health", timeout=10).json()["status"] == "ok"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        watchdog.cancel()
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("rnnviz serve: error: "), lines[0]
    return lines[0]


def test_a_damaged_checkpoint_is_refused_with_the_loaders_message_and_exit_code_2(checkpoints, tmp_path):
    data = checkpoints["char"].read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    r = run_rnnviz("serve", tmp_path / "cut.npz", "--port", "0")
    assert r.returncode == 2
    with pytest.raises(CheckpointError) as loader:  # the loader's own words, whatever they are
        load_model(tmp_path / "cut.npz")
    assert "cut.npz is a damaged" in one_line_error(r.stderr) and str(loader.value) in one_line_error(r.stderr)


def nan_weights(path, out):
    arrays, meta = checkpoint.load(path)
    arrays["param.head.b_y"] = np.full_like(arrays["param.head.b_y"], np.nan)
    meta.pop("format"), meta.pop("version")
    checkpoint.save(out, arrays, meta)
    return out


@pytest.mark.parametrize(
    "make, words, code",
    [
        (lambda c, tmp: tmp / "missing.npz", "There is no checkpoint file", 2),
        (lambda c, tmp: (tmp / "notes.npz").write_text("notes") and tmp / "notes.npz", "not an rnnviz checkpoint", 2),
        (lambda c, tmp: c["sine"], "reads numbers, not text", 2),
        # weights that are not finite: exit 1, as eval, generate and resume say it (the numbers, not the file)
        (lambda c, tmp: nan_weights(c["char"], tmp / "nan.npz"), "head.b_y", 1),
    ],
)
def test_checkpoints_that_cannot_be_served_are_refused_before_listening(
    checkpoints, tmp_path, capsys, make, words, code
):
    assert main(["serve", str(make(checkpoints, tmp_path)), "--port", "0"]) == code
    assert words in one_line_error(capsys.readouterr().err)


def test_a_port_in_use_is_one_line_and_exit_code_2(checkpoints, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(checkpoints["char"]), "--port", str(port)]) == 2
    assert "in use" in one_line_error(capsys.readouterr().err)
    assert main(["serve", str(checkpoints["char"]), "--port", "70000"]) == 2
    assert "--port" in one_line_error(capsys.readouterr().err)


def test_without_fastapi_it_says_how_to_install_it(checkpoints):
    hide = "import sys; sys.modules['fastapi'] = None; from rnnviz.cli import main; sys.exit(main(sys.argv[1:]))"
    r = run_rnnviz("serve", checkpoints["char"], code=hide)
    assert r.returncode == 2
    assert 'pip install "rnnviz[serve]"' in one_line_error(r.stderr)
