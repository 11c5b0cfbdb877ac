"""Inference: feed one token at a time (the app's "step one token") and generate text.

Stepping reuses the training forward pass with B = 1, T = 1, so what the app shows while stepping is
computed by exactly the same code as training.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

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
    _check_temperature(temperature)
    logits = np.asarray(logits, np.float64)
    if temperature == 0:
        return int(np.argmax(logits))
    # Shift before dividing: the largest z is then exactly 0 and the rest <= 0, so a tiny temperature
    # (1e-300) sends them to -inf (probability 0) instead of inf - inf = NaN. softmax shifts by the
    # maximum anyway, so for ordinary temperatures this is the same distribution.
    with np.errstate(over="ignore"):
        z = (logits - logits.max()) / temperature  # (K,)
    if top_k:
        k = min(int(top_k), z.size)
        cutoff = np.partition(z, -k)[-k]
        z = np.where(z >= cutoff, z, -np.inf)
    p, _ = softmax(z)
    return int(rng.choice(z.size, p=p))


def _check_temperature(temperature: float) -> None:
    if not temperature >= 0:  # written so that NaN fails too
        raise ValueError(f"temperature must be >= 0, not {temperature}")


def most_likely(probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ids (T, k), p (T, k))``: the k largest entries of each row of ``probs (T, K)``, largest first
    (ties: the smaller id first).

    A partial partition finds them in O(K) per row (a full sort of a 10,000-word softmax per step
    would cost more than drawing it); only the k found are sorted.
    """
    T, K = probs.shape
    k = min(k, K)
    if K > 4 * k:
        candidates = np.argpartition(probs, K - k, axis=1)[:, K - k :]  # (T, k), unordered
    else:
        candidates = np.broadcast_to(np.arange(K), (T, K))
    order = np.argsort(-np.take_along_axis(probs, candidates, axis=1), axis=1, kind="stable")[:, :k]
    ids = np.take_along_axis(candidates, order, axis=1)
    return ids.astype(np.int32), np.take_along_axis(probs, ids, axis=1)


def iter_generate(
    params: dict[str, np.ndarray],
    cfg: ModelConfig,
    prime: list[int] | np.ndarray,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> Iterator[int]:
    """New token ids after reading ``prime`` (at least one id), endlessly: each is drawn, yielded,
    then read. The caller stops by not asking for the next one. Language models only.

    Everything generation changes is its own: the hidden state lives inside the generator, ``params``
    are only read, and the random draws come from ``rng`` alone. So any number of generators may run
    over one set of weights at once, in threads (the HTTP server does), each with its own Generator;
    one Generator shared between threads would make neither's text repeatable. The arguments are
    checked now (ValueError), not at the first draw.
    """
    if cfg.head != "lm":
        raise ValueError("only a language model generates text")
    prime = [int(t) for t in prime]
    if not prime:
        raise ValueError("generation needs at least one token to start from")
    _check_temperature(temperature)
    return _generated(params, cfg, prime, rng, temperature, top_k)


def _generated(params, cfg, prime, rng, temperature, top_k) -> Iterator[int]:
    fp = forward(params, cfg, np.array([prime]))  # the prime in one pass: (1, T)
    state, logits = fp.final_state(), fp.out[-1, 0]  # (K,) what the model expects after the prime
    while True:
        token = sample(logits, rng, temperature, top_k)
        yield token
        step = step_token(params, cfg, token, state)
        state, logits = step.state, step.logits


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
    return list(islice(iter_generate(params, cfg, prime, rng, temperature, top_k), length))


def free_run(params: dict[str, np.ndarray], cfg: ModelConfig, prime: np.ndarray, steps: int) -> np.ndarray:
    """``(steps, O)`` values predicted in a closed loop: read ``prime (P, I)`` (P >= 1), then feed each
    prediction back as the next input, ``steps`` times. Regression with as many outputs as inputs
    only (the sine task: one value in, the next one out); ``ValueError`` otherwise.

    The first value is the model's prediction after the prime (what it predicts with the true values);
    each later one is its prediction after reading its own previous one (``step_token``, the engine's
    step), so errors compound: the honest test of whether it has learned the wave or only its next step.
    """
    if cfg.head != "regress" or cfg.input != "dense" or cfg.n_out != cfg.input_size:
        raise ValueError("a free run feeds the predictions back as inputs: regression with as many outputs as inputs")
    if len(prime) == 0 or steps < 1:
        raise ValueError("a free run needs at least one value to start from and one step to predict")
    prime = np.asarray(prime, cfg.np_dtype).reshape(len(prime), cfg.input_size)  # (P, I)
    fp = forward(params, cfg, prime[None])  # the prime in one pass: (1, P, I)
    state, value = fp.final_state(), fp.out[-1, 0]  # (O,) the prediction after the prime
    out = np.empty((steps, cfg.n_out), cfg.np_dtype)
    for k in range(steps):
        out[k] = value
        if k + 1 < steps:
            step = step_token(params, cfg, value, state)
            state, value = step.state, step.logits
    return out
