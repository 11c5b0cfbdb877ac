"""The network: input (one-hot, embedding or dense) -> 1..3 recurrent layers -> head, and BPTT.

    fp = forward(params, cfg, x, state=..., lengths=..., dropout_rng=...)   # ForwardPass
    lr = loss(fp, y)                                                       # LossResult: loss, dL/d(out)
    g  = backward(params, fp, lr.dout)                                     # Backward: grads + dL/dh_t

Inputs are batch-major like the data, ``x (B, T)`` token ids or ``(B, T, I)`` floats; everything inside
is time-major (``(T, B, ...)``), so one time step is one contiguous block.

Heads (``cfg.head``):
    "lm"        logits ``(T, B, V)`` at every step; loss = mean over the T*B tokens of -log p(y).
    "classify"  logits ``(B, K)`` from the state after each row's last real step (``lengths``; rows
                are right-padded, and padding after a row's end never reaches its loss); loss = mean
                of -log p(y) over rows, optionally weighted by class.
    "regress"   outputs ``(T, B, O)`` at every step; loss = mean squared error over every entry.

Truncated BPTT: ``state`` is the final state of the previous chunk. It enters as h_0 (and c_0) but is
a constant here: no gradient flows into the previous chunk (its gradient is reported as ``dh0``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.engine.buffers import FRESH
from rnnviz.engine.cells import get_cell
from rnnviz.engine.config import ModelConfig
from rnnviz.engine.layer import (
    LayerGrads,
    LayerTrace,
    OneHotInput,
    gate_major,
    layer_backward,
    layer_backward_states,
    layer_forward,
)
from rnnviz.engine.linalg import matmul_rows, scatter_add_rows, sum_rows
from rnnviz.engine.runtime import DEFAULT, Runtime

# Per layer: (h (B, H), c (B, H) or None). The carried state of truncated BPTT.
State = list[tuple[np.ndarray, np.ndarray | None]]


@dataclass
class ForwardPass:
    """Everything the forward pass computed, kept for the backward pass and for the app."""

    cfg: ModelConfig
    x: np.ndarray  # (T, B) token ids or (T, B, I) floats
    inputs: list[np.ndarray | None]  # inputs[l] (T, B, I_l) as fed to layer l; None for one-hot layer 0
    masks: list[np.ndarray | None]  # masks[l] (T, B, H): dropout mask (0 or 1/(1-p)) on layer l's input
    layers: list[LayerTrace]
    lengths: np.ndarray | None  # (B,) classify: number of real steps per row
    out: np.ndarray  # head output: logits (T, B, V) | logits (B, K) | predictions (T, B, O)
    probs: np.ndarray | None  # softmax of the logits; None for regression
    log_z: np.ndarray | None  # log-sum-exp of the logits, (T, B) or (B,)
    runtime: Runtime = DEFAULT  # where loss and backward take their scratch arrays, how large products run

    @property
    def T(self) -> int:
        return self.x.shape[0]

    @property
    def B(self) -> int:
        return self.x.shape[1]

    def final_state(self) -> State:
        """The state after the last step of every layer (what truncated BPTT carries to the next chunk)."""
        return [(lt.hs[-1].copy(), None if lt.cs is None else lt.cs[-1].copy()) for lt in self.layers]

    def rows(self, rows: slice) -> ForwardPass:
        """The same pass restricted to a slice of batch rows (views, no copy)."""
        cut = lambda a: None if a is None else a[:, rows]  # noqa: E731
        head_rows = (lambda a: None if a is None else a[rows]) if self.cfg.head == "classify" else cut
        return ForwardPass(
            cfg=self.cfg,
            x=self.x[:, rows],
            inputs=[cut(a) for a in self.inputs],
            masks=[cut(a) for a in self.masks],
            layers=[lt.rows(rows) for lt in self.layers],
            lengths=None if self.lengths is None else self.lengths[rows],
            out=head_rows(self.out),
            probs=head_rows(self.probs),
            log_z=head_rows(self.log_z),
            runtime=self.runtime,
        )

    def head_input(self) -> np.ndarray:
        """What the head reads: top-layer states ``(T, B, H)``, or ``(B, H)`` at each row's end (classify)."""
        hs = self.layers[-1].hs
        if self.cfg.head == "classify":
            return hs[self.lengths, np.arange(self.B)]
        return hs[1:]


def zero_state(cfg: ModelConfig, batch: int) -> State:
    H, dtype = cfg.hidden_size, cfg.np_dtype
    has_c = get_cell(cfg.cell).HAS_CELL_STATE
    return [
        (np.zeros((batch, H), dtype), np.zeros((batch, H), dtype) if has_c else None) for _ in range(cfg.num_layers)
    ]


