"""Inference: feed one token at a time (the app's "step one token") and generate text.

Stepping reuses the training forward pass with B = 1, T = 1, so what the app shows while stepping is
computed by exactly the same code as training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.engine.config import ModelConfig
from rnnviz.engine.model import State, forward, softmax, zero_state


@dataclass(frozen=True)
class TokenStep:
    """The network after reading one input. Per layer arrays have the batch axis dropped."""

    state: State  # new state per layer: (h (1, H), c (1, H) or None): feed it to the next step
    hs: tuple[np.ndarray, ...]  # per layer h_t (H,)
    cs: tuple[np.ndarray | None, ...]  # per layer LSTM c_t (H,)
    acts: tuple[np.ndarray, ...]  # per layer gate activations (G, H), in the cell's gate order
    logits: np.ndarray  # (K,) head output (for regression: the prediction)
    probs: np.ndarray | None  # (K,) softmax of the logits; None for regression


def step_token(params: dict[str, np.ndarray], cfg: ModelConfig, token, state: State | None = None) -> TokenStep:
    """Feed one token id (or, for dense input, one ``(I,)`` vector) from ``state`` (zeros if None)."""
    x = np.asarray(token, cfg.np_dtype).reshape(1, 1, -1) if cfg.input == "dense" else np.array([[int(token)]])
    state = zero_state(cfg, 1) if state is None else state
    fp = forward(params, cfg, x, state=state)  # classify: the class probabilities after this token
    out = fp.out.reshape(-1)
    probs = None if fp.probs is None else fp.probs.reshape(-1)
    return TokenStep(
        state=fp.final_state(),
        hs=tuple(lt.hs[-1, 0].copy() for lt in fp.layers),
        cs=tuple(None if lt.cs is None else lt.cs[-1, 0].copy() for lt in fp.layers),
        acts=tuple(lt.acts[-1, :, 0].copy() for lt in fp.layers),
        logits=out.copy(),
        probs=None if probs is None else probs.copy(),
    )


def sample(logits: np.ndarray, rng: np.random.Generator, temperature: float = 1.0, top_k: int | None = None) -> int:
    """Draw a token id from ``logits (K,)``.

    ``temperature`` 0 means argmax (greedy) and never divides by zero; below 1 sharpens, above 1
    flattens; as it goes to 0 it becomes greedy, and so does a tiny one (5e-324, the smallest float,
    included). ``top_k`` keeps only the k most likely tokens (None or 0: all). Raises ``ValueError``
    for a temperature that is not a number >= 0 (NaN included).
    """
    if not temperature >= 0:  # (NaN compares false)
        raise ValueError(f"temperature must be a number >= 0, not {temperature!r}")
    logits = np.asarray(logits, np.float64)
    if temperature == 0:
        return int(np.argmax(logits))
    # Shift by the maximum first: (logit - max) <= 0, so a tiny temperature sends every token but the
    # most likely to -inf (probability 0: greedy), where logits / 5e-324 overflowed to inf and inf - inf
    # made the probabilities NaN. That overflow to -inf is the limit wanted: no warning for it.
    with np.errstate(over="ignore"):
        z = (logits - logits.max()) / temperature
    if top_k:
        k = min(int(top_k), z.size)
        cutoff = np.partition(z, -k)[-k]
        z = np.where(z >= cutoff, z, -np.inf)
    p, _ = softmax(z)
    return int(rng.choice(z.size, p=p))


def generate(
    params: dict[str, np.ndarray],
    cfg: ModelConfig,
    prime: list[int] | np.ndarray,
    length: int,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> list[int]:
    """``length`` new token ids after reading ``prime`` (at least one id). Language models only."""
    if cfg.head != "lm":
        raise ValueError("only a language model generates text")
    prime = [int(t) for t in prime]
    if not prime:
        raise ValueError("generation needs at least one token to start from")
    fp = forward(params, cfg, np.array([prime]))
    state, logits = fp.final_state(), fp.out[-1, 0]
    out: list[int] = []
    for _ in range(length):
        token = sample(logits, rng, temperature, top_k)
        out.append(token)
        step = step_token(params, cfg, token, state)
        state, logits = step.state, step.logits
    return out
