"""Each task's sequence panels say what they show (lab/wording.py), never 'true next' where it is wrong."""

import pytest

from rnnviz.lab.wording import wording_for
from rnnviz.training import TrainConfig


@pytest.mark.parametrize(
    "changes, title, target, sep",
    [
        (dict(task="lm", level="word"), "Next word", "true next word", " "),
        (dict(task="lm", level="char"), "Next character", "true next character", ""),
        (dict(task="toy"), "Next word", "true next word", " "),  # the toy sentence is read word by word
        (dict(task="classify"), "Predicted language", "true language", ""),
        (dict(task="longrange"), "Predicted symbol", "true symbol", ""),
        (dict(task="sine"), "Next value of the wave", "true next value", " · "),
        (dict(task="echo", delay=4), "Input from 4 steps ago", "input from 4 steps ago", " · "),
    ],
)
def test_each_task_names_what_its_panels_show(changes, title, target, sep):
    w = wording_for(TrainConfig(**changes).to_dict())
    assert (w.title, w.target, w.sep) == (title, target, sep)
    assert w.help and w.hint and w.axis and w.steps
    if changes["task"] in ("echo", "classify"):
        assert "next" not in f"{w.title} {w.axis} {w.target} {w.hint} {w.prediction} {w.per_step}"


def test_one_step_is_singular_and_an_unknown_model_reads_characters():
    assert wording_for(TrainConfig(task="echo", delay=1).to_dict()).title == "Input from 1 step ago"
    assert wording_for(None).title == "Next character"


def test_an_echo_config_without_its_delay_is_worded_with_the_default_delay():
    """A saved config that predates the field trains with TrainConfig's default: the panels say that one."""
    assert wording_for({"task": "echo"}).title == f"Input from {TrainConfig().delay} steps ago"
