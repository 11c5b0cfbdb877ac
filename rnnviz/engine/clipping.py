"""Gradient clipping: off, by value (each entry into [-c, c]) or by global norm (rescale all gradients).

Every call reports the global norm before and after, the scale applied and the fraction of entries
clipped: the app plots these to compare training with and without clipping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODES = ("off", "value", "norm")
# As torch.nn.utils.clip_grad_norm_: scale = c / (norm + 1e-6), so the clipped norm is just below c.
_NORM_EPS = 1e-6


@dataclass(frozen=True)
class ClipConfig:
    """``mode`` "off" | "value" | "norm" and the threshold c (> 0; ignored when off)."""

    mode: str = "off"
    threshold: float = 5.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"clipping must be off, value or norm, not {self.mode!r}")
        if self.mode != "off" and not (np.isfinite(self.threshold) and self.threshold > 0):
            raise ValueError(f"the clipping threshold must be a positive number, not {self.threshold}")

    @classmethod
    def parse(cls, text: str) -> ClipConfig:
        """``"off"``, ``"value:C"`` or ``"norm:C"`` (the command line's and the app's notation)."""
        mode, _, c = text.strip().partition(":")
        if mode == "off" and not c:
            return cls("off")
        if mode not in ("value", "norm") or not c:
            raise ValueError(f"clipping is written off, value:C or norm:C (for example norm:5), not {text!r}")
        try:
            threshold = float(c)
        except ValueError:
            raise ValueError(f"the clipping threshold in {text!r} is not a number") from None
        return cls(mode, threshold)

    def __str__(self) -> str:
        return "off" if self.mode == "off" else f"{self.mode}:{self.threshold:g}"


@dataclass(frozen=True)
class ClipReport:
    config: ClipConfig
    norm_before: float  # global L2 norm of all gradients before clipping
    norm_after: float  # ... and after
    scale: float  # norm clipping: the factor applied (1 if none); value clipping: norm_after / norm_before
    fraction_clipped: float  # fraction of gradient entries changed by clipping (0..1)

    @property
    def clipped(self) -> bool:
        return self.fraction_clipped > 0.0


def grad_norms(grads: dict[str, np.ndarray]) -> dict[str, float]:
    """L2 norm of each gradient, accumulated in float64 (a float32 sum of squares overflows early)."""
    norms = {}
    for name, g in grads.items():
        flat = g.reshape(-1).astype(np.float64, copy=False)
        norms[name] = float(np.sqrt(flat @ flat))
    return norms


def global_norm(norms: dict[str, float]) -> float:
    return float(np.sqrt(sum(n * n for n in norms.values())))


def clip_gradients(
    grads: dict[str, np.ndarray], config: ClipConfig, norms: dict[str, float] | None = None
) -> ClipReport:
    """Clip ``grads`` in place as ``config`` says and report what happened.

    ``norms`` are the per-parameter norms if already computed (saves a pass over the gradients).
    """
    norms = grad_norms(grads) if norms is None else norms
    before = global_norm(norms)
    total = sum(g.size for g in grads.values())
    if config.mode == "off" or total == 0:
        return ClipReport(config, before, before, 1.0, 0.0)
    c = config.threshold
    if config.mode == "norm":
        if before <= c:
            return ClipReport(config, before, before, 1.0, 0.0)
        scale = c / (before + _NORM_EPS)
        for g in grads.values():
            g *= g.dtype.type(scale)
        return ClipReport(config, before, before * scale, scale, 1.0)
    changed = 0
    for g in grads.values():
        changed += int(np.count_nonzero(np.abs(g) > c))
        np.clip(g, -c, c, out=g)
    after = global_norm(grad_norms(grads)) if changed else before
    return ClipReport(config, before, after, after / before if before > 0 else 1.0, changed / total)
