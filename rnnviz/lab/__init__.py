"""The lab: runs, typed commands, one snapshot type, a step history, presets. Never imports Qt.

The app, the command line and the tests are front ends over it:

    lab.py        Lab: owns the runs, handles commands, emits events
    run.py        Run: a Trainer with an id, its step history and newest snapshot; its ModelInfo
    commands.py   what a front end can ask (Train, Pause, StepUpdate, ProbeForward, SetClip, ...)
    events.py     what the lab reports (StepScalars, ModelInfo, StateChanged, Problem, ...)
    snapshot.py   Snapshot: what every sequence panel draws, made from the engine's trace by one function
    probe.py      the probe sentence: a forward pass over the prefix read so far
    history.py    the bounded step history a paused user scrubs through
    presets.py    the lessons' starting settings
    classes.py    a classifier's validation for the Classes panel: confusion matrix, per-class accuracy, names
    wording.py    what the panels call things, per task ("Next token", "Predicted language")
    loop.py       the command loop of the app's training process
    blas.py       BLAS threads for a process that shares its cores with a window
"""

from rnnviz.lab import commands
from rnnviz.lab.events import MAIN
from rnnviz.lab.lab import Lab
from rnnviz.lab.snapshot import LayerSnapshot, Snapshot, make_snapshot

__all__ = ["MAIN", "Lab", "LayerSnapshot", "Snapshot", "commands", "make_snapshot"]
