"""The Classes panel (issue 11, "Classify names"): the lab's validation numbers, drawn as they are."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from rnnviz.gui.panels.classes import NOT_A_CLASSIFIER, ClassesPanel
from rnnviz.lab import commands as c
from rnnviz.lab import events as m
from rnnviz.lab.classes import class_report
from rnnviz.lab.presets import apply_preset
from rnnviz.lab.run import Run, model_info
from rnnviz.training import TrainConfig, Trainer

NAMES = apply_preset("names", TrainConfig()).replace(hidden=12, batch_size=8)


@pytest.fixture(scope="module")
def names_run():
    """A names classifier after a few steps: its ModelInfo and two validations' ClassReports."""
    t = Trainer(NAMES)
    reports = []
    for _ in range(2):
        for _ in range(10):
            t.train_step()
        reports.append(class_report(m.MAIN, t.step, t.task, t.evaluate()))
    return model_info(Run(m.MAIN, t, 10**6), "Dostoevsky"), reports


def shown_fractions(panel: ClassesPanel) -> np.ndarray:
    """The row-normalised values as the table shows them (cell text, in %; '' for an empty cell and
    '<1' for a few names are 0 after rounding)."""
    K = panel.table.rowCount()
    text = [[panel.table.item(i, j).text() for j in range(K)] for i in range(K)]
    return np.array([[0.0 if t in ("", "<1") else float(t) for t in row] for row in text])


def test_a_validation_shows_the_payloads_numbers(qtbot, names_run):
    info, reports = names_run
    panel = ClassesPanel()
    qtbot.addWidget(panel)
    panel.set_model(info)
    for rep in reports:
        panel.show_report(rep)
    rep = reports[-1]
    np.testing.assert_allclose(shown_fractions(panel), np.round(100 * rep.fractions), atol=0.5)
    few = (rep.confusion > 0) & (rep.fractions < 0.005)
    assert all(panel.table.item(i, j).text() == "<1" for i, j in zip(*np.nonzero(few), strict=True))
    assert all(panel.table.item(i, j).text() == "" for i, j in zip(*np.nonzero(rep.confusion == 0), strict=True))
    i, j = np.unravel_index(np.argmax(rep.confusion - np.diag(np.diag(rep.confusion))), rep.confusion.shape)
    tip = panel.table.item(i, j).toolTip()  # counts on hover
    assert f"{rep.confusion[i, j]:,} of {rep.confusion[i].sum():,}" in tip and info.labels[i] in tip
    # the accuracy over training: all names, and each class, as the payloads say
    steps, overall = panel.overall_curve.getData()
    assert steps.tolist() == [r.step for r in reports] and overall.tolist() == [r.accuracy for r in reports]
    k = int(np.argmax(rep.train_counts))
    _, russian = panel.class_curves[k].getData()
    assert russian.tolist() == [r.class_accuracy[k] for r in reports]
    # the class counts of the training set, in the row labels: "Russian (n)"
    label = panel.table.verticalHeaderItem(k).text()
    assert label == f"{info.labels[k]} ({rep.train_counts[k]:,})"
    assert "Weight classes off" in panel.counts.text()
    assert panel.data()["confusion"] is rep.confusion


def test_clicking_a_cell_lists_its_names(qtbot, names_run):
    info, reports = names_run
    rep = reports[-1]
    panel = ClassesPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    panel.set_model(info)
    panel.show_report(rep)
    off = rep.confusion - np.diag(np.diag(rep.confusion))
    i, j = (int(v) for v in np.unravel_index(np.argmax(off), off.shape))
    panel.table.scrollToItem(panel.table.item(i, j))
    rect = panel.table.visualItemRect(panel.table.item(i, j))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    text = panel.examples.text()
    assert text.startswith(f"{info.labels[i]} predicted as {info.labels[j]}: {rep.confusion[i, j]:,} of")
    assert all(name in text for name in rep.examples[i][j]) and rep.examples[i][j]


def test_a_class_without_validation_names_shows_zeros_not_nan(qtbot, names_run):
    info, reports = names_run
    rep = reports[-1]
    confusion = rep.confusion.copy()
    confusion[3] = 0  # no Dutch name in this pass
    fractions = rep.fractions.copy()
    fractions[3] = 0.0
    accuracy = rep.class_accuracy.copy()
    accuracy[3] = np.nan
    import dataclasses

    odd = dataclasses.replace(rep, confusion=confusion, fractions=fractions, class_accuracy=accuracy)
    panel = ClassesPanel()
    qtbot.addWidget(panel)
    panel.set_model(info)
    panel.show_report(odd)
    assert [panel.table.item(3, j).text() for j in range(18)] == [""] * 18
    assert panel.table.item(3, 0).toolTip() == f"{info.labels[3]}: no validation names"
    x, y = panel.class_curves[3].getData()
    assert x is None or len(x) == 0  # no NaN point (it would hide the curve)
    panel.select_cell(3, 3)
    assert panel.examples.text() == f"{info.labels[3]} correctly classified: 0 of 0 validation names."


