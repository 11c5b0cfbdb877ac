"""The Qt binding must not corrupt Python's reference counts (PySide6 6.12.0 did, on Python 3.11:
every QPainter.drawLine dropped a reference to None until the interpreter aborted)."""

import sys

from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage, QPainter, QPen


def test_drawing_lines_keeps_the_reference_count_of_none(qapp):
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        painter.setPen(QPen())
        before = sys.getrefcount(None)
        for _ in range(200):  # few enough not to crash a broken binding, enough to see the drift
            painter.drawLine(QPointF(0, 0), QPointF(10, 10))
        after = sys.getrefcount(None)
    finally:
        painter.end()
    assert after >= before - 20, f"the Qt binding lost {before - after} references to None"
