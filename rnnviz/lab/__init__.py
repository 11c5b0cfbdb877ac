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
    spikes.py     spikes of the loss or gradient norm, and the weights kept to roll one back
    classes.py    a classifier's validation for the Classes panel: confusion matrix, per-class accuracy, names
    generation.py text a language model writes on request, and samples every N steps while training
    gradient_check.py  analytic against central-difference gradients of a few weights (Check gradients)
    walkthrough.py     every number of one training iteration of a small model (walkthrough_text.py: as
                       tables, CSV rows and hover formulas)
    freerun.py    the sine task's closed loop: its own predictions fed back as inputs
    wording.py    what the panels call things, per task ("Next word", "Predicted language")
    loop.py       the command loop of the app's training process
    blas.py       BLAS threads for a process that shares its cores with a window
"""

from rnnviz.lab import commands
from rnnviz.lab.events import MAIN
from rnnviz.lab.lab import Lab
from rnnviz.lab.snapshot import LayerSnapshot, Snapshot, make_snapshot

__all__ = ["MAIN", "Lab", "LayerSnapshot", "Snapshot", "commands", "make_snapshot"]
