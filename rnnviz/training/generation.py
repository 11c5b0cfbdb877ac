"""Text from a language model: the prime as the model reads it, and the generated text as a person reads it.

    sample = sample_text(params, cfg, vocab, "ROMEO:", length=200, temperature=0.8, top_k=5, seed=3)
    sample.text        # the prime, then what the model wrote after it
    sample.unknown     # characters (or words) of the prime the model never saw: left out

One place for what ``rnnviz generate`` and the app's Generate panel both do. The sampling itself
(temperature, top-k, greedy at temperature 0) is the engine's (``engine.infer``). Same weights, same
prime, same settings and same seed: the same text, because the draws come from a Generator of the
seed's own and nothing else (a training run's random streams are never touched).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.corpus.vocab import Vocab
from rnnviz.engine.config import ModelConfig
from rnnviz.engine.infer import generate


def default_prime(vocab: Vocab) -> str:
    """What generation starts from when no prime is given: a new line, if the model knows it."""
    return "\n" if "\n" in vocab.tokens else vocab.tokens[-1]


def encode_prime(vocab: Vocab, prime: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(ids (n,), unknown)``: the prime as the model reads it, leaving out what it never saw (named in
    ``unknown``). An empty prime is ``default_prime``. Raises ValueError when nothing of it is known."""
    prime = prime or default_prime(vocab)
    unknown = tuple(vocab.unknown(prime))
    ids = vocab.encode(prime, errors="skip")
    if len(ids) == 0:
        raise ValueError(
            f"the prime text has no token the model knows (it never saw {', '.join(map(repr, unknown[:10]))})"
        )
    return ids.astype(np.intp), unknown


def full_text(vocab: Vocab, prime_ids, new_ids) -> str:
    """The prime and the generated tokens as one text (words are spaced knowing the words before)."""
    if vocab.level == "char":
        return vocab.decode(prime_ids) + vocab.decode(new_ids)
    return vocab.decode(list(prime_ids) + list(new_ids))


@dataclass(frozen=True)
class Sample:
    prime: str  # the prime as the model read it (unknown characters left out)
    text: str  # the prime, then the generated text
    unknown: tuple[str, ...]  # what the model never saw in the typed prime


def sample_text(
    params: dict[str, np.ndarray],
    cfg: ModelConfig,
    vocab: Vocab,
    prime: str,
    length: int,
    temperature: float,
    top_k: int | None,
    seed: int,
) -> Sample:
    """``length`` tokens after ``prime`` (see the module docstring). ValueError for a prime with no
    known token, a temperature that is not a number >= 0, or a negative length or top-k."""
    if length < 0 or (top_k or 0) < 0:
        raise ValueError("the length and top-k must not be negative")
    ids, unknown = encode_prime(vocab, prime)
    out = generate(params, cfg, ids, length, np.random.default_rng(seed), temperature, top_k or None)
    return Sample(full_text(vocab, ids, []), full_text(vocab, ids, out), unknown)
