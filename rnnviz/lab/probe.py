"""The probe: a sentence the user steps through token by token, read with a run's current weights.

Each task gets a sensible default text: a line of the corpus for a language model, a name for the names
classifier, one sample sequence for the long-range task, the sentence itself for the toy task, a
fixed wave for the sine task and fixed random values for the echo task (whose "tokens" are numbers,
so the text is ignored).

What a probe shows after ``position`` tokens is computed fresh from the weights every time
(:func:`probe_trace`): one forward pass over the prefix, the engine's own loss on the next tokens and
its BPTT, exactly as for a training batch of one row. The forward pass over a prefix gives the same
numbers as feeding the tokens one at a time (``engine.infer.step_token``; tests/lab/test_numbers.py),
so "step one token" is honest, and whatever training did meanwhile, the numbers are the current model's.
A character or word the model does not know is read as ``<unk>`` where the vocabulary has one, else
left out, and named either way (``Probe.skipped``). Limit: at most MAX_PROBE_TOKENS tokens are read
(the text strip shows how many there are: "n of N tokens read").
"""

from __future__ import annotations

import numpy as np

from rnnviz.corpus import UNK, Task, echo_targets
from rnnviz.corpus.lm import TOY_SENTENCE
from rnnviz.engine.model import backward, forward, loss
from rnnviz.engine.runtime import DEFAULT, Runtime
from rnnviz.engine.step import nonfinite_expected
from rnnviz.engine.trace import Trace, build_trace

SINE_PROBE_STEPS = 50
SINE_PROBE_FREQUENCY = 0.05  # cycles per step: a period of 20 steps
ECHO_PROBE_STEPS, ECHO_PROBE_SEED = 30, 11  # the echo probe: fixed values, uniform in [-1, 1] as in training
MAX_PROBE_TOKENS = 2000  # each step re-reads the prefix: ~1 ms per 30 tokens for the default LSTM


def default_probe_text(task: Task) -> str:
    spec = task.spec
    if spec.name == "toy":
        return TOY_SENTENCE
    if spec.name == "echo":
        return "random values in [-1, 1]"
    if spec.input_kind == "dense":
        return f"sin(2 pi {SINE_PROBE_FREQUENCY} t)"
    if spec.head == "lm":
        ids = getattr(task, "val_ids", None)
        if ids is None or len(ids) == 0:
            ids = task.train_ids
        text = spec.vocab.decode(ids[:4000])
        lines = [line.strip() for line in text.split("\n")]
        # a line the model reads without <unk> (a word-level text's rare words are): it can be typed back
        good = [line for line in lines[1:] if 25 <= len(line) <= 70 and UNK not in line] or [x for x in lines if x]
        return good[0] if good else text[:60]
    if spec.name == "names":
        return "Dostoevsky"
    if spec.name == "long_range":
        batch = next(task.val_batches())
        return spec.vocab.decode(batch.x[0])
    return "hello"


