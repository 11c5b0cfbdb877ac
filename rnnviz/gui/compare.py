"""Compare mode's dialogs: which setting run B changes, and which run to keep at the end (Qt only).

The comparison itself (lockstep, identical batches, forking) is the lab's (``rnnviz.lab``, via
``training.compare``); the window only asks and shows.
"""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QMessageBox

from rnnviz.lab import events as e
from rnnviz.training.compare import changeable, parse_change


def ask_changes(parent, suggestion: str) -> dict | None:
    """Ask what run B changes ("cell=lstm", several separated by commas); None if cancelled.
    Raises ``ValueError`` (in words) for what cannot be parsed."""
    text, ok = QInputDialog.getText(
        parent,
        "Compare from scratch",
        "Start runs A and B anew on the same batches. Run B changes\n(name=value, e.g. cell=lstm, clip=norm:1, "
        "lr=0.01, hidden=64):\n\nsettings: " + ", ".join(changeable()),
        text=suggestion,
    )
    if not ok or not text.strip():
        return None
    return dict(parse_change(part) for part in text.split(",") if part.strip())


def ask_keep(parent, info: e.CompareInfo) -> str | None:
    """Which run to keep when the comparison ends ("A" or "B"); None if cancelled."""
    box = QMessageBox(parent)
    box.setWindowTitle("End compare")
    box.setText("Keep which run? The other one is discarded.")
    buttons = {}
    for run, label in zip(info.runs, info.labels, strict=True):
        buttons[run] = box.addButton(f"Keep {run} ({label})", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    clicked = box.clickedButton()
    return next((run for run, b in buttons.items() if b is clicked), None)
