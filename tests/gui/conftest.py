"""GUI test set-up: offscreen Qt, a window with a real training process, settings in a temp file,
and a check that no test leaves a thread behind."""

import threading

import pytest
from PySide6.QtCore import QSettings

from rnnviz.lab import events as m

pytest.importorskip("pytestqt")


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = {t.ident for t in threading.enumerate()}
    yield
    leaked = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    for t in leaked:
        t.join(2.0)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"threads left running: {still}"


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "rnnviz.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make(qtbot, settings):
    """``make(path=None)``: a shown main window whose model is ready (state idle)."""
    from rnnviz.gui.app import make_window

    windows = []

    def _make(path=None, wait_ready=True, settings_=settings):
        w = make_window(path, settings_)
        qtbot.addWidget(w)
        w.confirm = lambda question: True  # answer "yes" to "lose the training so far?"
        w.show()
        windows.append(w)
        if wait_ready:
            qtbot.waitUntil(lambda: w.info is not None and w.state == m.IDLE, timeout=20000)
        return w

    yield _make
    for w in windows:
        w.close()
        assert not w.controller.alive(), "the training process outlived its window"


def wait_state(qtbot, w, *states, timeout=10000):
    qtbot.waitUntil(lambda: w.state in states, timeout=timeout)


def small(config, **changes):
    """A faster model for tests that do not need the default size."""
    return config.replace(hidden=32, batch_size=8, seq_len=24, **changes)