def _time_major(x: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    if cfg.input == "dense":
        if x.ndim != 3 or x.shape[2] != cfg.input_size:
            raise ValueError(f"dense input must be (B, T, {cfg.input_size}), got {x.shape}")
        return np.ascontiguousarray(x.transpose(1, 0, 2), dtype=cfg.np_dtype)
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"token input must be integer ids of shape (B, T), got {x.dtype} {x.shape}")
    return x.T


def forward(
    params: dict[str, np.ndarray],
    cfg: ModelConfig,
    x: np.ndarray,
    *,
    state: State | None = None,
    lengths: np.ndarray | None = None,
    dropout_rng: np.random.Generator | None = None,
    dropout_masks: list[np.ndarray | None] | None = None,
    runtime: Runtime = DEFAULT,
) -> ForwardPass:
    """Run the network over a batch.

    ``x``: ``(B, T)`` ids or ``(B, T, I)`` floats. ``state``: initial state per layer (zeros if None).
    ``lengths (B,)``: real lengths for the classification head (all T if None). Dropout is on only if
    ``cfg.dropout > 0`` and either ``dropout_rng`` (draws fresh masks: training) or ``dropout_masks``
    (reuses given masks: gradient checks) is given; evaluation passes neither. ``runtime``: where the
    large arrays come from (a ``BufferPool`` reuses them between steps) and what the large products
    (here the input projections of layers not fed by one-hot ids) run inside (see ``runtime``).
    """
    xt = _time_major(x, cfg)
    T, B = xt.shape[:2]
    if T < 1:
        raise ValueError("a sequence needs at least one step")
    if cfg.head == "classify":
        lengths = np.full(B, T, np.intp) if lengths is None else np.asarray(lengths, np.intp)
        if lengths.shape != (B,) or lengths.min() < 1 or lengths.max() > T:
            raise ValueError(f"lengths must be (B,) = ({B},) with values in 1..{T}")
    state = zero_state(cfg, B) if state is None else state
    dtype = cfg.np_dtype
    H, p = cfg.hidden_size, cfg.dropout
    pool = runtime.pool

    inputs: list[np.ndarray | None] = []
    masks: list[np.ndarray | None] = []
    layers: list[LayerTrace] = []
    G = cfg.gates
    for layer in range(cfg.num_layers):
        W_xh, b_h = params[f"layer{layer}.W_xh"], params[f"layer{layer}.b_h"]
        mask = None
        if layer == 0 and cfg.input == "onehot":
            inp = None
            # onehot(x) @ W_xh + b_h is a row lookup in (W_xh + b_h). Adding the bias to the V rows
            # of the table, not to the T*B looked-up rows, is far cheaper; the layer looks up per step.
            ax = OneHotInput(gate_major(W_xh + b_h, G), xt)
        else:
            if layer == 0:
                inp = params["embed.E"][xt] if cfg.input == "embedding" else xt  # (T, B, I)
            else:
                inp = layers[-1].hs[1:]  # (T, B, H) outputs of the layer below
                if p > 0 and (dropout_rng is not None or dropout_masks is not None):
                    if dropout_masks is not None:
                        mask = dropout_masks[layer]
                    else:  # inverted dropout: keep with probability 1-p and scale by 1/(1-p)
                        mask = (dropout_rng.random((T, B, H)) >= p).astype(dtype) / dtype.type(1.0 - p)
                    inp = inp * mask
            ax = pool.empty((G, T, B, H), dtype)  # gate-major input pre-activations
            with runtime.wide(B):
                np.matmul(inp.reshape(T * B, -1), gate_major(W_xh, G), out=ax.reshape(G, T * B, H))
            ax += b_h.reshape(G, 1, 1, H)
        h0, c0 = state[layer]
        b_hh = params.get(f"layer{layer}.b_hh")
        layers.append(layer_forward(cfg.cell, ax, params[f"layer{layer}.W_hh"], b_hh, h0, c0, runtime))
        inputs.append(inp)
        masks.append(mask)

    fp = ForwardPass(cfg, xt, inputs, masks, layers, lengths, out=None, probs=None, log_z=None, runtime=runtime)
    head_in = fp.head_input()
    K = cfg.n_out
    # (T, B, K), or (B, K) for a classifier's last step
    out = matmul_rows(head_in, params["head.W_hy"], out=pool.empty((*head_in.shape[:-1], K), dtype))
    out += params["head.b_y"]
    fp.out = out
    if cfg.head != "regress":
        fp.probs, fp.log_z = softmax(out, pool)
    return fp