def encode_probe(task: Task, text: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(tokens, skipped)``: ids ``(n,)`` (or values ``(n, 1)`` for the sine and echo tasks) and the
    typed characters or words the model does not know (left out)."""
    spec = task.spec
    if spec.name == "echo":
        return np.random.default_rng(ECHO_PROBE_SEED).uniform(-1.0, 1.0, size=(ECHO_PROBE_STEPS, 1)), ()
    if spec.input_kind == "dense":
        return sine_wave(SINE_PROBE_STEPS)[:, None], ()
    vocab = spec.vocab
    ids = vocab.encode(text, errors="unk").astype(np.intp)[:MAX_PROBE_TOKENS]  # as training read them
    return ids, tuple(vocab.unknown(text))


def sine_wave(n: int) -> np.ndarray:
    """``(n,)`` the probe's wave, ``sin(2 pi f t)`` for t = 0..n-1 (f = SINE_PROBE_FREQUENCY)."""
    return np.sin(2 * np.pi * SINE_PROBE_FREQUENCY * np.arange(n))


class Probe:
    """The probe's text, its tokens and how many of them have been read (``position``)."""

    def __init__(self) -> None:
        self.text = ""
        self.task_name = ""  # the task the text was chosen for
        self.ids = np.zeros(0, np.intp)  # (n,) token ids, or (n, 1) values for the sine task
        self.skipped: tuple[str, ...] = ()
        self.position = 0

    def use_task(self, task: Task) -> None:
        """A new model: keep the text if it suits the task, else take the task's default; start over."""
        spec = task.spec
        fits = spec.vocab is not None and len(spec.vocab.encode(self.text, errors="skip")) > 0
        typed_first = self.task_name == "" and self.text  # typed before the first model was ready
        if not (fits and (spec.name == self.task_name or typed_first)):
            self.text, self.task_name = default_probe_text(task), spec.name
        self.set_text(task, self.text)

    def set_text(self, task: Task, text: str) -> None:
        self.text = text
        self.ids, self.skipped = encode_probe(task, text)
        self.position = 0

    def forward(self) -> None:
        self.position = min(self.position + 1, len(self.ids))

    def back(self) -> None:
        self.position = max(self.position - 1, 0)

    def restart(self) -> None:
        self.position = 0

    def known_targets(self, head: str, offset: int = 1) -> int:
        """How many of the steps read have a true target: the next token for ``offset`` 1 (the last token
        of the text has none), every step for an echo (``offset`` <= 0); a typed name has no known class."""
        if head == "classify":
            return 0
        return min(self.position, len(self.ids) - max(offset, 0))


def probe_trace(
    params: dict[str, np.ndarray], cfg, ids: np.ndarray, position: int, runtime: Runtime = DEFAULT, offset: int = 1
) -> Trace | None:
    """The trace of the probe's first ``position`` tokens, read from a zero state (None at position 0).

    For a language model or regression, the targets are the next tokens: where every step read has one,
    the loss is the engine's ``model.loss`` and the gradient views come from its BPTT (``backward``,
    states only). When the last token read has no next one, the targets stop a step short: its loss is
    not defined, so there are no gradient views (the snapshot marks that step's target unknown). A
    classifier's probe has no known class: probabilities only. ``offset`` (the task's
    ``TaskSpec.target_offset``) -d makes the targets the inputs from d steps ago (the echo task: zeros
    before the start, as in training), every one known.

    The probe reads whatever weights the run has, diverged ones too (a run paused on a NaN step keeps
    its last good weights, which may already be huge): their NaN and infinities are expected and go
    into the snapshot, whose panels leave them out; the pause message has said why.
    """
    if position == 0:
        return None
    with nonfinite_expected():
        return _probe_trace(params, cfg, ids, position, runtime, offset)


def _probe_trace(
    params: dict[str, np.ndarray], cfg, ids: np.ndarray, position: int, runtime: Runtime, offset: int
) -> Trace:
    x = ids[None, :position]  # (1, T) ids or (1, T, I) values
    fp = forward(params, cfg, x, runtime=runtime)
    if cfg.head == "classify":
        return build_trace(params, fp, None, None, None, {}, None, row=0, gradients=False, mechanism=True)
    if offset <= 0:  # the echo: every step read has its target
        y = echo_targets(x, -offset)  # (1, T, I)
        res = loss(fp, y)
        return _with_gradients(params, fp, y, res)
    nxt = ids[1 : position + 1]
    complete = len(nxt) == position
    if not complete:  # a stand-in target for the last step: its loss is never shown (known_targets)
        nxt = np.concatenate([nxt, np.zeros_like(ids[:1])])
    y = nxt[None]  # (1, T) or (1, T, O)
    res = loss(fp, y)
    if not complete:
        return build_trace(params, fp, y, res.per_step, None, {}, None, row=0, gradients=False, mechanism=True)
    return _with_gradients(params, fp, y, res)


def _with_gradients(params, fp, y, res) -> Trace:
    """The trace of a probe whose every step read has a target: with the gradient views of its BPTT."""
    bw = backward(params, fp, res.dout, param_grads=False)
    dh = [lg.dh for lg in bw.layers]
    return build_trace(params, fp, y, res.per_step, dh, {}, None, row=0, gradients=True, mechanism=True)
