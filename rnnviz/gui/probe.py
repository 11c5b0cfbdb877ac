"""The probe sentence: the text the user steps through token by token (no Qt here).

Each task gets a sensible default: a line of the corpus for a language model, a name for the names
classifier, one sample sequence for the long-range task, the sentence itself for the toy task, and a
fixed wave for the sine task (whose "tokens" are numbers, so the text is ignored).
"""

from __future__ import annotations

import numpy as np

from rnnviz.corpus import Task
from rnnviz.corpus.lm import TOY_SENTENCE

SINE_PROBE_STEPS = 50
SINE_PROBE_FREQUENCY = 0.05  # cycles per step: a period of 20 steps


def default_probe_text(task: Task) -> str:
    spec = task.spec
    if spec.name == "toy":
        return TOY_SENTENCE
    if spec.input_kind == "dense":
        return f"sin(2 pi {SINE_PROBE_FREQUENCY} t)"
    if spec.head == "lm":
        ids = getattr(task, "val_ids", None)
        if ids is None or len(ids) == 0:
            ids = task.train_ids
        text = spec.vocab.decode(ids[:4000])
        lines = [line.strip() for line in text.split("\n")]
        good = [line for line in lines[1:] if 25 <= len(line) <= 70] or [line for line in lines if line]
        return good[0] if good else text[:60]
    if spec.name == "names":
        return "Dostoevsky"
    if spec.name == "long_range":
        batch = next(task.val_batches())
        return spec.vocab.decode(batch.x[0])
    return "hello"


def encode_probe(task: Task, text: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(tokens, skipped)``: ids ``(n,)`` (or values ``(n, 1)`` for the sine task) and the typed
    characters or words the model does not know (left out)."""
    spec = task.spec
    if spec.input_kind == "dense":
        t = np.arange(SINE_PROBE_STEPS)
        return np.sin(2 * np.pi * SINE_PROBE_FREQUENCY * t)[:, None], ()
    vocab = spec.vocab
    return vocab.encode(text, errors="skip").astype(np.intp), tuple(vocab.unknown(text))