def softmax(logits: np.ndarray, pool=FRESH) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and log-sum-exp over the last axis, stable for any finite logits.

    Shifting by the maximum keeps every exponent <= 0 (no overflow) and the largest term equal to 1
    (the sum never underflows to 0), so log Z = max + log(sum exp(logits - max)) is exact.
    """
    m = logits.max(axis=-1, keepdims=True)
    e = np.subtract(logits, m, out=pool.empty(logits.shape, logits.dtype))
    np.exp(e, out=e)
    s = e.sum(axis=-1, keepdims=True)
    e /= s
    log_z = (m + np.log(s))[..., 0]
    return e, log_z


def head_at_every_step(
    params: dict[str, np.ndarray], fp: ForwardPass
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """A classifier's head read after every step: ``(logits (T, B, K), probs (T, B, K), log_z (T, B))``.

    ``[t, b]`` is what the classifier would predict if row b ended after step t (the same head on
    h_{t+1} of the top layer), so ``[lengths[b] - 1, b]`` is exactly its real prediction
    ``fp.out[b]``. This is what the app shows while a name is read character by character. Other
    heads already predict at every step: for them this is what the forward pass computed (``probs``
    and ``log_z`` None for regression).
    """
    if fp.cfg.head != "classify":
        return fp.out, fp.probs, fp.log_z
    hs = fp.layers[-1].hs[1:]  # (T, B, H)
    logits = matmul_rows(hs, params["head.W_hy"]) + params["head.b_y"]
    probs, log_z = softmax(logits)
    return logits, probs, log_z


@dataclass
class LossResult:
    loss: float  # the scalar that is minimised
    per_step: np.ndarray  # (T, B) per-token loss (lm, regress) or (B,) per row (classify)
    dout: np.ndarray  # dL/d(head output), same shape as ForwardPass.out


def loss(fp: ForwardPass, y: np.ndarray, class_weights: np.ndarray | None = None) -> LossResult:
    """Loss of a forward pass against targets ``y`` and its gradient with respect to the head output.

    ``y``: ``(B, T)`` ids (lm), ``(B,)`` class ids (classify) or ``(B, T, O)`` floats (regress).
    ``class_weights (K,)``: classify only, weights each row by its true class (a weighted mean).
    """
    head = fp.cfg.head
    if head == "regress":
        y_t = np.asarray(y, fp.out.dtype).transpose(1, 0, 2)  # (T, B, O)
        if y_t.shape != fp.out.shape:
            raise ValueError(f"regression targets must be (B, T, O), got {np.shape(y)}")
        err = fp.out - y_t
        per_step = (err * err).mean(axis=-1)  # (T, B)
        dout = err * (2.0 / err.size)  # d mean(err^2) / d out
        return LossResult(float(per_step.mean()), per_step, dout)

    y_t = np.asarray(y).T  # (T, B) or (B,)
    if y_t.shape != fp.out.shape[:-1]:
        raise ValueError(f"targets must have shape {fp.out.shape[:-1][::-1]}, got {np.shape(y)}")
    K = fp.out.shape[-1]
    if y_t.size and (y_t.min() < 0 or y_t.max() >= K):
        raise ValueError(f"target ids must be in 0..{K - 1}")
    logit_y = np.take_along_axis(fp.out, y_t[..., None], axis=-1)[..., 0]
    per_step = fp.log_z - logit_y  # -log softmax(logits)[y], via log-sum-exp
    dout = fp.runtime.pool.empty(fp.probs.shape, fp.probs.dtype)
    np.copyto(dout, fp.probs)  # d(-log p_y)/d logits = p - onehot(y)
    np.put_along_axis(dout, y_t[..., None], np.take_along_axis(dout, y_t[..., None], axis=-1) - 1.0, axis=-1)
    if class_weights is not None and head == "classify":
        w = np.asarray(class_weights, fp.out.dtype)[y_t]  # (B,)
        total = w.sum()
        dout *= (w / total)[:, None]
        return LossResult(float((w * per_step).sum() / total), per_step, dout)
    dout /= per_step.size
    return LossResult(float(per_step.mean()), per_step, dout)


@dataclass
class Backward:
    grads: dict[str, np.ndarray]  # same keys and shapes as params
    layers: list[LayerGrads]  # per layer: dL/dh_t (T, B, H), dL/dh_0, ...


def backward(
    params: dict[str, np.ndarray],
    fp: ForwardPass,
    dout: np.ndarray,
    *,
    param_grads: bool = True,
    record_steps: bool = False,
) -> Backward:
    """Backpropagation through time for the whole network.

    ``dout`` is dL/d(head output) (``LossResult.dout``, or any other upstream gradient).
    With ``param_grads=False`` only the gradients with respect to the states are formed: the
    weight-gradient products are skipped and each layer runs the cells' Jacobian-coefficient form of
    BPTT (``layer_backward_states``, fastest for one row). See also :func:`backward_states`.
    ``record_steps``: each layer also keeps the per-step quantities the walkthrough shows
    (``LayerGrads.dh_above``, ``dh_prev``, ``dc_prev``); with ``param_grads`` only.
    """
    cfg = fp.cfg
    T, B = fp.T, fp.B
    H = cfg.hidden_size
    grads: dict[str, np.ndarray] = {}
    W_hy = params["head.W_hy"]
    if param_grads:
        head_in = fp.head_input()
        grads["head.W_hy"] = head_in.reshape(-1, H).T @ dout.reshape(-1, dout.shape[-1])
        grads["head.b_y"] = sum_rows(dout)
    pool = fp.runtime.pool
    if cfg.head == "classify":
        dh_above = pool.zeros((T, B, H), dout.dtype)
        dh_above[fp.lengths - 1, np.arange(B)] = dout @ W_hy.T  # only each row's last real step
    else:
        dh_above = matmul_rows(dout, W_hy.T, out=pool.empty((T, B, H), dout.dtype))  # (T, B, H)

    layer_grads: list[LayerGrads] = [None] * cfg.num_layers  # type: ignore[list-item]
    for layer in range(cfg.num_layers - 1, -1, -1):
        lt = fp.layers[layer]
        W_xh = params[f"layer{layer}.W_xh"]
        if param_grads:
            lg = layer_backward(lt, params[f"layer{layer}.W_hh"], dh_above, fp.runtime, record=record_steps)
        else:
            lg = layer_backward_states(lt, params[f"layer{layer}.W_hh"], dh_above)
        layer_grads[layer] = lg
        GH = lg.dax.shape[-1]
        if param_grads:
            pre = f"layer{layer}."
            inp = fp.inputs[layer]
            with fp.runtime.wide(B):  # the large products: over all T*B rows, G*H columns
                grads[pre + "W_hh"] = lt.hs[:-1].reshape(-1, H).T @ lg.dah.reshape(-1, GH)
                if inp is None:  # one-hot input: the gradient of a row lookup is a scatter-add
                    grads[pre + "W_xh"] = scatter_add_rows(fp.x, lg.dax, cfg.vocab_size, pool)
                else:
                    grads[pre + "W_xh"] = inp.reshape(-1, inp.shape[-1]).T @ lg.dax.reshape(-1, GH)
            grads[pre + "b_h"] = sum_rows(lg.dax)
            if pre + "b_hh" in params:
                grads[pre + "b_hh"] = sum_rows(lg.dah)
        if layer > 0:
            with fp.runtime.wide(B):  # dL/d(layer input)
                dh_above = matmul_rows(lg.dax, W_xh.T, out=pool.empty((T, B, H), lg.dax.dtype))
            if fp.masks[layer] is not None:
                dh_above *= fp.masks[layer]
        elif cfg.input == "embedding" and param_grads:
            with fp.runtime.wide(B):
                d_emb = matmul_rows(lg.dax, W_xh.T)  # (T, B, D)
                grads["embed.E"] = scatter_add_rows(fp.x, d_emb, cfg.vocab_size, pool)
    if param_grads:
        grads = {name: grads[name] for name in params}  # the params' order
    return Backward(grads, layer_grads)


def backward_states(params: dict[str, np.ndarray], fp: ForwardPass, dh_top: np.ndarray) -> list[LayerGrads]:
    """dL/dh_t of every layer for a gradient ``dh_top (T, B, H)`` arriving at the top layer's states.

    No weight gradients: each layer runs the Jacobian-coefficient form of BPTT. ``dh_top`` is consumed.
    """
    cfg = fp.cfg
    out: list[LayerGrads] = [None] * cfg.num_layers  # type: ignore[list-item]
    dh_above = dh_top
    for layer in range(cfg.num_layers - 1, -1, -1):
        lg = layer_backward_states(fp.layers[layer], params[f"layer{layer}.W_hh"], dh_above)
        out[layer] = lg
        if layer > 0:  # (not a wide product: the traces pass one row here)
            dh_above = matmul_rows(lg.dax, params[f"layer{layer}.W_xh"].T)
            if fp.masks[layer] is not None:
                dh_above *= fp.masks[layer]
    return out
