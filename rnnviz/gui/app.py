"""Starting the app: the QApplication, crash hooks, the main window and the command-line file.

``run(path)`` is what ``rnnviz`` and ``rnnviz FILE`` call. Errors anywhere (the GUI thread, the receiver,
a loader thread) are caught by hooks and shown in the window instead of vanishing or killing the app.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import traceback

import pyqtgraph as pg  # noqa: E402  (after PySide6, so pyqtgraph binds to it)
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from rnnviz.gui.main_window import MainWindow
from rnnviz.lab import events as m
from rnnviz.lab.presets import DEFAULT_PRESET, apply_preset
from rnnviz.training import TrainConfig

pg.setConfigOptions(background="w", foreground="k", antialias=False, imageAxisOrder="row-major")


def initial_config(path: str | None, settings: QSettings | None) -> tuple[TrainConfig, TrainConfig]:
    """``(config, fallback)``: the last session's settings (or the default preset), on ``path`` if
    given; the fallback is the default preset on the bundled corpus, used if ``config`` fails to load."""
    fallback = apply_preset(DEFAULT_PRESET, TrainConfig())
    config = fallback
    saved = settings.value("config") if settings is not None else None
    if saved:
        try:
            # the remembered settings on today's defaults: a setting added since then starts at its
            # default (from_dict alone would read it as a run saved before it existed)
            config = TrainConfig.from_dict(TrainConfig().to_dict() | json.loads(saved))
        except (ValueError, TypeError):
            config = fallback
    if path is not None:
        from pathlib import Path

        task = "classify" if Path(path).is_dir() else "lm"
        config = config.replace(task=task, corpus=str(path))
    return config, fallback


def install_excepthooks(window: MainWindow) -> None:
    """Show uncaught exceptions of any thread in the window (the app keeps running)."""

    def report(kind: str, exc_type, exc, tb) -> None:
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        sys.stderr.write(details)
        problem = m.Problem("error", f"Unexpected error ({kind}): {exc_type.__name__}: {exc}", details)
        window.controller.mailbox.put(problem)  # thread-safe; drained by the GUI timer

    sys.excepthook = lambda t, e, tb: report("interface", t, e, tb)
    threading.excepthook = lambda a: report(
        f"thread {a.thread.name if a.thread else '?'}", a.exc_type, a.exc_value, a.exc_traceback
    )


def make_window(path: str | None = None, settings: QSettings | None = None) -> MainWindow:
    config, fallback = initial_config(path, settings)
    window = MainWindow(config, fallback, settings)
    install_excepthooks(window)
    app = QApplication.instance()
    app.aboutToQuit.connect(window.shutdown)
    return window


def run(path: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("rnnviz")
    app.setOrganizationName("rnnviz")
    try:
        from importlib.resources import files

        icon = files("rnnviz.assets") / "icon.png"
        if icon.is_file():
            app.setWindowIcon(QIcon(str(icon)))
    except (ModuleNotFoundError, OSError):
        pass
    window = make_window(path, QSettings("rnnviz", "rnnviz"))
    window.show()
    QTimer.singleShot(0, window.raise_)
    # Ctrl-C in the terminal closes the app cleanly (saving its settings). Python only runs signal
    # handlers between bytecodes, and Qt's event loop runs none while idle: a timer wakes it.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    return app.exec()
