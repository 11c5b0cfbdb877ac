"""Gradient check: analytic BPTT gradients against central finite differences.

    report = gradcheck(cfg, rng=np.random.default_rng(0))
    report.worst            # largest relative error over every parameter (and the carried state)

The relative error of a parameter is ``||g_analytic - g_numeric|| / (||g_analytic|| + ||g_numeric||)``
over all its entries: scale-free, and not fooled by entries that are zero in both. Central differences
``(L(w + eps) - L(w - eps)) / (2 eps)`` have error O(eps^2); in float64 with eps = 1e-5 a correct
gradient gives about 1e-9 or less, a wrong one 1e-2 or more.

Limits: checks run in float64 only (float32 rounding swamps the differences); every entry is
perturbed unless ``max_entries`` caps it (then a random subset, drawn from ``rng``).

:func:`check_entries` is the same comparison for a few chosen entries, one number each (the app's
*Check gradients* shows them side by side). One entry's relative error is
``|a - n| / max(|a| + |n|, TINY)``. Why the floor: the numeric gradient is the difference of two
losses, each known to about 1e-16 of itself after a forward pass of many roundings, divided by
2 eps = 2e-5, so it carries an absolute error of ~1e-11..1e-10 (measured: up to 5e-11 for an LSTM
with H = 48). Divided by its own size, a right gradient of 1e-9 would look 10% wrong; measured against
TINY = 1e-6, rounding alone stays below 1e-4, while a wrong backward pass gives 1e-2 or more.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from rnnviz.engine import cells
from rnnviz.engine.config import HEADS, INPUTS, ModelConfig, init_params
from rnnviz.engine.model import State, backward, forward, loss, zero_state

CELLS = tuple(cells.CELLS)  # every cell of the registry


def combinations(cells=CELLS, heads=HEADS, layer_counts=(1, 2)) -> list[tuple[str, str, int, str]]:
    """Every ``(cell, head, layers, input)`` worth checking: a language model reads tokens, never
    dense vectors."""
    return [
        (cell, head, layers, inp)
        for cell, head, layers, inp in itertools.product(cells, heads, layer_counts, INPUTS)
        if not (head == "lm" and inp == "dense")
    ]


def small_config(cell: str, head: str, layers: int, inp: str, dropout: float = 0.0) -> ModelConfig:
    """A model small enough to perturb every weight (H=5), with a recurrent gain above 1 so the
    Jacobians are not all contracting."""
    return ModelConfig(
        cell=cell,
        head=head,
        num_layers=layers,
        input=inp,
        vocab_size=7,
        input_size=3,
        embed_size=4,
        hidden_size=5,
        output_size=4,
        dropout=dropout,
        recurrent_gain=1.2,
    )


@dataclass
class Problem:
    """A batch to differentiate: inputs, targets and the optional extras."""

    x: np.ndarray
    y: np.ndarray
    lengths: np.ndarray | None = None
    state: State | None = None
    dropout_masks: list[np.ndarray | None] | None = None
    class_weights: np.ndarray | None = None


def random_problem(
    cfg: ModelConfig, rng: np.random.Generator, batch: int = 3, steps: int = 5, carried_state: bool = True
) -> Problem:
    """A small random batch that exercises every feature ``cfg`` has.

    Classification rows get different lengths (padding is exercised), the initial state is random
    (the carried state of truncated BPTT) and, with dropout, a fixed random mask is drawn.
    """
    B, T = batch, steps
    if cfg.input == "dense":
        x = rng.standard_normal((B, T, cfg.input_size))
    else:
        x = rng.integers(0, cfg.vocab_size, (B, T))
    lengths = None
    class_weights = None
    if cfg.head == "lm":
        y = rng.integers(0, cfg.vocab_size, (B, T))
    elif cfg.head == "classify":
        y = rng.integers(0, cfg.output_size, B)
        lengths = rng.integers(1, T + 1, B)
        lengths[0] = T
        class_weights = rng.uniform(0.5, 2.0, cfg.output_size)
    else:
        y = rng.standard_normal((B, T, cfg.output_size))
    state = None
    if carried_state:
        state = [
            (0.5 * rng.standard_normal((B, cfg.hidden_size)), None if c is None else 0.5 * rng.standard_normal(c.shape))
            for _, c in zero_state(cfg, B)
        ]
    masks = None
    if cfg.dropout > 0:
        keep = 1.0 - cfg.dropout
        masks = [None] + [(rng.random((T, B, cfg.hidden_size)) < keep) / keep for _ in range(cfg.num_layers - 1)]
    return Problem(x, y, lengths, state, masks, class_weights)


@dataclass
class GradCheckReport:
    errors: dict[str, float]  # relative error per parameter (and "state.h{l}" / "state.c{l}")
    worst_name: str = field(init=False)
    worst: float = field(init=False)

    def __post_init__(self) -> None:
        self.worst_name = max(self.errors, key=self.errors.get)
        self.worst = self.errors[self.worst_name]

    def format(self) -> str:
        width = max(map(len, self.errors))
        lines = [f"{name:<{width}}  {err:.2e}" for name, err in self.errors.items()]
        lines.append(f"worst: {self.worst_name} {self.worst:.2e}")
        return "\n".join(lines)


TINY = 1e-6  # gradients below this are measured against it: a central difference is that coarse (docstring)


def entry_errors(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Per entry ``|a - n| / max(|a| + |n|, TINY)`` of analytic ``a (n,)`` and numeric ``n (n,)``."""
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), TINY)


