"""Optimizers (SGD with optional momentum, Adagrad, Adam) with learning-rate decay.

State is a dict keyed ``"<slot>.<parameter name>"`` (``velocity.layer0.W_hh``, ``m.head.b_y``...), so
it is saved in checkpoints beside the parameters it belongs to.

Updates are two-phase so a bad step can be refused whole: :meth:`Optimizer.propose` computes new
parameters and new state into fresh arrays without touching anything, the caller checks them, and
:meth:`Optimizer.commit` installs them. Arrays are never modified in place, so a snapshot that holds
the old parameter arrays (a trace on its way to the app) stays valid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

KINDS = ("sgd", "adagrad", "adam")


@dataclass(frozen=True)
class OptimConfig:
    """``lr`` is multiplied by ``lr_decay`` every ``decay_every`` steps (1.0 = no decay)."""

    kind: str = "adam"
    lr: float = 2e-3
    momentum: float = 0.0  # SGD only: v = momentum * v + g; w -= lr * v (PyTorch's form)
    beta1: float = 0.9  # Adam
    beta2: float = 0.999  # Adam
    eps: float = 1e-8  # Adagrad, Adam
    lr_decay: float = 1.0
    decay_every: int = 1000

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"the optimizer must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"the learning rate must be a positive number, not {self.lr}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError("momentum must be in [0, 1)")
        if not 0.0 < self.lr_decay <= 1.0 or self.decay_every < 1:
            raise ValueError("lr_decay must be in (0, 1] and decay_every at least 1")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Proposal:
    params: dict[str, np.ndarray]
    state: dict[str, np.ndarray]
    lr: float


class Optimizer:
    def __init__(self, config: OptimConfig, step: int = 0, state: dict[str, np.ndarray] | None = None):
        self.config = config
        self.step = step  # updates applied so far
        self.state: dict[str, np.ndarray] = dict(state or {})

    def lr_at(self, step: int) -> float:
        c = self.config
        return c.lr * c.lr_decay ** (step // c.decay_every)

    def propose(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> Proposal:
        """New parameters and state for one update, in fresh arrays; nothing is modified."""
        c = self.config
        lr = self.lr_at(self.step)
        new_params: dict[str, np.ndarray] = {}
        new_state: dict[str, np.ndarray] = {}
        t = self.step + 1
        for name, w in params.items():
            g = grads[name]
            typ = w.dtype.type
            if c.kind == "sgd":
                if c.momentum > 0:
                    v = self.state.get("velocity." + name)
                    v = g.copy() if v is None else v * typ(c.momentum) + g
                    new_state["velocity." + name] = v
                    step = v
                else:
                    step = g
                new_params[name] = w - typ(lr) * step
            elif c.kind == "adagrad":
                s = self.state.get("sum_sq." + name)
                s = g * g if s is None else s + g * g
                new_state["sum_sq." + name] = s
                new_params[name] = w - typ(lr) * g / (np.sqrt(s) + typ(c.eps))
            else:  # adam, with bias correction (Kingma & Ba, 2015)
                m = self.state.get("m." + name, 0.0) * typ(c.beta1) + typ(1 - c.beta1) * g
                v = self.state.get("v." + name, 0.0) * typ(c.beta2) + typ(1 - c.beta2) * (g * g)
                new_state["m." + name], new_state["v." + name] = m, v
                lr_t = lr * np.sqrt(1 - c.beta2**t) / (1 - c.beta1**t)
                new_params[name] = w - typ(lr_t) * m / (np.sqrt(v) + typ(c.eps))
        return Proposal(new_params, new_state, lr)

    def commit(self, params: dict[str, np.ndarray], proposal: Proposal) -> None:
        """Install a proposal: replaces the arrays in ``params`` (never writes into them)."""
        params.update(proposal.params)
        self.state.update(proposal.state)
        self.step += 1
