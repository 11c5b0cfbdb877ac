"""Shared test set-up: Qt runs offscreen unless the caller chose a platform (CI sets offscreen too)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
