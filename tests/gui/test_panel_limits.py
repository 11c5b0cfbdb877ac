"""The new panels' texts quote the lab's limits, never copies of them: change the limit and the text
follows (a copied number would go on saying the old one)."""

from rnnviz.gui.panels.softmax import SoftmaxPanel
from rnnviz.gui.panels.walkthrough import WalkthroughPanel
from rnnviz.lab import freerun as freerun_lab
from rnnviz.lab import walkthrough as walkthrough_lab


def test_walkthrough_help_and_free_run_tip_follow_the_labs_limits(qtbot, monkeypatch):
    monkeypatch.setattr(walkthrough_lab, "MAX_UNITS", 7)
    monkeypatch.setattr(freerun_lab, "FREE_RUN_PRIME", 13)
    walkthrough, softmax = WalkthroughPanel(), SoftmaxPanel()
    qtbot.addWidget(walkthrough)
    qtbot.addWidget(softmax)
    assert "at most 7 hidden units" in walkthrough.toolTip()
    assert softmax.free_run.button.toolTip().startswith("Read 13 values of the wave")
