"""Each task's sequence panels say what they show (lab/wording.py), never 'true next' where it is wrong."""

import pytest

from rnnviz.lab.wording import wording


@pytest.mark.parametrize(
    "task, head, level, delay, title, target",
    [
        ("lm", "lm", "word", 0, "Next word", "true next word"),
        ("lm", "lm", "char", 0, "Next character", "true next character"),
        ("toy", "lm", "word", 0, "Next token", "true next token"),
        ("classify", "classify", "char", 0, "Predicted class", "true class"),
        ("sine", "regress", "char", 0, "Next value of the wave", "true next value"),
        ("echo", "regress", "char", 4, "Input from 4 steps ago", "input from 4 steps ago"),
    ],
)
def test_each_task_names_what_its_panels_show(task, head, level, delay, title, target):
    w = wording(task, head, level, delay)
    assert (w.title, w.target) == (title, target)
    if task == "echo":
        assert "next" not in f"{w.title} {w.axis} {w.target} {w.hint} {w.prediction}"
    assert wording("echo", "regress", delay=1).target == "input from 1 step ago"


def test_one_step_is_singular():
    assert wording("echo", "regress", delay=1).title == "Input from 1 step ago"
