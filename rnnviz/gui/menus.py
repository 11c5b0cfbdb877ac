"""The window's actions (toolbar buttons, menu entries, keyboard shortcuts) and menus, as a table.

Shortcuts are window-wide (Space trains, arrows step the probe) except while typing in a text field,
which keeps its own keys.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QMessageBox, QSpinBox

from rnnviz import __version__
from rnnviz.gui.controls import ClipControl, release_focus_on_enter
from rnnviz.gui.guide import GUIDE_HTML
from rnnviz.gui.history_bar import HistoryBar

Std = QKeySequence.StandardKey

# key, text, shortcut, window method (or lambda of the window), tip
ACTIONS = (
    ("open", "Open text...", Std.Open, "open_file_dialog", "Train on a text file of your own"),
    ("open_names", "Open names folder...", None, "open_names_dialog",
     "Classify names: a folder with one <Language>.txt file per class"),
    ("load_checkpoint", "Load checkpoint...", None, "load_checkpoint_dialog", "Continue a saved run"),
    ("save", "Save checkpoint...", Std.Save, "save_dialog", "Save the weights, optimizer and settings"),
    ("quit", "Quit", Std.Quit, "close", "Close rnnviz"),
    ("train", "Train", Qt.Key.Key_Space, "toggle_training", "Start or pause training"),
    ("step_token", "Step token", Qt.Key.Key_Right, lambda w: w._probe_command("step_token"),
     "Feed the next token of the probe sentence"),
    ("step_back", "Back", Qt.Key.Key_Left, lambda w: w._probe_command("step_back"),
     "Step back one token of the probe sentence"),
    ("probe_restart", "Restart probe", Qt.Key.Key_Home, lambda w: w._probe_command("probe_restart"),
     "Start the probe sentence over"),
    ("step_update", "Step update", "Ctrl+Right", "step_update", "One training step, then pause"),
    ("history_back", "Earlier step", Qt.Key.Key_BracketLeft, lambda w: w.move_in_history(-1),
     "Paused: show the previous step kept in the history"),
    ("history_forward", "Later step", Qt.Key.Key_BracketRight, lambda w: w.move_in_history(+1),
     "Paused: show the next step kept in the history"),
    ("compare", "Compare", Qt.Key.Key_C, "toggle_compare",
     "Fork the run: A goes on as it is, B with clipping toggled, on the same batches (again: end compare)"),
    ("compare_scratch", "Compare from scratch...", "Ctrl+Shift+C", "compare_from_scratch",
     "Start runs A and B anew on the same batches, B with one setting changed (cell, learning rate...)"),
    ("walk_next", "Next walkthrough stage", Qt.Key.Key_N, lambda w: w.walkthrough_stage(+1),
     "Walkthrough: the next stage of one training iteration, in slow motion"),
    ("walk_back", "Previous walkthrough stage", "Shift+N", lambda w: w.walkthrough_stage(-1),
     "Walkthrough: the previous stage of the slow motion"),
    ("generate", "Generate", "Ctrl+G", "generate_now",
     "Let the language model write from a prime (the Generate panel)"),
    ("check_gradients", "Check gradients", "Ctrl+Shift+G", "check_gradients",
     "Compare backpropagation's gradient of a few weights with finite differences (the Check gradients panel)"),
    ("reset", "Reset model", "Ctrl+R", lambda w: w.reset_model(w.settings_panel.config()),
     "Build a new network with the settings shown"),
    ("restore_layout", "Restore panel layout", None, "restore_default_layout", "Put every panel back where it started"),
    ("guide", "Quick guide", Std.HelpContents, lambda w: show_guide(w), "What each panel shows and how to use them"),
    ("about", "About rnnviz", None, lambda w: show_about(w), "Version and credits"),
)  # fmt: skip
TOOLBAR = ("open", "train", "step_token", "step_back", "probe_restart", "step_update", "reset", "compare")
EXPORTS = (("png", "Picture (PNG)..."), ("svg", "Vector picture (SVG)..."), ("npz", "Numbers (NPZ)..."),
           ("csv", "Numbers (CSV)..."))  # fmt: skip


def build_actions(window) -> dict[str, QAction]:
    actions = {}
    for key, text, shortcut, slot, tip in ACTIONS:
        a = QAction(text, window)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
            tip_text = f"{tip} ({QKeySequence(shortcut).toString()})"
        else:
            tip_text = tip
        a.setToolTip(tip_text)
        a.setStatusTip(tip)
        a.triggered.connect(getattr(window, slot) if isinstance(slot, str) else (lambda _=False, f=slot: f(window)))
        window.addAction(a)
        actions[key] = a
    return actions


def build_toolbar_and_menus(window) -> None:
    """The toolbar (with the clipping control and the row chooser) and the menu bar."""
    a = window.actions_
    tb = window.addToolBar("Training")
    tb.setObjectName("toolbar-training")
    for key in TOOLBAR:
        tb.addAction(a[key])
    tb.addSeparator()
    window.clip_control = ClipControl()
    window.clip_control.changed.connect(window.set_clip)
    tb.addWidget(window.clip_control)
    window.spike_box = QCheckBox("Pause on spikes")
    window.spike_box.setToolTip(
        "Pause when a step's gradient norm or loss jumps far above its recent median (thresholds in the "
        "settings), and offer to roll the weights back"
    )
    window.spike_box.toggled.connect(window.set_spike_pause)
    tb.addWidget(release_focus_on_enter(window.spike_box))
    tb.addSeparator()
    tb.addWidget(QLabel(" Row: "))
    window.row_box = QSpinBox()
    window.row_box.setRange(0, 1023)
    window.row_box.setToolTip("Which sequence of the training batch the panels show")
    window.row_box.valueChanged.connect(window.set_row)
    tb.addWidget(release_focus_on_enter(window.row_box))
    window.run_box = QComboBox()  # compare mode: whose heatmap, bars and text are shown
    window.run_box.setToolTip("Compare mode: which run the heatmap, next-token bars and text show")
    window.run_box.activated.connect(lambda i: window.show_run(window.run_box.itemData(i)))
    window.run_box_action = tb.addWidget(release_focus_on_enter(window.run_box))
    window.run_box_action.setVisible(False)
    window.addToolBarBreak()
    hb = window.addToolBar("History")
    hb.setObjectName("toolbar-history")
    window.history_bar = HistoryBar()
    window.history_bar.index_chosen.connect(window.show_history)
    hb.addWidget(window.history_bar)

    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    for key in ("open", "open_names", "load_checkpoint", "save"):
        file_menu.addAction(a[key])
    export = file_menu.addMenu("Export panel")
    for panel in window.figure_panels():
        sub = export.addMenu(panel.title)
        for kind, label in EXPORTS:
            sub.addAction(label, lambda p=panel, k=kind: p.export_dialog(k))
    file_menu.addSeparator()
    file_menu.addAction(a["quit"])
    model_menu = bar.addMenu("&Model")
    for key in ("train", "step_update", "step_token", "step_back", "probe_restart", "reset"):
        model_menu.addAction(a[key])
    model_menu.addSeparator()
    for key in ("compare", "compare_scratch"):
        model_menu.addAction(a[key])
    model_menu.addSeparator()
    for key in ("history_back", "history_forward"):
        model_menu.addAction(a[key])
    model_menu.addSeparator()
    for key in ("walk_next", "walk_back", "generate", "check_gradients"):
        model_menu.addAction(a[key])
    view_menu = bar.addMenu("&View")
    for dock in window.docks.values():
        view_menu.addAction(dock.toggleViewAction())
    view_menu.addSeparator()
    view_menu.addAction(a["restore_layout"])
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(a["guide"])
    help_menu.addAction(a["about"])


def show_guide(window) -> None:
    box = QMessageBox(window)
    box.setWindowTitle("rnnviz quick guide")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(GUIDE_HTML)
    box.setModal(False)
    box.show()


def show_about(window) -> None:
    QMessageBox.about(
        window,
        "About rnnviz",
        f"rnnviz {__version__}: a from-scratch NumPy RNN, LSTM and GRU, trained live with every number on "
        "screen. Exact gradients, checked against finite differences.",
    )