def _relative_error(a: np.ndarray, n: np.ndarray) -> float:
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if denom == 0.0 else float(np.linalg.norm(a - n) / denom)


def gradcheck(
    cfg: ModelConfig,
    params: dict[str, np.ndarray] | None = None,
    problem: Problem | None = None,
    *,
    rng: np.random.Generator,
    eps: float = 1e-5,
    max_entries: int | None = None,
) -> GradCheckReport:
    """Compare ``backward`` with central differences of ``loss`` for every parameter and the initial state.

    Missing ``params`` / ``problem`` are drawn from ``rng`` (see :func:`random_problem`).
    """
    cfg = cfg.replace(dtype="float64")
    params = init_params(cfg, rng) if params is None else {k: v.astype(np.float64) for k, v in params.items()}
    problem = random_problem(cfg, rng) if problem is None else problem

    def run(state=problem.state):
        fp = forward(params, cfg, problem.x, state=state, lengths=problem.lengths, dropout_masks=problem.dropout_masks)
        return fp, loss(fp, problem.y, problem.class_weights)

    fp, lr = run()
    bw = backward(params, fp, lr.dout)

    def numeric(array: np.ndarray, f) -> np.ndarray:
        """Central differences of f() with respect to the entries of ``array`` (perturbed in place)."""
        g = np.zeros_like(array)
        flat, gflat = array.reshape(-1), g.reshape(-1)
        idx = np.arange(flat.size)
        if max_entries is not None and flat.size > max_entries:
            idx = np.sort(rng.choice(flat.size, max_entries, replace=False))
        for k in idx:
            gflat[k] = _central_difference(flat, k, f, eps)
        return g, idx

    errors: dict[str, float] = {}
    for name, value in params.items():
        num, idx = numeric(value, lambda: run()[1].loss)
        errors[name] = _relative_error(bw.grads[name].reshape(-1)[idx], num.reshape(-1)[idx])
    if problem.state is not None:
        state = [(h.copy(), None if c is None else c.copy()) for h, c in problem.state]
        for layer, (h, c) in enumerate(state):
            num, _ = numeric(h, lambda: run(state)[1].loss)
            errors[f"state.h{layer}"] = _relative_error(bw.layers[layer].dh0, num)
            if c is not None:
                num, _ = numeric(c, lambda: run(state)[1].loss)
                errors[f"state.c{layer}"] = _relative_error(bw.layers[layer].dc0, num)
    return GradCheckReport(errors)


def _central_difference(flat: np.ndarray, k: int, f, eps: float) -> float:
    """``(f(w + eps) - f(w - eps)) / (2 eps)`` for entry ``k`` of ``flat``, which is put back exactly."""
    old = flat[k]
    flat[k] = old + eps
    up = f()
    flat[k] = old - eps
    down = f()
    flat[k] = old
    return (up - down) / (2 * eps)


@dataclass(frozen=True)
class EntryCheck:
    """Analytic and numeric gradients of chosen parameter entries (float64), and their errors."""

    names: tuple[str, ...]  # (n,) the parameter of each entry
    index: np.ndarray  # (n,) the entry's flat index in its parameter
    analytic: np.ndarray  # (n,) dL/dw from backward
    numeric: np.ndarray  # (n,) central difference
    errors: np.ndarray  # (n,) entry_errors(analytic, numeric)
    loss: float  # the loss differentiated


def check_entries(
    cfg: ModelConfig,
    params: dict[str, np.ndarray],
    problem: Problem,
    entries: list[tuple[str, int]],
    eps: float = 1e-5,
) -> EntryCheck:
    """``backward``'s gradient of the entries ``(name, flat index)`` against central differences of
    ``loss`` on ``problem``, in float64 on copies: ``params`` are only read. Costs one forward and
    backward pass plus two forward passes per entry."""
    cfg = cfg.replace(dtype="float64")
    params = {k: v.astype(np.float64) for k, v in params.items()}  # (copies: perturbed below, put back)

    def run():
        fp = forward(params, cfg, problem.x, state=problem.state, lengths=problem.lengths,
                     dropout_masks=problem.dropout_masks)  # fmt: skip
        return fp, loss(fp, problem.y, problem.class_weights)

    fp, lr = run()
    grads = backward(params, fp, lr.dout).grads
    analytic = np.array([grads[name].reshape(-1)[k] for name, k in entries], np.float64)
    numeric = np.array(
        [_central_difference(params[name].reshape(-1), k, lambda: run()[1].loss, eps) for name, k in entries],
        np.float64,
    )
    names = tuple(name for name, _ in entries)
    index = np.array([k for _, k in entries], np.intp)
    return EntryCheck(names, index, analytic, numeric, entry_errors(analytic, numeric), float(lr.loss))
