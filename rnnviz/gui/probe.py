"""The probe sentence: the text the user steps through token by token (no Qt here: it runs in the
training process).

Each task gets a sensible default: a line of the corpus for a language model, a name for the names
classifier, one sample sequence for the long-range task, the sentence itself for the toy task, and a
fixed wave for the sine task (whose "tokens" are numbers, so the text is ignored).
"""

from __future__ import annotations

import numpy as np

from rnnviz.corpus import Task
from rnnviz.corpus.lm import TOY_SENTENCE
from rnnviz.engine.infer import step_token
from rnnviz.engine.model import softmax
from rnnviz.gui.messages import ProbeView

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


class ProbeSession:
    """The probe sentence, fed token by token with the current weights (the training process's side).

    ``steps`` holds one :class:`~rnnviz.engine.infer.TokenStep` per token read. When the weights have
    changed since (training went on), the next step first recomputes the tokens already read with the
    new weights, so every number shown comes from the current model.
    """

    def __init__(self) -> None:
        self.text = ""
        self.task_name = ""  # the task the text was chosen for
        self.ids = np.zeros(0, np.intp)  # (n,) token ids, or (n, 1) values for the sine task
        self.skipped: tuple[str, ...] = ()
        self.steps: list = []
        self.version = -1  # optimizer step of the weights the steps were computed with

    def use_task(self, task: Task) -> None:
        """A new model: keep the text if it suits the task, else take the task's default; start over."""
        spec = task.spec
        fits = spec.vocab is not None and len(spec.vocab.encode(self.text, errors="skip")) > 0
        if spec.name != self.task_name or not fits:
            self.text, self.task_name = default_probe_text(task), spec.name
        self.set_text(task, self.text)

    def set_text(self, task: Task, text: str) -> None:
        self.text = text
        self.ids, self.skipped = encode_probe(task, text)
        self.steps = []
        self.version = -1

    def act(self, trainer, action: str) -> None:
        """``action``: "step_token" (read one more), "step_back" or "probe_restart"."""
        if trainer.opt.step != self.version:  # the weights changed: recompute the prefix with them
            fed = len(self.steps)
            self.steps = []
            for _ in range(fed):
                self._feed(trainer)
            self.version = trainer.opt.step
        if action == "step_token":
            if len(self.steps) < len(self.ids):
                self._feed(trainer)
        elif action == "step_back":
            if self.steps:
                self.steps.pop()
        else:
            self.steps = []

    def _feed(self, trainer) -> None:
        state = self.steps[-1].state if self.steps else None
        token = self.ids[len(self.steps)]
        self.steps.append(step_token(trainer.params, trainer.model_cfg, token, state))

    def view(self, trainer, labels: tuple[str, ...] | None) -> ProbeView:
        """The snapshot the panels draw; ``labels`` are the vocabulary's visible labels (None: numbers)."""
        cfg = trainer.model_cfg
        steps, pos = self.steps, len(self.steps)
        H, G = cfg.hidden_size, cfg.gates

        def stack(get, shape):
            return np.array([get(s) for s in steps]) if steps else np.zeros((0, *shape))

        layers = range(cfg.num_layers)
        hs = tuple(stack(lambda s, i=i: s.hs[i], (H,)) for i in layers)
        cs = tuple(stack(lambda s, i=i: s.cs[i], (H,)) if cfg.cell == "lstm" else None for i in layers)
        acts = tuple(stack(lambda s, i=i: s.acts[i], (G, H)) for i in layers)
        last = steps[-1] if steps else None
        head = cfg.head
        probs = None if last is None or last.probs is None else last.probs.copy()
        predictions = stack(lambda s: s.logits, (cfg.n_out,)) if head == "regress" else None
        true_next = true_nll = None
        if pos < len(self.ids) and head in ("lm", "regress"):
            nxt = self.ids[pos]
            true_next = int(nxt) if head == "lm" else float(np.asarray(nxt).reshape(-1)[0])
        if head == "lm" and last is not None and true_next is not None:
            logits = last.logits.astype(np.float64)
            _, log_z = softmax(logits[None])
            true_nll = float(log_z[0] - logits[true_next])  # -log p(next), exactly as the loss computes it
        if np.asarray(self.ids).ndim == 1:  # token ids: their labels, or the ids themselves
            shown = tuple(labels[int(i)] if labels is not None else str(int(i)) for i in self.ids)
        else:  # dense inputs (T, D): the first feature
            shown = tuple(f"{float(v[0]):+.2f}" for v in self.ids)
        return ProbeView(
            labels=shown, ids=np.array(self.ids), position=pos, hs=hs, cs=cs, acts=acts, probs=probs,
            true_nll=true_nll, predictions=predictions, true_next=true_next, skipped=self.skipped,
        )  # fmt: skip
