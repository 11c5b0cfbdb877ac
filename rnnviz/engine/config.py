"""Model configuration and parameter initialisation.

Parameter names (the keys of the ``params`` dict; gradients and optimizer state use the same keys)::

    embed.E          (V, D)        embedding table, input "embedding" only
    layer{l}.W_xh    (I_l, G*H)    I_0 = V (one-hot), D (embedding) or the dense input size; I_l = H above
    layer{l}.W_hh    (H, G*H)
    layer{l}.b_h     (G*H,)
    layer{l}.b_hh    (G*H,)        GRU only
    head.W_hy        (H, K)        K = V (language model), classes (classify) or outputs (regress)
    head.b_y         (K,)

G is the number of gate blocks (RNN 1, LSTM 4, GRU 3) in the cell's gate order (see ``cells``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from rnnviz.engine.cells import CELLS, get_cell

INPUTS = ("onehot", "embedding", "dense")
HEADS = ("lm", "classify", "regress")
DTYPES = ("float64", "float32")
RECURRENT_INITS = ("orthogonal", "uniform", "identity")
MAX_LAYERS = 3


@dataclass(frozen=True)
class ModelConfig:
    """What the network looks like. The defaults are a small character-level LSTM language model.

    ``vocab_size`` is the input vocabulary for token input ("onehot" or "embedding");
    ``input_size`` the number of features of "dense" input (e.g. 1 for a sine wave).
    ``output_size`` is the number of classes ("classify") or outputs ("regress"); for "lm" it is
    ``vocab_size`` and may be left at 0. ``recurrent_init`` is "uniform" (PyTorch's default, uniform in
    +-1/sqrt(H)), "orthogonal" or "identity"; ``recurrent_gain`` multiplies the initial ``W_hh``: with the
    orthogonal init every singular value of each gate block is exactly the gain, so a gain below 1
    makes gradients vanish at the start and a large one makes a vanilla RNN explode. ``dropout`` is
    applied to the outputs of every layer but the last, in training only (as PyTorch's ``nn.LSTM``);
    with one layer it has no effect.
    """

    cell: str = "lstm"
    input: str = "onehot"
    vocab_size: int = 65
    input_size: int = 0
    embed_size: int = 32
    hidden_size: int = 128
    num_layers: int = 1
    head: str = "lm"
    output_size: int = 0
    dropout: float = 0.0
    forget_bias: float = 1.0
    recurrent_init: str = "uniform"
    recurrent_gain: float = 1.0
    dtype: str = "float64"

    def __post_init__(self) -> None:
        problems = []
        if self.cell not in CELLS:
            problems.append(f"cell must be one of {', '.join(CELLS)}, not {self.cell!r}")
        if self.input not in INPUTS:
            problems.append(f"input must be one of {', '.join(INPUTS)}, not {self.input!r}")
        if self.head not in HEADS:
            problems.append(f"head must be one of {', '.join(HEADS)}, not {self.head!r}")
        if self.dtype not in DTYPES:
            problems.append(f"dtype must be float64 or float32, not {self.dtype!r}")
        if self.recurrent_init not in RECURRENT_INITS:
            problems.append(f"recurrent_init must be one of {', '.join(RECURRENT_INITS)}")
        if not 1 <= self.num_layers <= MAX_LAYERS:
            problems.append(f"the number of layers must be 1 to {MAX_LAYERS}, not {self.num_layers}")
        if self.hidden_size < 1:
            problems.append("the hidden size must be at least 1")
        if self.input == "dense" and self.input_size < 1:
            problems.append("dense input needs input_size >= 1")
        if self.input != "dense" and self.vocab_size < 1:
            problems.append("token input needs vocab_size >= 1")
        if self.input == "embedding" and self.embed_size < 1:
            problems.append("the embedding size must be at least 1")
        if self.head == "lm" and self.input == "dense":
            problems.append("a language model reads tokens: use onehot or embedding input")
        if self.head != "lm" and self.output_size < 1:
            problems.append(f"the {self.head} head needs output_size >= 1")
        if not 0.0 <= self.dropout < 1.0:
            problems.append("dropout must be in [0, 1)")
        if problems:
            raise ValueError("invalid model configuration: " + "; ".join(problems))

    @property
    def n_out(self) -> int:
        """K: the width of the head's output."""
        return self.vocab_size if self.head == "lm" else self.output_size

    @property
    def n_in(self) -> int:
        """I_0: the width of the first layer's input."""
        return {"onehot": self.vocab_size, "embedding": self.embed_size, "dense": self.input_size}[self.input]

    @property
    def gates(self) -> int:
        return len(get_cell(self.cell).GATES)

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def replace(self, **changes) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """The inverse of ``to_dict``. Refuses unknown keys and values not of the field's declared type
        (``__post_init__`` checks ranges, not types: a hidden size of 4.0 would pass it and then fail
        where an array is made); an ``int`` given for a float becomes a ``float``."""
        if not isinstance(d, dict):
            raise ValueError(f"model settings must be a mapping, not {type(d).__name__}")
        fields = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = set(d) - set(fields)
        if unknown:
            raise ValueError(f"unknown model settings: {', '.join(sorted(unknown))}")
        values = {}
        for name, value in d.items():
            kind = _FIELD_KINDS[fields[name]]  # the annotation, a string under postponed evaluation
            if isinstance(value, bool) or not isinstance(value, kind) or kind is _REAL and not _fits_float(value):
                raise ValueError(f"the model setting {name} must be {fields[name]}, not {value!r:.40}")
            values[name] = float(value) if kind is _REAL else value
        return cls(**values)


_REAL = (int, float)
_FIELD_KINDS = {"str": str, "int": int, "float": _REAL}  # ModelConfig's field annotations


def _fits_float(value) -> bool:
    """False for a whole number beyond any float (10**400): float() would raise OverflowError."""
    try:
        float(value)
    except OverflowError:
        return False
    return True


def param_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every parameter's name and shape, in a fixed order (the order of gradient checks and checkpoints)."""
    H, G = cfg.hidden_size, cfg.gates
    shapes: dict[str, tuple[int, ...]] = {}
    if cfg.input == "embedding":
        shapes["embed.E"] = (cfg.vocab_size, cfg.embed_size)
    for layer in range(cfg.num_layers):
        n_in = cfg.n_in if layer == 0 else H
        shapes[f"layer{layer}.W_xh"] = (n_in, G * H)
        shapes[f"layer{layer}.W_hh"] = (H, G * H)
        shapes[f"layer{layer}.b_h"] = (G * H,)
        if get_cell(cfg.cell).HAS_RECURRENT_BIAS:
            shapes[f"layer{layer}.b_hh"] = (G * H,)
    shapes["head.W_hy"] = (H, cfg.n_out)
    shapes["head.b_y"] = (cfg.n_out,)
    return shapes


def _orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    """A uniformly random n x n orthogonal matrix (QR of a Gaussian, signs fixed; Mezzadri 2007)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def init_params(cfg: ModelConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Fresh parameters for ``cfg``, drawn from ``rng`` only (same seed, same bits).

    Input and output weights and biases: uniform in ±1/sqrt(H), as PyTorch's recurrent layers. Each
    ``H x H`` gate block of ``W_hh``: ``recurrent_gain`` times a random orthogonal matrix (or, with
    ``recurrent_init="uniform"``, the same uniform law times the gain; with ``"identity"``, the
    identity times the gain: each unit feeds back only to itself; no random draw). LSTM forget-gate bias:
    ``forget_bias``. Embedding: standard normal, as ``nn.Embedding``.
    """
    H = cfg.hidden_size
    bound = 1.0 / np.sqrt(H)
    params: dict[str, np.ndarray] = {}
    for name, shape in param_shapes(cfg).items():
        kind = name.split(".")[1]
        if kind == "E":
            value = rng.standard_normal(shape)
        elif kind == "W_hh":
            blocks = []
            for _ in range(cfg.gates):
                if cfg.recurrent_init == "orthogonal":
                    blocks.append(_orthogonal(rng, H))
                elif cfg.recurrent_init == "identity":  # each unit feeds only itself (Le et al. 2015's IRNN)
                    blocks.append(np.eye(H))
                else:
                    blocks.append(rng.uniform(-bound, bound, (H, H)))
            value = cfg.recurrent_gain * np.concatenate(blocks, axis=1)
        else:
            value = rng.uniform(-bound, bound, shape)
        params[name] = value
    cell = get_cell(cfg.cell)
    if cell.FORGET_GATE is not None:
        k = cell.GATES.index(cell.FORGET_GATE)  # LSTM: block 1 of i, f, g, o
        for layer in range(cfg.num_layers):
            params[f"layer{layer}.b_h"][k * H : (k + 1) * H] = cfg.forget_bias
    return {name: np.ascontiguousarray(value, dtype=cfg.np_dtype) for name, value in params.items()}
