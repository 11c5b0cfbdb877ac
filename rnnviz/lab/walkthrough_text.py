"""The walkthrough as tables: its per-step quantities (one list, which the app's panel, the text and
the CSV all read), the text a teacher hands out (``rnnviz walkthrough``) and the CSV rows.

CSV: one row per number, ``t,quantity,index,value``. ``t`` is the 0-based time step (-1: the initial
state; empty for what is not per step: the accumulated gradients, the losses' means, the update);
``index`` is empty for a single number, ``i`` for a vector, ``i,j`` for a matrix, in the engine's
layout (row vectors: ``dW_xh[i, j]`` is input i to unit j). Quantities: ``x``, ``y`` (token ids),
``x_onehot`` or ``x_embed``, ``h``, ``c`` and ``gate_<k>`` (LSTM, GRU), ``logits``, ``probs``,
``loss``, ``dy``, ``dh``, ``dh_raw`` (vanilla RNN; the gated cells' ``dz_<k>``), ``dh_next``,
``dc_next`` (LSTM); ``dW_xh``, ``dW_hh``, ``dW_hy``, ``db_h``, ``db_y`` (``db_hh`` GRU, ``dE``
embedding) accumulated before clipping; ``loss_mean``, ``update_<W>`` (new - old weight) and
``loss_after``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.engine.cells import get_cell
from rnnviz.lab.walkthrough import (
    GRADIENT_FORMULAS,
    TUTORIAL_NAMES,
    Walkthrough,
    clip_words,
    dz_names,
    gradient_name,
    update_words,
)

SECTIONS = ("forward", "backward")


@dataclass(frozen=True)
class Quantity:
    """One per-step quantity: ``values[t]`` its numbers at step t, ``index_labels`` what each is."""

    key: str  # the CSV's name: "h", "probs", "dh_raw", "dz_f"...
    section: str  # "forward" or "backward"
    label: str  # how a table names it
    formula: str
    values: np.ndarray  # (T, n)
    index_labels: tuple[str, ...]  # (n,) unit numbers or token labels; ("",) for a single number
    kind: str  # "token" (an id), "vector", "scalar"


def quantities(w: Walkthrough) -> tuple[Quantity, ...]:
    """Every per-step quantity of ``w``, forward then backward, in the order a table shows them."""
    T, H = w.T, w.H
    eq = get_cell(w.cell).EQUATIONS
    units = tuple(str(i) for i in range(H))
    tokens = w.labels
    one = ("",)
    out = [
        Quantity("x", "forward", "x_t (input)", "the token read at step t", w.x[:, None], one, "token"),
        Quantity("y", "forward", "y_t (target)", "the next token: what step t should predict", w.y[:, None], one,
                 "token"),
    ]  # fmt: skip
    if w.input_kind == "onehot":
        out.append(Quantity("x_onehot", "forward", "one-hot x_t", "1 at the token read, 0 elsewhere", w.inputs, tokens,
                            "vector"))  # fmt: skip
    else:
        out.append(Quantity("x_embed", "forward", "x_t = E[x_t]", "the embedding row of the token read", w.inputs,
                            tuple(str(i) for i in range(w.inputs.shape[1])), "vector"))  # fmt: skip
    if w.gates is not None:
        for k, g in enumerate(w.gate_names):
            out.append(Quantity(f"gate_{g}", "forward", f"gate {g}", eq["gates"], w.gates[:, k], units, "vector"))
    if w.c is not None:
        out.append(Quantity("c", "forward", "c_t", eq["c"], w.c[1:], units, "vector"))
    out += [
        Quantity("h", "forward", "h_t", eq["h"], w.h[1:], units, "vector"),
        Quantity("logits", "forward", "logits", "logits_t = h_t W_hy + b_y", w.logits, tokens, "vector"),
        Quantity("probs", "forward", "p = softmax", "p_t = exp(logits_t) / sum(exp(logits_t))", w.probs, tokens,
                 "vector"),
        Quantity("loss", "forward", "loss_t", "loss_t = -log p_t[y_t]", w.losses[:, None], one, "scalar"),
        Quantity("dy", "backward", "dy", f"dy = (p - onehot(y)) / {T}  (the loss is the mean over {T} steps)", w.dy,
                 tokens, "vector"),
        Quantity("dh", "backward", "dh", "dh = dy W_hy^T + dh_next  (dh_next from step t+1; none at the last step)",
                 w.dh, units, "vector"),
    ]  # fmt: skip
    for k, (name, formula) in enumerate(zip(dz_names(w), eq["dz"], strict=True)):
        out.append(Quantity(name, "backward", name, formula, w.dz[:, k * H : (k + 1) * H], units, "vector"))
    dh_next = eq["dh_next"] + "  (to step t-1)"
    out.append(Quantity("dh_next", "backward", "dh_next", dh_next, w.dh_next, units, "vector"))
    if w.dc_next is not None:
        out.append(Quantity("dc_next", "backward", "dc_next", eq["dc_next"], w.dc_next, units, "vector"))
    return tuple(out)


def explain(w: Walkthrough, q: Quantity, t: int, i: int) -> str:
    """Where number ``i`` of quantity ``q`` at step ``t`` comes from, in a few lines: its formula and,
    for the elementwise ones, the formula with the numbers it was made of (what a hover shows)."""
    v = float(q.values[t, i])
    name = q.label if q.kind != "vector" else f"{q.label}[{q.index_labels[i]}]"
    lines = [f"{name} at t = {t}", q.formula]
    T, y = w.T, int(w.y[t])
    if q.key in ("x", "y"):
        tok = int(q.values[t, 0])
        return "\n".join([*lines, f"= {w.token(tok)!r} (id {tok})"])
    if q.key == "probs":
        lines.append(f"= exp({w.logits[t, i]:.4f}) / {np.exp(w.logits[t]).sum():.4f}")
    elif q.key == "loss":
        lines.append(f"= -log p_t[{w.token(y)!r}] = -log {w.probs[t, y]:.4f}")
    elif q.key == "dy":
        lines.append(f"= ({w.probs[t, i]:.4f} - {int(i == y)}) / {T}")
    elif q.key == "dh":
        later = float(w.dh_next[t + 1, i]) if t + 1 < T else 0.0
        lines.append(f"= {w.dh_above[t, i]:.4f} (dy W_hy^T) + {later:.4f} (dh_next of t = {t + 1})")
    elif q.key == "dh_raw":
        lines.append(f"= (1 - {w.h[t + 1, i]:.4f}^2) * {w.dh[t, i]:.4f}")
    lines.append(f"= {v:.6g}")
    return "\n".join(lines)


# -- CSV --------------------------------------------------------------------------------------------


def _v(x) -> str:
    return repr(float(x))


def csv_rows(w: Walkthrough) -> list[list[str]]:
    """Every number of ``w`` as ``[t, quantity, index, value]`` rows, a header row first."""
    rows: list[list[str]] = [["t", "quantity", "index", "value"]]
    rows += [["-1", "h", str(i), _v(v)] for i, v in enumerate(w.h[0])]  # the initial state
    if w.c is not None:
        rows += [["-1", "c", str(i), _v(v)] for i, v in enumerate(w.c[0])]
    qs = quantities(w)
    for t in range(w.T):
        for q in qs:
            if q.kind == "token":
                rows.append([str(t), q.key, "", str(int(q.values[t, 0]))])
            elif q.kind == "scalar":
                rows.append([str(t), q.key, "", _v(q.values[t, 0])])
            else:
                rows += [[str(t), q.key, str(i), _v(v)] for i, v in enumerate(q.values[t])]
    rows.append(["", "loss_mean", "", _v(w.loss)])
    for name, g in w.grads.items():
        rows += _array_rows(gradient_name(name), g)
    for name, d in w.update.items():
        rows += _array_rows("update_" + TUTORIAL_NAMES.get(name, name), d)
    rows.append(["", "loss_after", "", _v(w.loss_after)])
    return rows


def _array_rows(quantity: str, a: np.ndarray) -> list[list[str]]:
    if a.ndim == 1:
        return [["", quantity, str(i), _v(v)] for i, v in enumerate(a)]
    return [["", quantity, f"{i},{j}", _v(a[i, j])] for i in range(a.shape[0]) for j in range(a.shape[1])]


# -- text -------------------------------------------------------------------------------------------

NUMBER = "{:9.4f}"  # fixed width, four decimals: columns line up on paper and on a projector
WIDTH = 9


def _row(label: str, values, label_width: int) -> str:
    return label.ljust(label_width) + "".join(NUMBER.format(float(v)) for v in values)


def _header(labels, label_width: int) -> str:
    return " " * label_width + "".join(str(s)[: WIDTH - 1].rjust(WIDTH) for s in labels)


def _matrix(title: str, a: np.ndarray, rows: tuple[str, ...], cols: tuple[str, ...]) -> list[str]:
    a = a.reshape(1, -1) if a.ndim == 1 else a
    lw = max(8, *(len(r) + 2 for r in rows))
    return [title, _header(cols, lw), *(_row(f"  {r}", a[i], lw) for i, r in enumerate(rows))]


def axes(w: Walkthrough, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Row and column labels of parameter ``name``: tokens on the vocabulary's axes, units elsewhere
    (gate blocks side by side for the gated cells: i0 i1 ... f0 f1 ...)."""
    units = tuple(str(i) for i in range(w.H))
    gate_units = units if w.cell == "rnn" else tuple(f"{g}{i}" for g in w.gate_names for i in range(w.H))
    dims = tuple(str(i) for i in range(w.inputs.shape[1]))
    inputs = w.labels if w.input_kind == "onehot" else dims
    return {
        "embed.E": (w.labels, dims),
        "layer0.W_xh": (inputs, gate_units),
        "layer0.W_hh": (units, gate_units),
        "layer0.b_h": (("",), gate_units),
        "layer0.b_hh": (("",), gate_units),
        "head.W_hy": (units, w.labels),
        "head.b_y": (("",), w.labels),
    }[name]


