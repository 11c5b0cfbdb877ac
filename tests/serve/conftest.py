"""Small checkpoints (a few training steps of tiny models) and real servers on ephemeral loopback ports.

A server here is the one ``rnnviz serve`` runs (``serve.server.make_server`` on a socket from
``serve.server.bind``), in a thread; tests/serve/test_cli_serve.py starts the command itself.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager

import httpx
import pytest

from rnnviz.corpus import bundled_corpus, load_text
from rnnviz.serve.model import ServedModel
from rnnviz.serve.server import bind, make_server, url
from rnnviz.training import TrainConfig, Trainer, load_model, save_trainer

TINY = {"hidden": 16, "batch_size": 8}


def train_checkpoint(path, cfg: TrainConfig, steps: int = 4):
    trainer = Trainer(cfg)
    for _ in range(steps):
        trainer.train_step()
    trainer.evaluate(max_batches=2)  # so the history holds a validation
    save_trainer(trainer, path)
    return path


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    """``{"char", "word", "names", "sine"}`` -> checkpoint path."""
    folder = tmp_path_factory.mktemp("checkpoints")
    corpus = folder / "small.txt"
    corpus.write_text(load_text(bundled_corpus()).text[:20000], encoding="utf-8")
    return {
        "char": train_checkpoint(folder / "char.npz", TrainConfig(corpus=str(corpus), seq_len=16, **TINY)),
        "word": train_checkpoint(folder / "word.npz", TrainConfig(corpus=str(corpus), level="word", seq_len=8, **TINY)),
        "names": train_checkpoint(folder / "names.npz", TrainConfig(task="classify", **TINY)),
        "sine": train_checkpoint(folder / "sine.npz", TrainConfig(task="sine", hidden=4)),
    }


@contextmanager
def running(model: ServedModel):
    """A real server for ``model`` on 127.0.0.1, an ephemeral port; yields an httpx client for it."""
    sock = bind("127.0.0.1", 0)
    server = make_server(model)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="test server")
    thread.start()
    try:
        with httpx.Client(base_url=url(sock), timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    assert not thread.is_alive(), "the server did not stop"


@pytest.fixture(scope="session")
def served(checkpoints):
    """``{kind: ServedModel}`` for the checkpoints that can be served."""
    return {kind: ServedModel(load_model(checkpoints[kind])) for kind in ("char", "word", "names")}


@pytest.fixture(scope="session")
def char_api(served):
    with running(served["char"]) as client:
        yield client


@pytest.fixture(scope="session")
def word_api(served):
    with running(served["word"]) as client:
        yield client


@pytest.fixture(scope="session")
def names_api(served):
    with running(served["names"]) as client:
        yield client


def run_rnnviz(*args, timeout=60, env=None, code=None):
    """``python -m rnnviz ARGS`` (or ``python -c CODE ARGS``) from a neutral folder, so that the installed
    package is the one tested, not the source folder."""
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "rnnviz"]
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, timeout=timeout,
        cwd=tempfile.gettempdir(), env=dict(os.environ, **(env or {})),
    )  # fmt: skip


def events(response) -> list[tuple[str, dict]]:
    """The server-sent events of a streamed httpx response: ``[(event, data)]``, data parsed as JSON."""
    out, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            out.append((name, json.loads(line[len("data: ") :])))
    return out
