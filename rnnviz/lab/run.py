"""One training run of the lab, and what the lab says about it (its ModelInfo, its per-step numbers)."""

from __future__ import annotations

import numpy as np

from rnnviz.engine.cells import get_cell
from rnnviz.lab import events as e
from rnnviz.lab.history import SnapshotHistory
from rnnviz.lab.snapshot import Snapshot
from rnnviz.lab.spikes import GoodWeights, WeightsRing
from rnnviz.training import StepReport, Trainer


class Run:
    """One training run: its trainer, its step history and the newest training snapshot made."""

    def __init__(self, run_id: str, trainer: Trainer, history_budget: int):
        self.id = run_id
        self.trainer = trainer
        self.history = SnapshotHistory(history_budget)
        self.snapshot: Snapshot | None = None
        self.weights = WeightsRing()  # the weights before the newest few steps (Roll back after a spike)
        self.good = GoodWeights()  # the weights before the newest calm step (Roll back after a NaN)
        self.spike_quiet_until = 0  # no spike is called up to this step (just after one)
        vocab = trainer.task.spec.vocab
        self.token_labels = vocab.labels() if vocab is not None else None  # visible label of each token id

    def layer_shapes(self) -> tuple[tuple[int, int, bool], ...]:
        """Per layer ``(H, G, has_cell_state)``: the shape of an empty snapshot."""
        cfg = self.trainer.model_cfg
        cell = get_cell(cfg.cell)
        return tuple((cfg.hidden_size, len(cell.GATES), cell.HAS_CELL_STATE) for _ in range(cfg.num_layers))

    def input_labels(self, x: np.ndarray) -> tuple[str, ...]:
        """How each input is shown: its token's label, or for dense input its first value."""
        if self.token_labels is None:
            # one decimal place, as a student reads a wave (the text strip puts " · " between them)
            return tuple(f"{float(np.asarray(v).reshape(-1)[0]):+.1f}" for v in x)
        labels = self.token_labels
        return tuple(labels[int(i)] for i in np.asarray(x).reshape(-1))


def model_info(run: Run, probe_text: str, label: str = "") -> e.ModelInfo:
    """What the panels need to label ``run``'s model; the cell facts come from the cell registry."""
    t = run.trainer
    spec, cfg = t.task.spec, t.model_cfg
    cell = get_cell(cfg.cell)
    labels: tuple[str, ...] = ()
    if spec.head == "lm":
        labels = run.token_labels
    elif spec.head == "classify":
        labels = tuple(spec.class_names)
    return e.ModelInfo(
        run=run.id, title=spec.title, head=spec.head, cell=cfg.cell, cell_name=cell.NAME, layers=cfg.num_layers,
        hidden=cfg.hidden_size, gate_names=cell.GATES, gate_labels=cell.GATE_LABELS,
        gate_ranges=cell.GATE_RANGES, has_cell_state=cell.HAS_CELL_STATE, gates_are_h=cell.ACT_IS_H,
        labels=labels, notes=tuple(t.task.notes), batches_per_epoch=t.task.batches_per_epoch,
        batch_rows=int(getattr(t.task, "batch_size", t.cfg.batch_size)),
        config=t.cfg.to_dict(), probe_text=probe_text, step=t.step, label=label,
        param_shapes=tuple((name, tuple(w.shape)) for name, w in t.params.items()),
    )  # fmt: skip


def step_scalars(run_id: str, r: StepReport) -> e.StepScalars:
    """The per-step numbers of a training step, as they travel to the front end."""
    return e.StepScalars(
        run=run_id, step=r.step, progress=r.progress, loss=r.loss, grad_norm=r.grad_norm,
        clipped_norm=r.clipped_norm, clipped=r.clipped, lr=r.lr, tokens=r.tokens,
    )  # fmt: skip