def format_text(w: Walkthrough, title: str = "") -> str:
    """The walkthrough as plain text, the tutorial's layout: the weights, then per step the forward
    numbers, the loss, per step (last first) the backward numbers, the gradients, clipping, the update."""
    cell = get_cell(w.cell)
    T = w.T
    read = " ".join(w.token(i) for i in w.x)
    target = " ".join(w.token(i) for i in w.y)
    lines = [
        title or f"Walkthrough of one training iteration: {cell.NAME}, {w.H} hidden units, {len(w.labels)} tokens",
        f"Sequence: {read!r} -> {target!r} ({T} steps)",
        "Row vectors, as the engine computes: x_t W_xh is the tutorial's W_xh x_t, and W_hy is H x V here.",
        f"The loss is the mean of -log p over the {T} steps, so dy = (p - onehot(y)) / {T}.",
        "",
        "WEIGHTS (engine name = tutorial name)",
    ]
    for name, a in w.weights.items():
        r, c = axes(w, name)
        lines += _matrix(f"{TUTORIAL_NAMES.get(name, name)}  ({name}, {' x '.join(map(str, a.shape))})", a, r, c)
    qs = quantities(w)
    lw = max(len(q.label) for q in qs) + 4
    by_section = {s: [q for q in qs if q.section == s and q.kind != "token"] for s in SECTIONS}
    lines += ["", "FORWARD", *_formulas(by_section["forward"])]
    for t in range(T):
        lines += ["", _step_title(w, t)]
        lines += _vectors(by_section["forward"], t, lw)
    lines += ["", f"LOSS = mean of loss_t = {w.loss:.4f}", "", f"BACKWARD (t = {T - 1} down to 0)"]
    lines += _formulas(by_section["backward"])
    for t in range(T - 1, -1, -1):
        lines += ["", _step_title(w, t)]
        lines += _vectors(by_section["backward"], t, lw)
    lines += ["", f"GRADIENTS (accumulated over the {T} steps, before clipping)"]
    for name, g in w.grads.items():
        r, c = axes(w, name)
        lines += _matrix(f"{GRADIENT_FORMULAS[name]}   ({name})", g, r, c)
    lines += ["", f"CLIPPING ({w.clip.config}): {clip_words(w.clip)}", "", f"UPDATE ({update_words(w)})"]
    for name, d in w.update.items():
        r, c = axes(w, name)
        lines += _matrix(f"change of {TUTORIAL_NAMES[name]} (new - old)", d, r, c)
    lines += ["", f"LOSS ON THIS SEQUENCE: {w.loss:.4f} before the update, {w.loss_after:.4f} after"]
    return "\n".join(lines) + "\n"


def _formulas(qs: list[Quantity]) -> list[str]:
    """Each formula once (the gates share one), with the name of the first quantity it gives."""
    first = {}
    for q in qs:
        first.setdefault(q.formula, q.label)
    return [f"  {label}: {formula}" for formula, label in first.items()]


def _step_title(w: Walkthrough, t: int) -> str:
    return f"t = {t}   read {w.token(w.x[t])!r} (id {int(w.x[t])}), target {w.token(w.y[t])!r} (id {int(w.y[t])})"


def _vectors(qs: list[Quantity], t: int, lw: int) -> list[str]:
    out = []
    header = None
    for q in qs:
        if q.kind == "vector" and q.index_labels != header:  # a header line where the columns change meaning
            header = q.index_labels
            out.append(_header(header, lw))
        out.append(_row(f"  {q.label}", q.values[t], lw))
    return out
