"""The instrumented view of one training step: what the app's panels draw.

A :class:`Trace` is read-only and shares the forward pass's arrays instead of copying them: while
anyone holds it, a buffer pool never hands those arrays out again (``buffers``), so nothing writes
into them. Keep it only briefly (the app copies the row it shows into a snapshot): holding traces
keeps whole batches of buffers out of the pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.engine.cells import get_cell
from rnnviz.engine.clipping import ClipReport
from rnnviz.engine.linalg import row_norms
from rnnviz.engine.model import ForwardPass, backward_states, head_at_every_step
from rnnviz.engine.spectral import BlockSpectrum, spectral_stats
from rnnviz.engine.step import nonfinite_expected


@dataclass(frozen=True)
class LayerMechanism:
    """Why the gradient of one layer vanishes or explodes, for the displayed row (``engine.mechanism``).

    ``lags (T,)``: T - t for t = 0..T-1 (T, ..., 1); ``dhT_dh (T,)``: spectral norm of dh_T/dh_t;
    ``dhT_dc (T,)``: the LSTM's dh_T/dc_t (None for other cells); ``growth``: per-step growth factor
    fitted to ``dhT_dh``; ``sigma_max``: the largest singular value over the layer's W_hh gate blocks;
    ``saturated``: fraction of |h| > 0.95 over the row's steps; ``gate_saturation``: per gate, the
    fraction within 0.05 of an end of its range; ``regime``/``explanation``: ``classify_regime``'s.
    """

    lags: np.ndarray
    dhT_dh: np.ndarray
    dhT_dc: np.ndarray | None
    growth: float
    sigma_max: float
    saturated: float
    gate_saturation: dict
    regime: str
    explanation: str
    # the spectrum of W_hh: eigenvalues of each gate block (complex, (H,) each, in the cell's gate
    # order) and their largest modulus over the blocks, the spectral radius rho
    eigenvalues: tuple = ()
    spectral_radius: float = float("nan")
    # each gate block's rho and sigma_max, in the cell's gate order (NaN for a layer that is not finite)
    block_radius: tuple = ()
    block_sigma: tuple = ()


def mechanism_views(params: dict[str, np.ndarray], fp: ForwardPass, row: int) -> tuple[LayerMechanism, ...]:
    """Every layer's :class:`LayerMechanism` for batch row ``row`` of ``fp`` (run with ``params``).
    Costs 40-50 ms for the LSTM at H = 128, T = 64 (the Jacobian curves ~25 ms, the W_hh spectra ~20 ms): callers make
    it every few seconds (``lab.MECHANISM_SHARE``)."""
    from rnnviz.engine import mechanism as mech  # (engine.mechanism imports this module's neighbours)

    jac = mech.state_jacobian_norms(params, fp, row)
    sat = mech.saturation(fp, row)
    spectrum = spectral_stats(params, fp.cfg)  # every gate block of every layer's W_hh
    out = []
    for layer, (j, s) in enumerate(zip(jac, sat, strict=True)):
        blocks = [b for b in spectrum if b.layer == layer]
        finite = all(b.eigenvalues is not None for b in blocks)  # a block that is not finite: NaN for the layer
        sigma = mech.recurrent_sigma_max(spectrum, layer) if finite else float("nan")
        eigenvalues = tuple(b.eigenvalues for b in blocks) if finite else ()
        rho = max(b.spectral_radius for b in blocks) if finite else float("nan")
        growth = mech.growth_factor(j.dhT_dh, j.lags)
        regime = mech.classify_regime(growth, sigma, s.h)
        out.append(LayerMechanism(
            lags=_readonly(np.array(j.lags)), dhT_dh=_readonly(np.array(j.dhT_dh)),
            dhT_dc=None if j.dhT_dc is None else _readonly(np.array(j.dhT_dc)), growth=growth, sigma_max=sigma,
            saturated=s.h, gate_saturation=dict(s.gates), regime=regime.name, explanation=regime.explanation,
            eigenvalues=eigenvalues, spectral_radius=rho,
            block_radius=tuple(b.spectral_radius for b in blocks), block_sigma=tuple(b.sigma_max for b in blocks),
        ))  # fmt: skip
    return tuple(out)


@dataclass(frozen=True)
class LayerView:
    """One layer of the trace. ``hs``/``cs`` ``(T+1, B, H)`` with h_0 first; ``acts`` ``(T, G, B, H)``:
    ``acts[t, k, b]`` is gate ``gate_names[k]`` of row b at step t (the vanilla RNN's one "gate" is h)."""

    hs: np.ndarray
    cs: np.ndarray | None
    acts: np.ndarray
    gate_names: tuple[str, ...]
    # The two gradient views; None when the trace was built with ``gradients=False``.
    dh_norm: np.ndarray | None  # (T, B) ||dL/dh_t||, L the *summed* token losses: the whole BPTT gradient at h_t
    dlast_norm: np.ndarray | None  # (T,)  ||dL_T/dh_t|| for the displayed row: the last step's loss alone


@dataclass(frozen=True)
class Trace:
    row: int  # the batch row the per-row views show
    x: np.ndarray  # (T,) ids or (T, I) values of that row
    y: np.ndarray | None  # (T,) target ids / (T, O) values of that row, or () class id; None: no targets
    length: int  # steps used by the row (classify: its true length; else T)
    layers: tuple[LayerView, ...]
    probs: np.ndarray | None  # (T, V) next-token probabilities (lm) or (K,) class probabilities of the row
    outputs: np.ndarray | None  # (T, O) regression predictions of the row
    per_step_loss: np.ndarray | None  # (T, B) per-token loss, or (B,) per-row loss (classify); None: no targets
    grad_norms: dict[str, float]  # per parameter, before clipping
    clip: ClipReport | None
    spectrum: tuple[BlockSpectrum, ...] | None  # None on steps where it was not computed
    # classify only: the row's class probabilities after each step, as if the row ended there
    # (``head_at_every_step``; ``prefix_probs[length - 1]`` is ``probs``), and -log p(y) of each (None
    # without targets). Reading a name character by character shows how the guess forms.
    prefix_probs: np.ndarray | None = None  # (T, K)
    prefix_loss: np.ndarray | None = None  # (T,)
    mechanism: tuple[LayerMechanism, ...] | None = None  # when asked for (``build_trace(mechanism=True)``)


def _readonly(a: np.ndarray | None) -> np.ndarray | None:
    if a is not None:
        a.setflags(write=False)
    return a


def last_step_dh_norms(params: dict[str, np.ndarray], fp: ForwardPass, y: np.ndarray, row: int) -> list[np.ndarray]:
    """``||dL_T/dh_t||`` for t = 1..T of one batch row, per layer: each ``(T,)``.

    L_T is the loss of the row's last step alone (unaveraged): for a language model -log p(y_T), for
    classification the row's loss, for regression its squared error at T. Its gradient can only
    reach h_t through the recurrence, so this curve shows how the signal decays (vanishes) or grows
    (explodes) with distance T - t. Computed by a backward pass over the one row with the weight
    gradients skipped; entries after a classification row's end are 0.
    """
    cfg = fp.cfg
    one = fp.rows(slice(row, row + 1))
    # d L_T / d(head output at its last step), one row: (K,)
    if cfg.head == "regress":
        d_last = 2.0 * (one.out[-1, 0] - np.asarray(y)[row, -1]) / one.out.shape[-1]
        t_last = fp.T - 1
    else:
        probs = one.probs[0] if cfg.head == "classify" else one.probs[-1, 0]
        target = int(np.asarray(y)[row] if cfg.head == "classify" else np.asarray(y)[row, -1])
        d_last = probs.copy()
        d_last[target] -= 1.0
        t_last = int(one.lengths[0]) - 1 if cfg.head == "classify" else fp.T - 1
    dh_top = np.zeros((fp.T, 1, cfg.hidden_size), d_last.dtype)
    dh_top[t_last, 0] = params["head.W_hy"] @ d_last  # only h at the last step feeds L_T directly
    layers = backward_states(params, one, dh_top)
    return [row_norms(lg.dh[:, 0]) for lg in layers]


def build_trace(
    params: dict[str, np.ndarray],
    fp: ForwardPass,
    y: np.ndarray | None,
    per_step_loss: np.ndarray | None,
    dh_per_layer: list[np.ndarray] | None,
    grad_norms: dict[str, float],
    clip: ClipReport | None,
    *,
    row: int = 0,
    spectrum: tuple[BlockSpectrum, ...] | None = None,
    gradients: bool = True,
    mechanism: bool = False,
) -> Trace:
    """Assemble the read-only trace of a step from its forward pass and BPTT results.

    ``dh_per_layer``: per layer the total dL/dh_t ``(T, B, H)`` (``Backward.layers[l].dh``) of the
    training loss. The training loss is a mean over N terms (N = ``per_step_loss.size``: tokens, or
    rows for classification); ``dh_norm`` reports the gradient of their *sum* (N times the mean's), so
    that it is on the same per-token scale as ``dlast_norm``, the gradient of one token's loss: for
    each row, ||dL/dh_t|| is then the gradient of all its losses from step t on, of which dL_T/dh_t
    is one term. (With class weights, the sum is weighted likewise.)
    ``params`` must be the weights the forward pass used (the last-step gradient is recomputed with
    them), i.e. call this before the update is committed or pass the old arrays.
    ``gradients=False`` leaves out ``dh_norm`` and ``dlast_norm`` (most of the trace's cost: a second,
    one-row backward pass), for a caller that shows them less often than the rest.
    Without targets (``y``, ``per_step_loss`` and ``dh_per_layer`` None: a sequence typed by the user
    has no known class) there is no loss, so no gradient views either.
    ``mechanism``: also the Jacobian-through-time view of the row (:func:`mechanism_views`), which
    needs no loss.
    A step refused as not finite is traced too (its gradients say why), and a probe may read diverged
    weights: their NaN and infinities are expected here and stay in the trace (no NumPy warnings).
    """
    with nonfinite_expected():
        return _build_trace(params, fp, y, per_step_loss, dh_per_layer, grad_norms, clip, row, spectrum, gradients,
                            mechanism)  # fmt: skip


def _build_trace(params, fp, y, per_step_loss, dh_per_layer, grad_norms, clip, row, spectrum, gradients, mechanism):
    cfg = fp.cfg
    gates = get_cell(cfg.cell).GATES
    n_layers = len(fp.layers)
    if y is None:
        gradients = False
    dlast = last_step_dh_norms(params, fp, y, row) if gradients else [None] * n_layers
    n_terms = per_step_loss.size if per_step_loss is not None else 0  # the mean's count: gradient x N = the sum's
    layers = tuple(
        LayerView(
            hs=_readonly(lt.hs),
            cs=_readonly(lt.cs),
            acts=_readonly(lt.acts),
            gate_names=gates,
            dh_norm=_readonly(row_norms(dh) * dh.dtype.type(n_terms)) if gradients else None,
            dlast_norm=_readonly(dl),
        )
        for lt, dh, dl in zip(fp.layers, dh_per_layer or [None] * n_layers, dlast, strict=True)
    )
    x_row = np.array(fp.x[:, row])
    y_row = None if y is None else np.array(np.asarray(y)[row])
    length = int(fp.lengths[row]) if fp.lengths is not None else fp.T
    probs = outputs = prefix_probs = prefix_loss = None
    if cfg.head == "lm":
        probs = np.array(fp.probs[:, row])
    elif cfg.head == "classify":
        probs = np.array(fp.probs[row])
        logits, p_steps, log_z = head_at_every_step(params, fp.rows(slice(row, row + 1)))
        prefix_probs = p_steps[:, 0]  # (T, K)
        if y_row is not None:
            prefix_loss = log_z[:, 0] - logits[:, 0, int(y_row)]  # -log p(y), by log-sum-exp as the loss does
    else:
        outputs = np.array(fp.out[:, row])
    return Trace(
        row=row,
        x=_readonly(x_row),
        y=_readonly(y_row),
        length=length,
        layers=layers,
        probs=_readonly(probs),
        outputs=_readonly(outputs),
        per_step_loss=None if per_step_loss is None else _readonly(np.array(per_step_loss)),
        grad_norms=dict(grad_norms),
        clip=clip,
        spectrum=spectrum,
        prefix_probs=_readonly(prefix_probs),
        prefix_loss=_readonly(prefix_loss),
        mechanism=mechanism_views(params, fp, row) if mechanism else None,
    )
