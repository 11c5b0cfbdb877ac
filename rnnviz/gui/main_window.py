"""The main window: toolbar, menus, dockable panels, status bar; owns the training controller.

Everything the user does becomes a typed command to the lab (``rnnviz.lab.commands``); everything it
reports arrives in ``on_delivery`` (at most every 16 ms): events first, then the per-step numbers,
then the newest snapshot, which the frame scheduler (``frames``) hands to every sequence panel at
once. The lab's state decides which controls are enabled (``ENABLED_IN``), so a button is never live
when it cannot work.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from rnnviz.engine.clipping import ClipConfig
from rnnviz.gui.compare import ask_changes, ask_keep
from rnnviz.gui.controller import TrainingController
from rnnviz.gui.controls import SettingsPanel
from rnnviz.gui.frames import FrameScheduler
from rnnviz.gui.menus import build_actions, build_toolbar_and_menus
from rnnviz.gui.message_bar import MessageBar
from rnnviz.gui.panels.classes import ClassesPanel
from rnnviz.gui.panels.generate import GeneratePanel
from rnnviz.gui.panels.gradient_check import GradientCheckPanel
from rnnviz.gui.panels.gradients import GradientFlowPanel
from rnnviz.gui.panels.heatmap import HeatmapPanel
from rnnviz.gui.panels.history import LossPanel, NormHistoryPanel
from rnnviz.gui.panels.mechanism import MechanismPanel
from rnnviz.gui.panels.softmax import SoftmaxPanel
from rnnviz.gui.panels.textstrip import TextStripPanel
from rnnviz.gui.panels.walkthrough import WalkthroughPanel
from rnnviz.gui.status import TrainingStatusBar
from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.freerun import FreeRunSeries
from rnnviz.lab.presets import BY_TITLE, NAMES_PRESET, YOUR_TEXT_PRESET, apply_preset
from rnnviz.lab.snapshot import Snapshot
from rnnviz.training import TrainConfig
from rnnviz.training.compare import toggled_clip

QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's largest widget size (PySide6 does not export the constant)
HAVE_MODEL = (e.IDLE, e.RUNNING, e.PAUSED, e.STEPPING, e.ERROR)
# What needs no working model: starting over (Reset starts a new training process if it died) and loading.
WITHOUT_MODEL = ("reset", "open", "open_names")
ENABLED_IN = {
    "train": HAVE_MODEL,
    "step_token": HAVE_MODEL,
    "step_back": HAVE_MODEL,
    "probe_restart": HAVE_MODEL,
    "step_update": (e.IDLE, e.PAUSED, e.STEPPING, e.ERROR),
    "history_back": (e.PAUSED, e.STEPPING),
    "history_forward": (e.PAUSED, e.STEPPING),
    "reset": HAVE_MODEL,
    "open": HAVE_MODEL,
    "open_names": HAVE_MODEL,
    "load_checkpoint": HAVE_MODEL,
    "save": HAVE_MODEL,
    "compare": HAVE_MODEL,
    "compare_scratch": HAVE_MODEL,
    "generate": HAVE_MODEL,
    "check_gradients": HAVE_MODEL,
}


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a scroll area: a tall form must not decide the height of the window's middle row."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    if widget.maximumWidth() < QWIDGETSIZE_MAX:  # (a widget without a maximum keeps none)
        area.setMaximumWidth(widget.maximumWidth() + 20)
    return area


class MainWindow(QMainWindow):
    def __init__(self, config: TrainConfig, fallback: TrainConfig | None = None, settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle("rnnviz: watch a recurrent network learn")
        self.setAcceptDrops(True)
        self.settings = settings
        self.state = e.LOADING
        self.info: e.ModelInfo | None = None  # the main run's (A's) model
        self.infos: dict[str, e.ModelInfo] = {}  # every run's, by id
        self.compare_info: e.CompareInfo | None = None  # set while comparing A and B
        self.shown_run = e.MAIN  # whose snapshots the sequence panels show (a switch while comparing)
        self._latest: dict[str, Snapshot] = {}  # each run's newest snapshot (shown again on a switch)
        # per run, the step whose trouble (a spike, a NaN) the last pause offers to undo: Roll back
        self._roll_backs: dict[str, int] = {}
        self._history_infos: dict[str, e.HistoryInfo] = {}  # per run: what its step history holds
        self.step = 0
        self.deliveries = 0  # drained mailbox batches with something in them (the GUI benchmark reads it)

        self._build_panels()
        for panel in (self.heatmap, self.softmax):  # compare mode: exports hold both runs (the text has none)
            panel.export_runs = self._runs_to_export
        self.frames = FrameScheduler(
            {"heatmap": self.heatmap, "text": self.text_strip, "softmax": self.softmax, "gradients": self.gradients},
            (self.loss_panel, self.norm_panel),
        )
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
        self._apply_state(e.LOADING)
        self.controller.start()

    @property
    def refreshes(self) -> dict[str, int]:
        """Redraws per sequence panel (the GUI benchmark reads it)."""
        return self.frames.refreshes

    @property
    def snapshot(self) -> Snapshot | None:
        """What every sequence panel shows now."""
        return self.frames.snapshot

    # -- construction -------------------------------------------------------------------------
    def _build_panels(self) -> None:
        self.heatmap = HeatmapPanel()
        self.softmax = SoftmaxPanel()
        self.gradients = GradientFlowPanel()
        self.loss_panel = LossPanel()
        self.norm_panel = NormHistoryPanel()
        self.mechanism = MechanismPanel()
        self.text_strip = TextStripPanel()
        self.walkthrough = WalkthroughPanel()
        self.classes = ClassesPanel()
        self.settings_panel = SettingsPanel()
        self.generate_panel = GeneratePanel()
        self.gradcheck_panel = GradientCheckPanel()
        self.settings_panel.setMaximumWidth(320)
        self.text_strip.setMaximumHeight(150)
        for panel in (self.softmax, self.gradients, self.loss_panel, self.norm_panel, self.mechanism, self.walkthrough):
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
            ("settings", "Settings", scrolled(self.settings_panel), Qt.DockWidgetArea.LeftDockWidgetArea),
            ("softmax", "Next token", self.softmax, Qt.DockWidgetArea.RightDockWidgetArea),
            ("gradients", "Gradients through time", self.gradients, Qt.DockWidgetArea.RightDockWidgetArea),
            ("mechanism", "Why gradients vanish or explode", self.mechanism, Qt.DockWidgetArea.RightDockWidgetArea),
            ("walkthrough", "Walkthrough", self.walkthrough, Qt.DockWidgetArea.RightDockWidgetArea),
            ("generate", "Generate", scrolled(self.generate_panel), Qt.DockWidgetArea.RightDockWidgetArea),
            ("gradcheck", "Check gradients", scrolled(self.gradcheck_panel), Qt.DockWidgetArea.RightDockWidgetArea),
            ("classes", "Classes", self.classes, Qt.DockWidgetArea.RightDockWidgetArea),
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
        self.tabifyDockWidget(self.docks["gradients"], self.docks["mechanism"])
        # every number of a small model's iteration, a tab away (raised for the toy preset: _new_model)
        self.tabifyDockWidget(self.docks["mechanism"], self.docks["walkthrough"])
        # one tab away, found by Ctrl+G and Ctrl+Shift+G (with the tabs that are there already: a new tab
        # bar elsewhere would make the window's smallest height taller)
        self.tabifyDockWidget(self.docks["mechanism"], self.docks["generate"])
        self.tabifyDockWidget(self.docks["generate"], self.docks["gradcheck"])
        self.tabifyDockWidget(self.docks["mechanism"], self.docks["classes"])  # raised for a classifier
        self.docks["mechanism"].raise_()  # the lessons' panel in front; "Gradients through time" one tab away
        # the curves below keep a readable height however tall the settings column grows
        self.resizeDocks([self.docks["loss"], self.docks["norm"]], [260, 260], Qt.Orientation.Vertical)
        self._default_layout = self.saveState()

        self.heatmap.time_selected.connect(self.select_time)
        self.text_strip.probe_changed.connect(lambda text: self.controller.send(c.SetProbe(text)))
        self.text_strip.step_requested.connect(self._probe_command)
        self.softmax.free_run.requested.connect(lambda: self.controller.send(c.FreeRun(run=self.shown_run)))
        self.settings_panel.reset_requested.connect(self.reset_model)
        self.settings_panel.lr_changed.connect(self.set_lr)
        self.message_bar.roll_back_requested.connect(self.roll_back)
        self.message_bar.continue_requested.connect(self.continue_after_spike)
        # the lab makes walkthroughs only while the panel is on screen (its tab in front, the dock open).
        # Only this signal says so: a dock whose tab is behind another stays isVisible().
        self.walkthrough_on_screen = False
        self._walkthrough_large = False  # in a column of its own (the toy lesson: show_walkthrough_large)
        self.docks["walkthrough"].visibilityChanged.connect(self._watch_walkthrough)
        self.generate_panel.generate_requested.connect(lambda cmd: self._send_to_shown_run(cmd))
        self.generate_panel.sample_every_changed.connect(lambda cmd: self.controller.send(cmd))
        self.generate_panel.step_through_requested.connect(self.step_through)
        self.gradcheck_panel.check_requested.connect(self._check_gradients_of)
        self._checks = 0  # gradient checks asked for: each draws other random weights (its seed)

    def figure_panels(self):
        """The panels that are figures (exportable as pictures and numbers)."""
        return (
            self.heatmap, self.softmax, self.gradients, self.mechanism, self.classes, self.loss_panel,
            self.norm_panel, self.walkthrough,
        )  # fmt: skip

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
        self._walkthrough_large = False
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
        """Pause if the app last asked for training, else train: from what was asked, not from the lab's
        state, which lags behind (two quick presses of Space are a train and a pause; RunIntent)."""
        if self.controller.intent.running:
            self.controller.send(c.Pause())
        elif self._enabled("train"):
            self.controller.send(c.Train())

    def _send_to_shown_run(self, cmd) -> None:
        """``cmd`` (it carries a ``run``) for the run the panels show."""
        if self._enabled("generate"):
            self.controller.send(dataclasses.replace(cmd, run=self.shown_run))

    def _show_dock(self, key: str) -> None:
        self.docks[key].show()
        self.docks[key].raise_()

    def generate_now(self) -> None:
        """Show the Generate panel and write with its settings (Ctrl+G)."""
        self._show_dock("generate")
        self.generate_panel.generate_now()

    def check_gradients(self) -> None:
        """Show the Check gradients panel and check the weights chosen there (Ctrl+Shift+G)."""
        self._show_dock("gradcheck")
        self.gradcheck_panel.request()

    def _check_gradients_of(self, param: str) -> None:
        if self._enabled("check_gradients"):
            self._checks += 1
            self.controller.send(c.CheckGradients(param, seed=self._checks, run=self.shown_run))

    def step_through(self, text: str) -> None:
        """Make ``text`` (a generated one) the probe, at its start, ready for the arrow keys."""
        if not self._enabled("step_token"):
            return
        self.text_strip.probe_edit.setText(text)
        self.controller.send(c.SetProbe(text))
        self.controller.send(c.ProbeRestart())
        self._show_dock("text")
        focused = self.focusWidget()
        if focused is not None:  # the window's keys again: → steps, ← goes back
            focused.clearFocus()

    def step_update(self) -> None:
        if self._enabled("step_update"):
            self.controller.send(c.StepUpdate())

    _PROBE = {"step_token": c.ProbeForward, "step_back": c.ProbeBack, "probe_restart": c.ProbeRestart}

    def _probe_command(self, name: str) -> None:
        if self._enabled("step_token"):
            self.controller.send(self._PROBE[name]())

    def move_in_history(self, delta: int) -> None:
        if self._enabled("history_back"):
            self.history_bar.move(delta)

    def show_history(self, index: int) -> None:
        self.controller.send(c.ShowHistory(index, run=self.shown_run))

    def set_row(self, row: int) -> None:
        self.controller.send(c.SetRow(row))

    @property
    def comparing(self) -> bool:
        return self.compare_info is not None and self.compare_info.comparing

    def toggle_compare(self) -> None:
        """Not comparing: fork the run, B with clipping toggled (off <-> by norm at the shown threshold).
        Comparing: end it, keeping the run the user picks."""
        if not self._enabled("compare"):
            return
        if self.comparing:
            keep = self.ask_keep(self.compare_info)
            if keep is not None:
                self.controller.send(c.EndCompare(keep))
            return
        preset = BY_TITLE.get(self.settings_panel.preset.currentText())
        if self.step == 0 and preset is not None and preset.compare:
            # a lesson that is a comparison, not yet trained: its own comparison, from scratch
            self.controller.send(c.Compare(dict(preset.compare), from_scratch=True))
            return
        clip = str(self.clip_control.value())
        self.controller.send(c.Compare({"clip": toggled_clip(clip, self.clip_control.threshold.value())}))

    def compare_from_scratch(self) -> None:
        if not self._enabled("compare_scratch"):
            return
        config = self.settings_panel.config()
        preset = BY_TITLE.get(self.settings_panel.preset.currentText())
        suggestion = ", ".join(f"{k}={v}" for k, v in (preset.compare or {}).items()) if preset else ""
        try:
            changes = self.ask_changes(suggestion or "cell=lstm")
        except ValueError as err:
            self.message_bar.show_problem(e.Problem("compare", f"Cannot compare: {err}."))
            return
        if changes and self._may_discard_run("Starting a comparison from scratch"):
            self.controller.send(c.Compare(changes, from_scratch=True, config=config))

    def ask_changes(self, suggestion: str) -> dict | None:  # tests replace these two
        return ask_changes(self, suggestion)

    def ask_keep(self, info: e.CompareInfo) -> str | None:
        return ask_keep(self, info)

    def show_run(self, run: str) -> None:
        """Show run ``run``'s snapshots on the sequence panels (compare mode's switch)."""
        if run not in self.infos or run == self.shown_run:
            return
        self.shown_run = run
        self.mechanism.set_main_run(run)
        self.frames.reset()
        # the controls act on the shown run (SetClip / SetLR carry its id): show its values
        shown = TrainConfig.from_dict(self.infos[run].config)
        self.clip_control.set_value(ClipConfig.parse(shown.clip))
        self.norm_panel.set_clip(ClipConfig.parse(self.infos[e.MAIN].config["clip"]))
        if run in self._history_infos:
            self.history_bar.set_info(self._history_infos[run], self._enabled("history_back"))
        for panel in (self.heatmap, self.softmax, self.gradients, self.text_strip):
            panel.set_model(self.infos[run])
        self.run_box.blockSignals(True)
        self.run_box.setCurrentIndex(max(self.run_box.findData(run), 0))
        self.run_box.blockSignals(False)
        if run in self._latest:
            self.frames.frame(self._latest[run], running=self.state == e.RUNNING)
            self._overlay_other_run()

    def set_clip(self, clip: ClipConfig) -> None:
        self.controller.send(c.SetClip(clip, run=self.shown_run))
        if self.shown_run != e.MAIN:  # B's clipping: A's settings (and what is remembered) stay
            return
        self.norm_panel.set_clip(clip)
        self.settings_panel.set_live(clip=str(clip))
        self.save_settings()

    def set_spike_pause(self, on: bool) -> None:
        self.controller.send(c.SetSpikePause(bool(on)))
        self.settings_panel.set_live(spike_pause=bool(on))

    def roll_back(self) -> None:
        """Undo what the lab last offered to undo (a spike or a NaN, per run), then stay paused."""
        for run, step in self._roll_backs.items():
            self.controller.send(c.RollBack(step, run=run))
        self._roll_backs = {}
        self.message_bar.dismiss()

    def continue_after_spike(self) -> None:
        self._roll_backs = {}
        self.message_bar.dismiss()
        self.toggle_training()

    def set_lr(self, lr: float) -> None:
        self.controller.send(c.SetLR(float(lr)))  # the settings panel is run A's
        self.settings_panel.set_live(lr=float(lr))
        self.save_settings()

    def confirm(self, question: str) -> bool:
        """Ask before throwing work away (tests replace this)."""
        answer = QMessageBox.question(self, "rnnviz", question)
        return answer == QMessageBox.StandardButton.Yes

    def _may_discard_run(self, doing: str) -> bool:
        """True if there is no training to lose, or the user agrees to lose it for ``doing``."""
        return self.step == 0 or self.confirm(f"Training has run {self.step:,} steps. {doing} and lose them?")

    def reset_model(self, config: TrainConfig) -> None:
        if not self._enabled("reset") or not self._may_discard_run("Build a new model"):
            return
        self.controller.send(c.Reset(config))

    def load_corpus(self, path: str) -> None:
        """Train on a text file (or, for a folder, classify its names) with that lesson's settings. A bad
        file keeps the current one."""
        if not self._enabled("open"):
            return
        p = Path(path)
        if not self._may_discard_run(f"Open {p.name}"):
            return
        base = self.settings_panel.config()
        if p.is_dir():
            config = apply_preset(NAMES_PRESET, base).replace(corpus=str(p))
        else:
            config = apply_preset(YOUR_TEXT_PRESET, base, corpus=str(p))
        self.controller.send(c.LoadCorpus(config))

    def load_checkpoint(self, path: str) -> None:
        if self._enabled("load_checkpoint") and self._may_discard_run(f"Load {Path(path).name}"):
            self.controller.send(c.LoadCheckpoint(path))

    def save_checkpoint(self, path: str) -> None:
        if self._enabled("save"):
            self.controller.send(c.SaveCheckpoint(path))

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
            self.save_checkpoint(path)

    def load_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load checkpoint", "", "Checkpoints (*.npz);;All files (*)")
        if path:
            self.load_checkpoint(path)

    def walkthrough_stage(self, delta: int) -> None:
        """The slow motion's next (+1) or previous (-1) stage; the walkthrough comes to the front first."""
        dock = self.docks["walkthrough"]
        if not self.walkthrough_on_screen:  # closed, or a tab behind another
            dock.show()
            dock.raise_()
        self.walkthrough.move_stage(delta)

    def show_walkthrough_large(self) -> None:
        """The walkthrough in a column of its own beside the next-token bars, the whole height of the
        middle row and over half the window's width (the toy's heatmap needs little room: five units
        by four steps). View > Restore panel layout puts it back among the tabs."""
        dock = self.docks["walkthrough"]
        self.removeDockWidget(dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock, Qt.Orientation.Horizontal)  # a new column
        dock.show()
        self._walkthrough_large = True
        self.resizeDocks(
            [self.docks["softmax"], dock], [self.width() // 6, self.width() * 3 // 5], Qt.Orientation.Horizontal
        )

    def _watch_walkthrough(self, visible: bool | None = None) -> None:
        """Tell the lab whether the walkthrough is on screen (``visible``; None: as it was last said)."""
        if visible is not None:
            self.walkthrough_on_screen = bool(visible)
        if hasattr(self, "controller"):  # (the layout is restored before the training process starts)
            self.controller.send(c.WatchWalkthrough(self.walkthrough_on_screen))

    def select_time(self, t: int | None) -> None:
        """Select time step ``t`` in every panel (clicking the selected column again deselects)."""
        self.frames.select(t)

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

    # -- what the lab reports ------------------------------------------------------------------------
    def on_delivery(self, d) -> None:
        if d:
            self.deliveries += 1
        for event in d.events:
            self._on_event(event)
        if d.scalars:
            self.loss_panel.add_steps(d.scalars)
            self.norm_panel.add_steps(d.scalars)
            self.status.add_steps(d.scalars)
            self.step = self.status.step
        self._latest.update(d.snapshots)
        for run_snap in d.snapshots.values():  # every run's: compare mode overlays A and B
            self.mechanism.show_snapshot(run_snap)
        snap = d.snapshots.get(self.shown_run) if self.info is not None else None
        if snap is not None:
            if snap.history is not None:
                self.history_bar.show_place(snap.history, snap.step)
            else:  # live training, a step update or the probe: the history is at its newest again
                self.history_bar.at_newest()
            for panel in (self.loss_panel, self.norm_panel):  # the step shown from the history, on the curves
                panel.shown_step.mark(snap.step if snap.history is not None else None)
        self.frames.frame(snap, running=self.state == e.RUNNING)
        self._overlay_other_run()

    def _runs_to_export(self) -> dict[str, Snapshot]:
        """Compare mode: each run's snapshot of the step shown, or of its newest step ({} for one run)."""
        if not self.comparing:
            return {}
        return {run: snap for run, snap in sorted(self._latest.items()) if run in self.compare_info.runs}

    def _overlay_other_run(self) -> None:
        """Compare mode: the other run's gradients through time of the step shown, dashed."""
        for run, other in self._latest.items():
            if run != self.shown_run:
                self.gradients.show_other(other)

    def _on_event(self, ev) -> None:
        if isinstance(ev, e.ModelInfo):
            self.infos[ev.run] = ev
            self._latest.pop(ev.run, None)
            if ev.run == e.MAIN:
                self._new_model(ev)
            else:  # run B of a comparison: its curves start over; the panels keep showing A
                self.loss_panel.set_model(ev)
                self.norm_panel.set_model(ev)
                self.mechanism.set_model(ev)
                self.status.other_model(ev.step)
        elif isinstance(ev, e.CompareInfo):
            self._set_compare(ev)
        elif isinstance(ev, e.SpikeFound):
            self.loss_panel.mark_spike(ev)
            self.norm_panel.mark_spike(ev)
        elif isinstance(ev, e.StateChanged):
            self._apply_state(ev.state)
        elif isinstance(ev, e.Problem):
            if ev.roll_back is not None:
                run, step = ev.roll_back
                self._roll_backs[run] = step
            self.message_bar.show_problem(ev)
        elif isinstance(ev, e.EvalResult):
            self.loss_panel.add_eval(ev)
            self.status.add_eval(ev)
        elif isinstance(ev, e.MechanismPoint):
            self.mechanism.add_point(ev)
        elif isinstance(ev, e.RunLog):
            self.loss_panel.load_log(ev)
            self.norm_panel.load_log(ev)
            self.mechanism.load_log(ev)
            self.classes.load_log(ev)
        elif isinstance(ev, e.ClassReport):
            self.classes.show_report(ev)
        elif isinstance(ev, e.HistoryInfo):
            self._history_infos[ev.run] = ev
            if ev.run == self.shown_run:  # the slider scrubs the run the panels show
                self.history_bar.set_info(ev, self._enabled("history_back"))
        elif isinstance(ev, e.Notice):
            self.status.showMessage(ev.message, 6000)
        elif isinstance(ev, e.WalkthroughReady):
            self.walkthrough.show_walkthrough(ev)
        elif isinstance(ev, FreeRunSeries) and ev.run == self.shown_run:
            self.softmax.show_free_run(ev)
        elif isinstance(ev, e.Generated):
            self.generate_panel.show_generated(ev)
        elif isinstance(ev, e.GradientCheck):
            self.gradcheck_panel.show_check(ev)

    def _set_compare(self, info: e.CompareInfo) -> None:
        self.compare_info = info if info.comparing else None
        for panel in (self.loss_panel, self.norm_panel, self.status, self.mechanism, self.gradients):
            panel.set_compare(self.compare_info)
        self.actions_["compare"].setText("End compare" if self.comparing else "Compare")
        self.run_box.blockSignals(True)
        self.run_box.clear()
        for run, label in zip(info.runs, info.labels, strict=True):
            self.run_box.addItem(f"{run}: {label}" if label else run, run)
        self.run_box.blockSignals(False)
        self.run_box_action.setVisible(self.comparing)
        if not self.comparing:
            for run in list(self.infos):
                if run != e.MAIN:
                    del self.infos[run]
            self.shown_run = e.MAIN
            self.mechanism.set_main_run(e.MAIN)

    def _new_model(self, info: e.ModelInfo) -> None:
        self.info = info
        self.shown_run = e.MAIN
        self.step = info.step
        self.frames.reset()
        for panel in (self.heatmap, self.softmax, self.gradients, self.loss_panel, self.norm_panel, self.text_strip,
                      self.mechanism, self.walkthrough, self.generate_panel, self.gradcheck_panel):  # fmt: skip
            panel.set_model(info)
        self.docks["softmax"].setWindowTitle(self.softmax.title)  # per task: "Next token", "Predicted language"...
        self.classes.set_model(info)
        if self.classes.active:  # in front for a classifier
            self.docks["classes"].raise_()
        elif not self.docks["classes"].visibleRegion().isEmpty():  # its tab was in front: the lessons' panel again
            self.docks["mechanism"].raise_()
        cfg = TrainConfig.from_dict(info.config)
        self.settings_panel.show_config(cfg)
        self.clip_control.set_value(ClipConfig.parse(cfg.clip))
        self.norm_panel.set_clip(ClipConfig.parse(cfg.clip))
        self.spike_box.blockSignals(True)
        self.spike_box.setChecked(cfg.spike_pause)
        self.spike_box.blockSignals(False)
        self._roll_backs = {}
        self.message_bar.clear_kind("spike")
        self.row_box.setMaximum(max(info.batch_rows - 1, 0))
        self.history_bar.clear()
        self.status.reset(info.step, info.step / info.batches_per_epoch if info.batches_per_epoch else 0.0)
        if info.notes:  # e.g. "decoded as Windows-1252": all of them, not only the last
            self.status.showMessage("   ·   ".join(info.notes), 12000)
        if cfg.task == "toy":  # the lesson whose every number fits on screen: show them, large
            self.show_walkthrough_large()
        elif self._walkthrough_large:  # another lesson: back among the tabs, where it started
            self.tabifyDockWidget(self.docks["mechanism"], self.docks["walkthrough"])
            self.docks["mechanism"].raise_()
            self._walkthrough_large = False
        self._watch_walkthrough()  # (a new training process knows nothing of what the window shows)
        self.save_settings()  # now, not only on close: a killed or crashed app still comes back to it

    def _enabled(self, key: str) -> bool:
        """Whether the control ``key`` can work now: the state allows it, and it needs no model and no
        training process, or both are there (after an error they may not be)."""
        if self.state not in ENABLED_IN[key]:
            return False
        return key in WITHOUT_MODEL or (self.info is not None and self.controller.alive())

    def _apply_state(self, state: str) -> None:
        self.state = state
        for key in ENABLED_IN:
            self.actions_[key].setEnabled(self._enabled(key))
        self.actions_["train"].setText("Pause" if state == e.RUNNING else "Train")
        self.clip_control.setEnabled(state != e.LOADING)
        self.settings_panel.reset_button.setEnabled(self._enabled("reset"))
        self.history_bar.set_scrubbable(self._enabled("history_back"))
        self.walkthrough.set_running(state == e.RUNNING)
        # a free run of weights that change at every step would be gone at the next frame: paused only
        self.softmax.free_run.button.setEnabled(state in (e.IDLE, e.PAUSED, e.STEPPING))
        self.status.set_state(state)
        if state == e.RUNNING:
            self.message_bar.clear_kind("nonfinite")
            self.message_bar.clear_kind("spike")  # training goes on: Roll back no longer applies
            self._roll_backs = {}

    # -- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.save_settings()
        self.controller.stop()
        event.accept()

    def shutdown(self) -> None:
        """Stop the training process (idempotent); also called when the application quits."""
        self.controller.stop()
