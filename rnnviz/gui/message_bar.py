"""An in-window message bar for problems (not a modal dialog: training and the panels keep going).

Each problem shows its plain-words message, with "Details" when there is more (a traceback), and a
close button. The same kind of problem replaces the previous one instead of piling up.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton

from rnnviz.lab import events as m

STYLES = {
    "nonfinite": "background:#fff3e0; border:1px solid #ffb74d;",
    "spike": "background:#fff3e0; border:1px solid #ffb74d;",
    "error": "background:#ffebee; border:1px solid #e57373;",
    "load_failed": "background:#fff8e1; border:1px solid #ffd54f;",
    "save_failed": "background:#fff8e1; border:1px solid #ffd54f;",
}


class MessageBar(QFrame):
    # a spike's two ways on (the window acts on them): undo it, or train on from it
    roll_back_requested = Signal()
    continue_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.roll_back_button = QPushButton("Roll back")
        self.roll_back_button.setToolTip(
            "Put back the weights from before the trouble, a spike or the loss's climb to NaN (training stays paused)"
        )
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("Train on from the weights the spike left")
        self.details_button = QPushButton("Details...")
        self.close_button = QPushButton("✕")
        self.close_button.setFixedWidth(28)
        self.close_button.setToolTip("Dismiss")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.label, 1)
        row.addWidget(self.roll_back_button)
        row.addWidget(self.continue_button)
        row.addWidget(self.details_button)
        row.addWidget(self.close_button)
        self.problem: m.Problem | None = None
        self.details_button.clicked.connect(self.show_details)
        self.roll_back_button.clicked.connect(self.roll_back_requested)
        self.continue_button.clicked.connect(self.continue_requested)
        self.close_button.clicked.connect(self.dismiss)
        self.hide()

    def show_problem(self, problem: m.Problem) -> None:
        self.problem = problem
        self.setStyleSheet(f"MessageBar {{{STYLES.get(problem.kind, STYLES['error'])}}}")
        self.label.setText(problem.message)
        self.details_button.setVisible(bool(problem.details))
        # a paused spike: undo it or train on; a NaN after a climb: undo it (Train is the way on)
        self.roll_back_button.setVisible(problem.roll_back is not None)
        self.continue_button.setVisible(problem.roll_back is not None and problem.kind == "spike")
        self.show()

    def clear_kind(self, kind: str) -> None:
        if self.problem is not None and self.problem.kind == kind:
            self.dismiss()

    def dismiss(self) -> None:
        self.problem = None
        self.hide()

    def show_details(self) -> None:
        if self.problem is None:
            return
        box = QMessageBox(self.window())
        box.setWindowTitle("rnnviz: details")
        box.setText(self.problem.message)
        box.setDetailedText(self.problem.details)
        box.setModal(False)
        box.show()
