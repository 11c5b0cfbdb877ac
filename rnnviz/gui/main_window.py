"""The main window: toolbar, menus, dockable panels, status bar; owns the training controller.

Everything the user does becomes a command to the worker; everything the worker reports arrives in
``on_delivery`` (about 30 times a second) and is handed to the panels. The worker's state decides
which controls are enabled (``ENABLED_IN``), so a button is never live when it cannot work.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rnnviz import __version__
from rnnviz.engine.clipping import ClipConfig
from rnnviz.gui import messages as m
from rnnviz.gui.controls import ClipControl, SettingsPanel
from rnnviz.gui.message_bar import MessageBar
from rnnviz.gui.panels.gradients import GradientFlowPanel
from rnnviz.gui.panels.heatmap import HeatmapPanel
from rnnviz.gui.panels.history import LossPanel, NormHistoryPanel
from rnnviz.gui.panels.softmax import SoftmaxPanel
from rnnviz.gui.panels.textstrip import TextStripPanel
from rnnviz.gui.worker import TrainingController
from rnnviz.training import TrainConfig

HAVE_MODEL = (m.IDLE, m.RUNNING, m.PAUSED, m.STEPPING, m.ERROR)
ENABLED_IN = {
    "train": HAVE_MODEL,
    "step_token": HAVE_MODEL,
    "step_back": HAVE_MODEL,
    "probe_restart": HAVE_MODEL,
    "step_update": (m.IDLE, m.PAUSED, m.STEPPING, m.ERROR),
    "reset": HAVE_MODEL,
    "open": HAVE_MODEL,
    "open_names": HAVE_MODEL,
    "load_checkpoint": HAVE_MODEL,
    "save": HAVE_MODEL,
}
STATE_TEXT = {
    m.IDLE: ("ready", "#2e7d32"), m.RUNNING: ("training", "#1565c0"), m.PAUSED: ("paused", "#6d4c41"),
    m.STEPPING: ("stepping through the probe", "#6a1b9a"), m.LOADING: ("loading...", "#757575"),
    m.ERROR: ("error", "#c62828"),
}  # fmt: skip
# While training, how often each panel redraws at most (seconds). The heatmap follows every frame
# (~30 per second); bars, curves and text change too fast to read any quicker than ~10 times a second,
# and redrawing them less often halves the app's own CPU use (measured: bench/gui.py). Paused or
# stepping, every view is drawn at once.
REFRESH_INTERVAL = {"heatmap": 0.0, "text": 0.1, "softmax": 0.1, "gradients": 0.1}
SLOW_PANELS_PER_FRAME = 1  # at most this many of the ~10 per second panels in one frame (no long frames)
HISTORY_REFRESH_S = 0.5  # the loss and norm curves redraw at most twice a second while training


class MainWindow(QMainWindow):
    def __init__(self, config: TrainConfig, fallback: TrainConfig | None = None, settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle("rnnviz: watch a recurrent network learn")
        self.setAcceptDrops(True)
        self.settings = settings
        self.state = m.LOADING
        self.info: m.ModelInfo | None = None
        self.step = 0
        self.source = "train"  # what the sequence panels show: "train" (the batch) or "probe"
        self.selected_t: int | None = None
        self._rate = deque(maxlen=200)  # (wall time, tokens) of recent steps, for tokens per second
        self._last_history_refresh = 0.0
        self._drawn_at = dict.fromkeys(REFRESH_INTERVAL, 0.0)
        self._latest_train: m.TrainView | None = None
        self.refreshes = dict.fromkeys(REFRESH_INTERVAL, 0)  # panel redraws (the GUI benchmark reads it)
        self._last_loss = float("nan")
        self.tokens_trained = 0  # tokens of every step reported (the GUI benchmark reads it)
        self._last_val = ""
        self.deliveries = 0  # drained mailbox batches (the GUI benchmark reads it)

        self._build_panels()
        self._build_actions()
        self._build_toolbar_and_menus()
        self._build_status_bar()
        self.settings_panel.show_config(config)
        self.clip_control.set_value(ClipConfig.parse(config.clip))
        self.norm_panel.set_clip(ClipConfig.parse(config.clip))
        self._restore_layout()

        self.controller = TrainingController(config, fallback, parent=self)
        self.controller.delivered.connect(self.on_delivery)
        self._apply_state(m.LOADING)
        self.controller.start()

    # -- construction -------------------------------------------------------------------------
    def _build_panels(self) -> None:
        self.heatmap = HeatmapPanel()
        self.softmax = SoftmaxPanel()
        self.gradients = GradientFlowPanel()
        self.loss_panel = LossPanel()
        self.norm_panel = NormHistoryPanel()
        self.text_strip = TextStripPanel()
        self.settings_panel = SettingsPanel()
        self.settings_panel.setMaximumWidth(320)
        self.text_strip.setMaximumHeight(150)
        for panel in (self.softmax, self.gradients, self.loss_panel, self.norm_panel):
            panel.setMinimumHeight(200)
        self.message_bar = MessageBar()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.heatmap, 1)
        self.setCentralWidget(central)
        self.docks: dict[str, QDockWidget] = {}
        for key, title, widget, area in (
            ("text", "Text", self.text_strip, Qt.DockWidgetArea.TopDockWidgetArea),
            ("settings", "Settings", self.settings_panel, Qt.DockWidgetArea.LeftDockWidgetArea),
            ("softmax", "Next token", self.softmax, Qt.DockWidgetArea.RightDockWidgetArea),
            ("gradients", "Gradients through time", self.gradients, Qt.DockWidgetArea.RightDockWidgetArea),
            ("loss", "Loss", self.loss_panel, Qt.DockWidgetArea.BottomDockWidgetArea),
            ("norm", "Gradient norm per step", self.norm_panel, Qt.DockWidgetArea.BottomDockWidgetArea),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{key}")  # QSettings restores the layout by these names
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[key] = dock
        self.splitDockWidget(self.docks["loss"], self.docks["norm"], Qt.Orientation.Horizontal)
        self.splitDockWidget(self.docks["softmax"], self.docks["gradients"], Qt.Orientation.Vertical)
        self._default_layout = self.saveState()

        self.heatmap.time_selected.connect(self._select_time)
        self.text_strip.probe_changed.connect(lambda text: self.controller.send("set_probe", text=text))
        self.text_strip.step_requested.connect(self._probe_command)
        self.settings_panel.reset_requested.connect(self.reset_model)
        self.settings_panel.lr_changed.connect(lambda lr: self.controller.send("set_lr", lr=lr))

    def _action(self, key: str, text: str, shortcut, slot, tip: str) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})" if shortcut else tip)
        a.setStatusTip(tip)
        a.triggered.connect(slot)
        self.addAction(a)  # shortcuts work wherever focus is (except in text fields, which keep their keys)
        self.actions_[key] = a
        return a

    def _build_actions(self) -> None:
        self.actions_: dict[str, QAction] = {}
        self._action("open", "Open text...", QKeySequence.StandardKey.Open, self.open_file_dialog,
                     "Train on a text file of your own")
        self._action("open_names", "Open names folder...", None, self.open_names_dialog,
                     "Classify names: a folder with one <Language>.txt file per class")
        self._action("load_checkpoint", "Load checkpoint...", None, self.load_checkpoint_dialog,
                     "Continue a saved run")
        self._action("save", "Save checkpoint...", QKeySequence.StandardKey.Save, self.save_dialog,
                     "Save the weights, optimizer and settings")
        self._action("quit", "Quit", QKeySequence.StandardKey.Quit, self.close, "Close rnnviz")
        self._action("train", "Train", Qt.Key.Key_Space, self.toggle_training, "Start or pause training")
        self._action("step_token", "Step token", Qt.Key.Key_Right, lambda: self._probe_command("step_token"),
                     "Feed the next token of the probe sentence")
        self._action("step_back", "Back", Qt.Key.Key_Left, lambda: self._probe_command("step_back"),
                     "Step back one token of the probe sentence")
        self._action("probe_restart", "Restart probe", Qt.Key.Key_Home, lambda: self._probe_command("probe_restart"),
                     "Start the probe sentence over")
        self._action("step_update", "Step update", "Ctrl+Right", self.step_update,
                     "One training step, then pause")
        self._action("reset", "Reset model", "Ctrl+R", lambda: self.reset_model(self.settings_panel.config()),
                     "Build a new network with the settings shown")
        self._action("restore_layout", "Restore panel layout", None, self.restore_default_layout,
                     "Put every panel back where it started")
        self._action("guide", "Quick guide", QKeySequence.StandardKey.HelpContents, self.show_guide,
                     "What each panel shows and how to use them")
        self._action("about", "About rnnviz", None, self.show_about, "Version and credits")

    def _build_toolbar_and_menus(self) -> None:
        a = self.actions_
        tb = self.addToolBar("Training")
        tb.setObjectName("toolbar-training")
        for key in ("open", "train", "step_token", "step_back", "probe_restart", "step_update", "reset"):
            tb.addAction(a[key])
        tb.addSeparator()
        self.clip_control = ClipControl()
        self.clip_control.changed.connect(self.set_clip)
        tb.addWidget(self.clip_control)
        tb.addSeparator()
        tb.addWidget(QLabel(" Row: "))
        self.row_box = QSpinBox()
        self.row_box.setRange(0, 1023)
        self.row_box.setToolTip("Which sequence of the training batch the panels show")
        self.row_box.valueChanged.connect(lambda r: self.controller.send("set_row", row=r))
        tb.addWidget(self.row_box)

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for key in ("open", "open_names", "load_checkpoint", "save"):
            file_menu.addAction(a[key])
        export = file_menu.addMenu("Export panel")
        for panel in (self.heatmap, self.softmax, self.gradients, self.loss_panel, self.norm_panel):
            sub = export.addMenu(panel.title)
            for kind, label in (("png", "Picture (PNG)..."), ("svg", "Vector picture (SVG)..."),
                                ("npz", "Numbers (NPZ)..."), ("csv", "Numbers (CSV)...")):
                sub.addAction(label, lambda p=panel, k=kind: p.export_dialog(k))
        file_menu.addSeparator()
        file_menu.addAction(a["quit"])
        model_menu = bar.addMenu("&Model")
        for key in ("train", "step_update", "step_token", "step_back", "probe_restart", "reset"):
            model_menu.addAction(a[key])
        view_menu = bar.addMenu("&View")
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction(a["restore_layout"])
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(a["guide"])
        help_menu.addAction(a["about"])

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.state_label = QLabel()
        self.step_label = QLabel("step 0")
        self.loss_label = QLabel("")
        self.speed_label = QLabel("")
        self.epoch_bar = QProgressBar()
        self.epoch_bar.setRange(0, 1000)
        self.epoch_bar.setMaximumWidth(160)
        self.epoch_bar.setFormat("epoch 0.00")
        self.epoch_bar.setToolTip("Position in the current pass over the training data")
        for w in (self.state_label, self.step_label, self.loss_label, self.speed_label):
            sb.addPermanentWidget(w)
        sb.addPermanentWidget(self.epoch_bar)

    # -- layout persistence ---------------------------------------------------------------------
    def _restore_layout(self) -> None:
        if self.settings is None:
            self.resize(1400, 900)
            return
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        state = self.settings.value("windowState")
        if state is not None:
            self.restoreState(state)

    def restore_default_layout(self) -> None:
        self.restoreState(self._default_layout)
        for dock in self.docks.values():
            dock.show()

    def save_settings(self) -> None:
        if self.settings is None:
            return
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        if self.info is not None:
            self.settings.setValue("config", json.dumps(self.info.config))
        self.settings.setValue("probe", self.text_strip.probe_edit.text())
        self.settings.sync()

    # -- user commands ----------------------------------------------------------------------------
    def toggle_training(self) -> None:
        if self.state == m.RUNNING:
            self.controller.send("pause")
        elif self.state in ENABLED_IN["train"]:
            self.controller.send("train")

    def step_update(self) -> None:
        if self.state in ENABLED_IN["step_update"]:
            self.controller.send("step_update")

    def _probe_command(self, name: str) -> None:
        if self.state in ENABLED_IN["step_token"]:
            self.controller.send(name)

    def set_clip(self, clip: ClipConfig) -> None:
        self.controller.send("set_clip", clip=clip)
        self.norm_panel.set_clip(clip)

    def confirm(self, question: str) -> bool:
        """Ask before throwing work away (tests replace this)."""
        answer = QMessageBox.question(self, "rnnviz", question)
        return answer == QMessageBox.StandardButton.Yes

    def reset_model(self, config: TrainConfig) -> None:
        if self.state not in ENABLED_IN["reset"]:
            return
        if self.step > 0 and not self.confirm(f"Training has run {self.step:,} steps. Build a new model and lose them?"):
            return
        config = config.replace(clip=str(self.clip_control.value()))
        self.controller.send("reset", config=config)

    def load_corpus(self, path: str) -> None:
        """Train on a text file (or, for a folder, classify its names). A bad file keeps the current one."""
        if self.state not in ENABLED_IN["open"]:
            return
        p = Path(path)
        base = self.settings_panel.config().replace(clip=str(self.clip_control.value()))
        if p.is_dir():
            config = base.replace(task="classify", corpus=str(p))
        else:
            config = base.replace(task="lm", corpus=str(p))
        self.controller.send("load_corpus", config=config)

    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a text file", "", "Text files (*.txt);;All files (*)")
        if path:
            self.load_corpus(path)

    def open_names_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of <Class>.txt name lists")
        if path:
            self.load_corpus(path)

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", "rnnviz-checkpoint.npz", "Checkpoints (*.npz)")
        if path:
            self.controller.send("save", path=path)

    def load_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load checkpoint", "", "Checkpoints (*.npz);;All files (*)")
        if path:
            self.controller.send("load_checkpoint", path=path)

    def _select_time(self, t: int) -> None:
        self.selected_t = t
        self.softmax.select_time(t)

    # -- drag and drop ----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.load_corpus(url.toLocalFile())
                event.acceptProposedAction()
                return

    # -- what the worker reports ------------------------------------------------------------------
    def on_delivery(self, d) -> None:
        self.deliveries += 1
        for event in d.events:
            self._on_event(event)
        if d.scalars:
            self.loss_panel.add_steps(d.scalars)
            self.norm_panel.add_steps(d.scalars)
            self._on_scalars(d.scalars)
        if d.train is not None and self.info is not None:
            self._latest_train = d.train
            self._draw_train(force=self.state != m.RUNNING)
        if d.probe is not None and self.source == "probe" and self.info is not None:
            self.heatmap.show_probe(d.probe)
            self.softmax.show_probe(d.probe)
            self.text_strip.show_probe(d.probe)
        now = time.monotonic()
        if now - self._last_history_refresh >= HISTORY_REFRESH_S or self.state != m.RUNNING:
            self._last_history_refresh = now
            self.loss_panel.refresh()
            self.norm_panel.refresh()

    def _draw_train(self, force: bool = False) -> None:
        """Hand the newest training view to the panels that are due (all of them when ``force``)."""
        view = self._latest_train
        if view is None:
            return
        now = time.monotonic()
        due = [k for k, gap in REFRESH_INTERVAL.items() if force or now - self._drawn_at[k] >= gap]
        if self.source != "train":
            due = [k for k in due if k == "gradients"]  # while stepping, the gradient view still follows training
        if not force:  # spread the slower panels over frames, most overdue first
            slow = sorted((k for k in due if REFRESH_INTERVAL[k] > 0), key=lambda k: self._drawn_at[k])
            due = [k for k in due if REFRESH_INTERVAL[k] == 0] + slow[:SLOW_PANELS_PER_FRAME]
        for key in due:
            self._drawn_at[key] = now
            self.refreshes[key] += 1
            if key == "heatmap":
                self.heatmap.show_train(view)
            elif key == "softmax":
                self.softmax.show_train(view)
            elif key == "gradients":
                self.gradients.show_train(view)
            else:
                self.text_strip.show_train(view, self.selected_t)

    def _on_event(self, e) -> None:
        if isinstance(e, m.ModelInfo):
            self.info = e
            self.step = e.step
            self.selected_t = None
            for panel in (self.heatmap, self.softmax, self.gradients, self.loss_panel, self.norm_panel, self.text_strip):
                panel.set_model(e)
            cfg = TrainConfig.from_dict(e.config)
            self.settings_panel.show_config(cfg)
            self.clip_control.set_value(ClipConfig.parse(cfg.clip))
            self.norm_panel.set_clip(ClipConfig.parse(cfg.clip))
            self.row_box.setMaximum(max(cfg.batch_size - 1, 0))
            self._rate.clear()
            self._latest_train = None
            self._update_status()
            for note in e.notes:
                self.statusBar().showMessage(note, 8000)
        elif isinstance(e, m.StateChanged):
            self._apply_state(e.state)
        elif isinstance(e, m.Problem):
            self.message_bar.show_problem(e)
        elif isinstance(e, m.EvalResult):
            self.loss_panel.add_eval(e)
            acc = f" ({e.accuracy:.0%} right)" if e.accuracy is not None else ""
            self._last_val = f" | val {e.loss:.3f}{acc}"
            self._update_status()
        elif isinstance(e, m.Notice):
            self.statusBar().showMessage(e.message, 6000)

    def _on_scalars(self, scalars: list[m.StepScalars]) -> None:
        last = scalars[-1]
        self.step = last.step
        if math.isfinite(last.loss):
            self._last_loss = last.loss
        now = time.monotonic()
        for s in scalars:
            self._rate.append((now, s.tokens))
            self.tokens_trained += s.tokens
        if self.info is not None and self.info.batches_per_epoch:
            frac = last.progress - math.floor(last.progress) if last.progress % 1 else (1.0 if last.progress else 0)
            self.epoch_bar.setValue(int(1000 * frac))
            self.epoch_bar.setFormat(f"epoch {last.progress:.2f}")
        self._update_status()

    def tokens_per_second(self) -> float:
        if len(self._rate) < 2:
            return 0.0
        t0 = self._rate[0][0]
        span = self._rate[-1][0] - t0
        tokens = sum(n for t, n in self._rate if t > t0)
        return tokens / span if span > 0.2 else 0.0

    def _update_status(self) -> None:
        self.step_label.setText(f"step {self.step:,}")
        loss = f"loss {self._last_loss:.3f}" if math.isfinite(self._last_loss) else ""
        self.loss_label.setText(loss + self._last_val)
        rate = self.tokens_per_second() if self.state == m.RUNNING else 0.0
        self.speed_label.setText(f"{rate:,.0f} tok/s" if rate else "")

    def _apply_state(self, state: str) -> None:
        self.state = state
        if state == m.STEPPING:
            self.source = "probe"
        elif state == m.RUNNING:
            self.source = "train"
        for key, states in ENABLED_IN.items():
            self.actions_[key].setEnabled(state in states)
        self.actions_["train"].setText("Pause" if state == m.RUNNING else "Train")
        self.clip_control.setEnabled(state != m.LOADING)
        self.settings_panel.reset_button.setEnabled(state in ENABLED_IN["reset"])
        text, color = STATE_TEXT[state]
        self.state_label.setText(f'<b style="color:{color}">{text}</b>')
        if state == m.RUNNING:
            self.message_bar.clear_kind("nonfinite")
        else:
            self._draw_train(force=True)  # the last view of a run is always drawn whole
        self._update_status()

    # -- help -------------------------------------------------------------------------------------
    def show_guide(self) -> None:
        from rnnviz.gui.guide import GUIDE_HTML

        box = QMessageBox(self)
        box.setWindowTitle("rnnviz quick guide")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(GUIDE_HTML)
        box.setModal(False)
        box.show()

    def show_about(self) -> None:
        QMessageBox.about(self, "About rnnviz", f"rnnviz {__version__}: a from-scratch NumPy RNN, LSTM and GRU, "
                          "trained live with every number on screen. Exact gradients, checked against finite "
                          "differences.")

    # -- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.save_settings()
        self.controller.stop()
        event.accept()

    def shutdown(self) -> None:
        """Stop the worker (idempotent); also called when the application quits."""
        self.controller.stop()

