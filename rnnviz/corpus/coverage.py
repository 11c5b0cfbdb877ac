"""How much of a text its vocabulary covers, in a sentence for the user (said when a text is loaded)."""

from __future__ import annotations

from dataclasses import dataclass

UNK = "<unk>"  # the token every token a vocabulary leaves out is read as (rnnviz.corpus.vocab)
# An unknown-token rate at least this high is "a lot": the network cannot tell apart the tokens it reads
# as <unk>, so it learns little from them.
HIGH_UNKNOWN_RATE = 0.1


@dataclass(frozen=True)
class Coverage:
    """How much of a text its vocabulary covers: the text holds ``n_types`` different tokens, ``n_kept``
    of them are in the vocabulary, and ``n_unknown`` of its ``n_tokens`` tokens are read as ``<unk>``."""

    level: str
    n_types: int
    n_kept: int
    n_tokens: int
    n_unknown: int

    @property
    def unknown_rate(self) -> float:
        """The share of the text's tokens read as ``<unk>``."""
        return self.n_unknown / self.n_tokens if self.n_tokens else 0.0

    def describe(self) -> str:
        """One sentence for the user, e.g. "Vocabulary: the 499 most frequent of 3,000 different
        characters, covering 96.1% of the text; the other 3.9% is read as <unk>."."""
        unit = "characters" if self.level == "char" else "tokens (words, punctuation marks, line breaks)"
        if not self.n_unknown:
            return f"Vocabulary: all {self.n_types:,} different {unit} of the text."
        covered = _percent(1.0 - self.unknown_rate)
        text = (
            f"Vocabulary: the {self.n_kept:,} most frequent of {self.n_types:,} different {unit}, covering "
            f"{covered} of the text; the other {_percent(self.unknown_rate)} is read as {UNK}."
        )
        if self.unknown_rate >= HIGH_UNKNOWN_RATE:
            text += f" That is a lot: the network cannot tell apart what it reads as {UNK}; allow a larger vocabulary."
        return text


def _percent(share: float) -> str:
    """``0.961 -> "96.1%"``, never rounding a share that is not 0 or 1 to "0.0%" or "100.0%"."""
    if 0.0 < share < 0.0005:
        return "under 0.1%"
    if 0.9995 <= share < 1.0:
        return "over 99.9%"
    return f"{share:.1%}"