def test_not_a_classifier_says_so_and_ignores_reports(qtbot, names_run):
    info, reports = names_run
    import dataclasses

    panel = ClassesPanel()
    qtbot.addWidget(panel)
    panel.set_model(dataclasses.replace(info, head="lm", labels=("a", "b"), config=TrainConfig().to_dict()))
    assert panel.counts.text() == NOT_A_CLASSIFIER and panel.table.rowCount() == 0
    panel.show_report(reports[0])
    assert panel.report is None and panel.data() == {}


def test_the_names_journey_in_the_window(qtbot, make):
    """Choose the names preset: the Classes tab comes to the front; train to a validation; the matrix
    shows the lab's numbers; the probe shows the languages after each character; the settings offer
    class weighting and balanced sampling."""
    w = make()
    assert not w.classes.active and w.docks["classes"].visibleRegion().isEmpty()
    w.controller.send(c.Reset(NAMES.replace(batch_size=4)))
    qtbot.waitUntil(lambda: w.info.head == "classify" and w.state == m.IDLE, timeout=20000)
    assert w.classes.active and not w.docks["classes"].visibleRegion().isEmpty()  # the raised tab
    assert w.docks["softmax"].windowTitle() == "Predicted language"
    w.toggle_training()
    qtbot.waitUntil(lambda: w.classes.report is not None, timeout=60000)
    w.toggle_training()
    qtbot.waitUntil(lambda: w.state == m.PAUSED, timeout=10000)  # no later report can replace it now
    rep = w.classes.report
    assert rep.step > 0 and rep.step % 200 == 0 and rep.evaluated == rep.total  # a validation every 200 steps
    np.testing.assert_allclose(shown_fractions(w.classes), np.round(100 * rep.fractions), atol=0.5)
    assert "names right" in w.classes.source.text()
    # the probe: after each character, the languages' probabilities, "as if the name ended there"
    w.text_strip.probe_edit.setText("Nakamura")
    w.text_strip._probe_entered()
    for k in range(3):
        w._probe_command("step_token")
        qtbot.waitUntil(lambda k=k: w.snapshot is not None and w.snapshot.length == k + 1, timeout=10000)
        assert f"after {k + 1} characters" in w.softmax.summary.text()
        assert "if the name ended here" in w.softmax.summary.text()
    bars = w.softmax.data()
    assert set(bars["labels"]) <= set(w.info.labels) and bars["probability"][0] == w.snapshot.top_probs[2][0]
    # the imbalance's remedies, in the settings (declared once in training/config.py)
    fields = w.settings_panel.fields
    assert w.settings_panel.form.isRowVisible(fields["class_weighting"].widget)
    fields["class_weighting"].widget.setChecked(True)
    sampling = fields["sampling"].widget
    sampling.setCurrentIndex(sampling.findData("balanced"))
    cfg = w.settings_panel.config()
    assert cfg.class_weighting and cfg.sampling == "balanced"


def test_a_loaded_runs_log_gives_the_overall_curve_and_the_next_validation_adds_to_it(qtbot, names_run):
    info, reports = names_run
    panel = ClassesPanel()
    qtbot.addWidget(panel)
    panel.set_model(info)
    empty = np.zeros(0)
    log = m.RunLog(m.MAIN, empty, empty, empty, empty, empty, np.array([5.0, 10.0]), np.array([1.0, 0.9]),
                   np.array([0.3, np.nan]))  # fmt: skip
    panel.load_log(log)
    steps, overall = panel.overall_curve.getData()
    assert steps.tolist() == [5.0] and overall.tolist() == [0.3]  # (a NaN accuracy is left out)
    panel.show_report(reports[0])
    steps, overall = panel.overall_curve.getData()
    assert steps.tolist() == [5.0, reports[0].step] and overall.tolist() == [0.3, reports[0].accuracy]
    x, y = panel.class_curves[0].getData()
    assert x.tolist() == [reports[0].step]  # the per-class curves start at the first ClassReport
