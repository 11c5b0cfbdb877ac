"""The walkthrough journey through the real widgets and keys, with a real training process: the toy
preset brings it to the front, N walks through the stages of one iteration, a step update moves it
to the next iteration, it exports every number as CSV, and a model too large gets a reason."""

import csv

import pytest
from PySide6.QtCore import Qt

from rnnviz.lab import events as m
from rnnviz.lab.presets import BY_KEY
from rnnviz.lab.walkthrough_text import csv_rows

from .conftest import wait_state

TOY = BY_KEY["toy"].title


def choose_toy(qtbot, w):
    """Pick the toy preset in the settings and press Reset model, as a teacher would."""
    box = w.settings_panel.preset
    box.setCurrentIndex(box.findText(TOY))
    box.activated.emit(box.currentIndex())
    qtbot.mouseClick(w.settings_panel.reset_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.info.hidden == 5 and w.state == m.IDLE, timeout=20000)
    qtbot.waitUntil(lambda: w.walkthrough.walkthrough is not None, timeout=10000)
    return w.walkthrough


def cell(table, row_label, index, t):
    """The text of quantity ``row_label``'s number ``index`` at step t in a step table."""
    current = None
    for r in range(table.rowCount()):
        label = table.item(r, 0)
        if label is not None and label.text():
            current = label.text()
        idx = table.item(r, 1)
        if current == row_label and idx is not None and idx.text() == index:
            return table.item(r, 2 + t)
    raise AssertionError(f"no row {row_label}[{index}]")


def test_the_toy_shows_every_number_and_n_walks_through_the_stages(qtbot, make):
    w = make()
    panel = choose_toy(qtbot, w)
    assert w.walkthrough_on_screen and not w.walkthrough.visibleRegion().isEmpty()  # in front for this lesson
    wt = panel.walkthrough
    assert wt.labels == ("the", "king", "sits", "on", "throne") and wt.H == 5 and wt.T == 4
    assert "the first sequence of the data" in panel.source.text() and "not applied" in panel.source.text()
    # every number is on screen, fixed-width, with its formula on hover
    h = cell(panel.forward, "h_t", "2", 1)
    assert h.text() == f"{wt.h[2, 2]:.3f}" and "tanh(x_t W_xh + h_{t-1} W_hh + b_h)" in h.toolTip()
    raw = cell(panel.backward, "dh_raw", "3", 0)
    assert raw.text() == f"{wt.dz[0, 3]:.3f}" and f"(1 - {wt.h[1, 3]:.4f}^2) * {wt.dh[0, 3]:.4f}" in raw.toolTip()
    dy = cell(panel.backward, "dy", "king", 0)
    assert dy.text() == f"{wt.dy[0, 1]:.3f}" and f"({wt.probs[0, 1]:.4f} - 1) / 4" in dy.toolTip()
    assert "before the update" in panel.summary.text()

    qtbot.keyClick(w, Qt.Key.Key_N)  # slow motion: stage 1, the forward step t = 0
    assert panel.stage == 1 and panel.stage_label.text().startswith("Stage 1 of 12: Forward, t = 0")
    first, later = cell(panel.forward, "h_t", "0", 0), cell(panel.forward, "h_t", "0", 1)
    assert first.text() == f"{wt.h[1, 0]:.3f}" and later.text() == ""  # later stages are blank ...
    assert first.background().color().name() != later.background().color().name()  # ... the current one marked
    assert cell(panel.backward, "dh", "0", 3).text() == "" and "before the update" not in panel.summary.text()
    for _ in range(5):  # 2, 3, 4 (forward), 5 (loss), 6 (backward t = 3)
        qtbot.keyClick(w, Qt.Key.Key_N)
    assert panel.stage == 6 and "Backward, t = 3" in panel.stage_label.text()
    assert cell(panel.backward, "dh", "0", 3).text() == f"{wt.dh[3, 0]:.3f}"
    assert cell(panel.backward, "dh", "0", 2).text() == ""  # t = 2 comes next (the sweep runs backwards)
    for _ in range(6):  # ... 12: the update
        qtbot.keyClick(w, Qt.Key.Key_N)
    assert panel.stage == 12 and panel.stage_label.text().startswith("Stage 12 of 12: Update")
    assert f"{wt.loss:.4f} before the update, {wt.loss_after:.4f} after" in panel.summary.text()
    qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)  # back one stage
    assert panel.stage == 11 and "after" not in panel.summary.text()
    qtbot.mouseClick(panel.all_button, Qt.MouseButton.LeftButton)
    assert panel.stage == 0 and cell(panel.backward, "dh", "0", 0).text() == f"{wt.dh[0, 0]:.3f}"

    # Step update makes a real step: the walkthrough moves on to the next iteration
    qtbot.keyClick(w, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: panel.ready is not None and panel.ready.step == 1, timeout=10000)
    assert panel.walkthrough.loss == pytest.approx(wt.loss_after, rel=1e-5)  # the loss it said it would reach
    assert "row 0 of step 1's batch" in panel.source.text()


def test_matrices_and_csv_export(qtbot, make, tmp_path):
    w = make()
    panel = choose_toy(qtbot, w)
    wt = panel.walkthrough
    titles = [panel.matrices.item(r, 0).text() for r in range(panel.matrices.rowCount()) if panel.matrices.item(r, 0)]
    assert any(t.startswith("dW_hy = sum_t h_t^T dy_t   (head.W_hy, 5 x 5)") for t in titles)
    panel.matrix_box.setCurrentIndex(2)  # the update
    assert any(t.startswith("change of W_xh") for t in (panel.matrices.item(r, 0).text() for r in
               range(panel.matrices.rowCount()) if panel.matrices.item(r, 0)))  # fmt: skip
    path = tmp_path / "walkthrough.csv"
    panel.export(path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows == csv_rows(wt) and rows[0] == ["t", "quantity", "index", "value"]
    png = tmp_path / "walkthrough.png"
    panel.export(png)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_a_large_model_says_why_and_a_hidden_panel_costs_nothing(qtbot, make):
    w = make()  # the default model: 128 units
    assert w.walkthrough.message.text().startswith("The walkthrough shows every number of models with at most 16")
    assert not w.walkthrough_on_screen and w.walkthrough.ready is None  # a tab behind the others: never made
    config = w.settings_panel.config().replace(task="toy", cell="gru", hidden=8)
    w.reset_model(config)
    qtbot.waitUntil(lambda: w.info.hidden == 8 and w.state == m.IDLE, timeout=20000)
    qtbot.waitUntil(lambda: w.walkthrough.ready is not None, timeout=10000)  # a toy task: shown at once
    assert w.walkthrough.ready.step == 0
    w.docks["walkthrough"].close()
    assert not w.walkthrough_on_screen
    w.step_update()
    wait_state(qtbot, w, m.PAUSED)
    qtbot.waitUntil(lambda: w.step == 1, timeout=10000)
    qtbot.wait(300)
    assert w.walkthrough.ready.step == 0  # closed: the lab made none for step 1
    w.docks["walkthrough"].show()
    w.docks["walkthrough"].raise_()
    qtbot.waitUntil(lambda: w.walkthrough.ready.step == 1, timeout=10000)  # on screen again: made at once
    assert w.walkthrough.walkthrough.cell == "gru"
    assert cell(w.walkthrough.backward, "dz_z", "0", 0) is not None  # the GRU's gate derivatives
