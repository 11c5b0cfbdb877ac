"""The main window: toolbar, menus, dockable panels, status bar; owns the training controller.

Everything the user does becomes a command to the training process; everything it reports arrives in
``on_delivery`` (at most every 16 ms) and is handed to the panels. Its state decides
which controls are enabled (``ENABLED_IN``), so a button is never live when it cannot work.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from rnnviz.engine.clipping import ClipConfig
from rnnviz.gui import messages as m
from rnnviz.gui.controller import TrainingController
from rnnviz.gui.controls import SettingsPanel
from rnnviz.gui.menus import build_actions, build_toolbar_and_menus
from rnnviz.gui.message_bar import MessageBar
from rnnviz.gui.panels.gradients import GradientFlowPanel
from rnnviz.gui.panels.heatmap import HeatmapPanel
from rnnviz.gui.panels.history import LossPanel, NormHistoryPanel
from rnnviz.gui.panels.softmax import SoftmaxPanel
from rnnviz.gui.panels.textstrip import TextStripPanel
from rnnviz.gui.status import TrainingStatusBar
from rnnviz.training import TrainConfig

HAVE_MODEL = (m.IDLE, m.RUNNING, m.PAUSED, m.STEPPING, m.ERROR)
# What needs no working model: starting over (Reset starts a new training process if it died) and loading.
WITHOUT_MODEL = ("reset", "open", "open_names")
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
# While training, how often each panel redraws at most (seconds). The heatmap follows every training
# step (up to ~40 a second, engine_loop.TRACE_INTERVAL); bars, curves and text change too fast to read
# any quicker than ~10 times a second, and redrawing them less often halves the app's own CPU use
# (measured: bench/gui.py). Paused or stepping, every view is drawn at once.
REFRESH_INTERVAL = {"heatmap": 0.0, "text": 0.1, "softmax": 0.1, "gradients": 0.1}
SLOW_PANELS_PER_FRAME = 1  # at most this many of the ~10 per second panels in one frame (no long frames)
HISTORY_REFRESH_S = 0.5  # the loss and norm curves each redraw about twice a second while training


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
        self._last_history_refresh = 0.0
        self._history_turn = 0  # which curve panel redraws next while training: 0 loss, 1 norm
        self._drawn_at = dict.fromkeys(REFRESH_INTERVAL, 0.0)
        self._latest_train: m.TrainView | None = None
        self._latest_gradients: m.TrainView | None = None  # the newest view with gradient norms
        self._gradients_shown: m.TrainView | None = None  # the one the gradients panel shows
        self.refreshes = dict.fromkeys(REFRESH_INTERVAL, 0)  # panel redraws (the GUI benchmark reads it)
        self.deliveries = 0  # drained mailbox batches (the GUI benchmark reads it)

        self._build_panels()
        self.actions_ = build_actions(self)
        build_toolbar_and_menus(self)
        self.status = TrainingStatusBar()
        self.setStatusBar(self.status)
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
        self.settings_panel.lr_changed.connect(self.set_lr)

    def figure_panels(self):
        """The panels that are figures (exportable as pictures and numbers)."""
        return (self.heatmap, self.softmax, self.gradients, self.loss_panel, self.norm_panel)

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
        if self.info is not None:  # the model's settings, with the live learning rate and clipping
            self.settings.setValue("config", json.dumps(self.settings_panel.current.to_dict()))
        self.settings.setValue("probe", self.text_strip.probe_edit.text())
        self.settings.sync()

    # -- user commands ----------------------------------------------------------------------------
    def toggle_training(self) -> None:
        if self.state == m.RUNNING:
            self.controller.send("pause")
        elif self._enabled("train"):
            self.controller.send("train")

    def step_update(self) -> None:
        if self._enabled("step_update"):
            self.source = "train"  # one training step: show it (also when leaving the probe)
            self.controller.send("step_update")

    def _probe_command(self, name: str) -> None:
        if self._enabled("step_token"):
            self.controller.send(name)

    def set_clip(self, clip: ClipConfig) -> None:
        self.controller.send("set_clip", clip=clip)
        self.norm_panel.set_clip(clip)
        self.settings_panel.set_live(clip=str(clip))
        self.save_settings()

    def set_lr(self, lr: float) -> None:
        self.controller.send("set_lr", lr=lr)
        self.settings_panel.set_live(lr=float(lr))
        self.save_settings()

    def confirm(self, question: str) -> bool:
        """Ask before throwing work away (tests replace this)."""
        answer = QMessageBox.question(self, "rnnviz", question)
        return answer == QMessageBox.StandardButton.Yes

    def reset_model(self, config: TrainConfig) -> None:
        if not self._enabled("reset"):
            return
        if self.step > 0 and not self.confirm(
            f"Training has run {self.step:,} steps. Build a new model and lose them?"
        ):
            return
        self.controller.send("reset", config=config)

    def load_corpus(self, path: str) -> None:
        """Train on a text file (or, for a folder, classify its names). A bad file keeps the current one."""
        if not self._enabled("open"):
            return
        p = Path(path)
        base = self.settings_panel.config()
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

    # -- what the training process reports ------------------------------------------------------------------
    def on_delivery(self, d) -> None:
        self.deliveries += 1
        for event in d.events:
            self._on_event(event)
        if d.scalars:
            self.loss_panel.add_steps(d.scalars)
            self.norm_panel.add_steps(d.scalars)
            self.status.add_steps(d.scalars)
            self.step = self.status.step
        # While training, the loss and norm curves redraw in turns (one per frame, each about twice a second)
        # and never in the same frame as a slower training panel: no frame carries more than one
        # heavy redraw, which is what keeps the worst frames short (the event loop's p99 lateness).
        now = time.monotonic()
        running = self.state == m.RUNNING
        history_due = now - self._last_history_refresh >= HISTORY_REFRESH_S / 2
        if d.train is not None and self.info is not None:
            self._latest_train = d.train
            if d.gradients is not None:
                self._latest_gradients = d.gradients
            self._draw_train(force=not running, slow_limit=0 if history_due else SLOW_PANELS_PER_FRAME)
        if d.probe is not None and self.source == "probe" and self.info is not None:
            self.heatmap.show_probe(d.probe)
            self.softmax.show_probe(d.probe)
            self.text_strip.show_probe(d.probe)
        if not running:
            self.loss_panel.refresh()
            self.norm_panel.refresh()
        elif history_due:
            self._last_history_refresh = now
            (self.loss_panel, self.norm_panel)[self._history_turn].refresh()
            self._history_turn ^= 1

    def _draw_train(self, force: bool = False, slow_limit: int = SLOW_PANELS_PER_FRAME) -> None:
        """Hand the newest training view to the panels that are due (all of them when ``force``); at most
        ``slow_limit`` of the ~10 per second ones."""
        view = self._latest_train
        if view is None:
            return
        now = time.monotonic()
        due = [k for k, gap in REFRESH_INTERVAL.items() if force or now - self._drawn_at[k] >= gap]
        if self.source != "train":
            due = [k for k in due if k == "gradients"]  # while stepping, the gradient view still follows training
        if not force and self._latest_gradients is self._gradients_shown:
            due = [k for k in due if k != "gradients"]  # nothing new there: give the frame to another panel
        if not force:  # spread the slower panels over frames, most overdue first
            slow = sorted((k for k in due if REFRESH_INTERVAL[k] > 0), key=lambda k: self._drawn_at[k])
            due = [k for k in due if REFRESH_INTERVAL[k] == 0] + slow[:slow_limit]
        for key in due:
            self._drawn_at[key] = now
            self.refreshes[key] += 1
            if key == "heatmap":
                self.heatmap.show_train(view)
            elif key == "softmax":
                self.softmax.show_train(view)
            elif key == "gradients":
                if self._latest_gradients is not None:
                    self.gradients.show_train(self._latest_gradients)
                    self._gradients_shown = self._latest_gradients
            else:
                self.text_strip.show_train(view, self.selected_t)

    def _on_event(self, e) -> None:
        if isinstance(e, m.ModelInfo):
            self.info = e
            self.step = e.step
            self.selected_t = None
            for panel in (
                self.heatmap,
                self.softmax,
                self.gradients,
                self.loss_panel,
                self.norm_panel,
                self.text_strip,
            ):
                panel.set_model(e)
            cfg = TrainConfig.from_dict(e.config)
            self.settings_panel.show_config(cfg)
            self.clip_control.set_value(ClipConfig.parse(cfg.clip))
            self.norm_panel.set_clip(ClipConfig.parse(cfg.clip))
            self.row_box.setMaximum(max(cfg.batch_size - 1, 0))
            self._latest_train = self._latest_gradients = self._gradients_shown = None
            self.status.reset(e.step, e.step / e.batches_per_epoch if e.batches_per_epoch else 0.0)
            if e.notes:  # e.g. "decoded as Windows-1252": all of them, not only the last
                self.status.showMessage("   ·   ".join(e.notes), 12000)
            self.save_settings()  # now, not only on close: a killed or crashed app still comes back to it
        elif isinstance(e, m.StateChanged):
            self._apply_state(e.state)
        elif isinstance(e, m.Problem):
            self.message_bar.show_problem(e)
        elif isinstance(e, m.EvalResult):
            self.loss_panel.add_eval(e)
            self.status.add_eval(e)
        elif isinstance(e, m.Notice):
            self.status.showMessage(e.message, 6000)

    def _enabled(self, key: str) -> bool:
        """Whether the control ``key`` can work now: the state allows it, and it needs no model and no
        training process, or both are there (after an error they may not be)."""
        if self.state not in ENABLED_IN[key]:
            return False
        return key in WITHOUT_MODEL or (self.info is not None and self.controller.alive())

    def _apply_state(self, state: str) -> None:
        self.state = state
        if state == m.STEPPING:
            self.source = "probe"
        elif state == m.RUNNING:
            self.source = "train"
        for key in ENABLED_IN:
            self.actions_[key].setEnabled(self._enabled(key))
        self.actions_["train"].setText("Pause" if state == m.RUNNING else "Train")
        self.clip_control.setEnabled(state != m.LOADING)
        self.settings_panel.reset_button.setEnabled(self._enabled("reset"))
        self.status.set_state(state)
        if state == m.RUNNING:
            self.message_bar.clear_kind("nonfinite")
        else:
            self._draw_train(force=True)  # the last view of a run is always drawn whole

    # -- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.save_settings()
        self.controller.stop()
        event.accept()

    def shutdown(self) -> None:
        """Stop the training process (idempotent); also called when the application quits."""
        self.controller.stop()
