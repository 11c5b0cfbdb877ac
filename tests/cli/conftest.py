import os
import subprocess
import sys
import tempfile

import pytest

from rnnviz.corpus import bundled_corpus, load_text


def run_cli(*args, cwd=None, timeout=120):
    """Run ``python -m rnnviz ARGS`` in a fresh process; returns the CompletedProcess.

    It runs from a neutral folder: from the repository, ``python -m`` would import the source
    folder instead of the installed package under test.
    """
    env = dict(os.environ, PYTHONWARNINGS="error")
    cwd = tempfile.gettempdir() if cwd is None else cwd
    return subprocess.run(
        [sys.executable, "-m", "rnnviz", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="session")
def small_text(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "small.txt"
    path.write_text(load_text(bundled_corpus()).text[:20000], encoding="utf-8")
    return path
