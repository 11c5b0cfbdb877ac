"""The model a server serves: one checkpoint, loaded once, read by every request and changed by none.

Every request works on its own: a generation has its own hidden state (inside the engine's
``iter_generate``) and its own ``np.random.Generator`` seeded from the request, and the weights are
made read-only at load, so no request can change them and concurrent requests cannot see each
other. Same seed, same text, whatever else the server is doing.

What is served: language models (``/generate``, ``/predict`` of the next token) and classifiers
(``/predict`` of the class). A regression checkpoint (the sine task) reads numbers, not text, and is
refused at start-up.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import islice

import numpy as np

from rnnviz.corpus import CorpusError
from rnnviz.engine.infer import iter_generate, most_likely
from rnnviz.engine.model import forward
from rnnviz.serve.schemas import (
    DEFAULT_NEW_TOKENS,
    GenerateRequest,
    GenerateResponse,
    ModelInfo,
    Prediction,
    PredictRequest,
    PredictResponse,
    TokenEvent,
)
from rnnviz.training import TASK_TITLES, SavedModel
from rnnviz.training.evaluation import perplexity


class RequestProblem(ValueError):
    """A request this model cannot serve, in plain words; ``field`` is the JSON field at fault (422)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Generation:
    """One /generate request, checked: what to read first and how to draw what follows."""

    seed_text: str
    prime: np.ndarray  # (n,) token ids of the seed text, n >= 1
    unknown: tuple[str, ...]  # tokens of the seed text read as <unk>
    length: int  # tokens to generate
    temperature: float
    top_k: int | None
    seed: int


class ServedModel:
    """A checkpoint ready to serve, as ``load_model`` read it (which refuses weights that are not finite:
    "not_finite"). Raises ``CheckpointError`` for a damaged history or ``ValueError`` for a model that
    reads no text."""

    def __init__(self, saved: SavedModel):
        cfg = saved.model_cfg
        if saved.vocab is None or cfg.head == "regress":
            raise ValueError(
                f"{saved.name} is a model of the {saved.train_config.task} task, which reads numbers, not text; "
                "rnnviz serve serves language models and classifiers."
            )
        self.log = saved.training_log()  # the loss curves for /stats; raises for a damaged history
        for a in saved.params.values():
            a.setflags(write=False)  # nothing a request does can write into the weights
        self.name = saved.name
        self.cfg = cfg
        self.params = saved.params  # the optimizer state and the rest of the file are not kept
        self.vocab = saved.vocab
        self.class_names = saved.class_names
        self.train_config = saved.train_config
        self.meta = {k: saved.meta.get(k) for k in ("step", "tokens_seen", "progress", "task_title", "rnnviz_version")}

    @property
    def is_lm(self) -> bool:
        return self.cfg.head == "lm"

    def describe(self) -> str:
        """One line for the console: "a character-level LSTM language model (1 x 128)"."""
        what = "language model" if self.is_lm else f"classifier ({len(self.class_names)} classes)"
        level = "character" if self.vocab.level == "char" else "word"
        return f"a {level}-level {self.cfg.cell.upper()} {what} ({self.cfg.num_layers} x {self.cfg.hidden_size})"

    # -- text in --------------------------------------------------------------------------------
    def encode(self, text: str, field: str) -> tuple[np.ndarray, tuple[str, ...]]:
        """``(ids (n,), unknown)``: the text as the model reads it. Unknown tokens become <unk> where
        the vocabulary has one (and are named in ``unknown``); otherwise the request is refused,
        naming them. Raises ``RequestProblem`` for those and for a text with no token at all."""
        vocab = self.vocab
        if vocab.unk_id is None:
            try:
                ids, unknown = vocab.encode(text, errors="raise"), ()
            except CorpusError as e:
                raise RequestProblem(field, f"{field}: {e}") from e
        else:
            ids, unknown = vocab.encode(text, errors="unk"), tuple(vocab.unknown(text))
        if len(ids) == 0:
            raise RequestProblem(field, f"{field} holds no token the model reads (spaces only separate words)")
        return ids.astype(np.intp), unknown

    # -- /generate --------------------------------------------------------------------------------
    def plan(self, req: GenerateRequest) -> Generation:
        """Check a generation request against this model; raises ``RequestProblem``."""
        if not self.is_lm:
            raise RequestProblem("body", f"{self.name} is a classifier: it does not generate text (use /predict)")
        if req.num_words is not None and self.vocab.level != "word":
            raise RequestProblem("num_words", "num_words is for word-level models; this one reads characters: "
                                 "use num_tokens")  # fmt: skip
        if req.num_words is not None and req.num_tokens is not None:
            raise RequestProblem("num_words", "give num_tokens or num_words, not both")
        prime, unknown = self.encode(req.seed_text, "seed_text")
        length = next((n for n in (req.num_tokens, req.num_words) if n is not None), DEFAULT_NEW_TOKENS)
        seed = req.seed if req.seed is not None else secrets.randbits(63)
        return Generation(req.seed_text, prime, unknown, length, req.temperature, req.top_k, seed)

    def tokens(self, g: Generation, stopping: threading.Event) -> Iterator[TokenEvent]:
        """The generated tokens one by one, each with the text it adds. Stops early once ``stopping``
        is set (the server is shutting down)."""
        rng = np.random.default_rng(g.seed)  # this request's own stream: same seed, same draws
        ids = iter_generate(self.params, self.cfg, g.prime, rng, g.temperature, g.top_k)
        decode_next = self.vocab.decoder(g.prime)  # a word's spacing depends on the words before it
        for index, token_id in enumerate(islice(ids, g.length)):
            yield TokenEvent(index=index, id=token_id, text=decode_next(token_id))
            if stopping.is_set():
                return

    def response(self, g: Generation, pieces: list[str]) -> GenerateResponse:
        return GenerateResponse(
            seed_text=g.seed_text, generated_text="".join(pieces), num_tokens_generated=len(pieces),
            temperature=g.temperature, top_k=g.top_k, seed=g.seed, unknown=list(g.unknown),
        )  # fmt: skip

    # -- /predict ---------------------------------------------------------------------------------
    def predict(self, req: PredictRequest) -> PredictResponse:
        """The next-token distribution after ``text`` (language model) or its class probabilities."""
        ids, unknown = self.encode(req.text, "text")
        fp = forward(self.params, self.cfg, ids[None])  # one row: x (1, T)
        # lm: probs (T, 1, K), the row after the last token; classify: probs (1, K), read at the end
        probs = fp.probs[-1] if self.is_lm else fp.probs  # (1, K)
        top_ids, top_p = most_likely(probs, req.top_k)  # (1, k) each
        labels = self.vocab.tokens if self.is_lm else self.class_names
        pairs = zip(top_ids[0].tolist(), top_p[0].tolist(), strict=True)
        predictions = [Prediction(label=labels[i], id=i, probability=p) for i, p in pairs]
        return PredictResponse(
            text=req.text, kind="next_token" if self.is_lm else "class", tokens_read=len(ids), unknown=list(unknown),
            predictions=predictions,
        )  # fmt: skip

    # -- /model/info and /stats --------------------------------------------------------------------
    def info(self) -> ModelInfo:
        cfg, evals, meta = self.cfg, self.log.evals, self.meta
        last = evals.n - 1
        val_loss = _finite(evals["loss"][last]) if evals.n else None
        val_accuracy = _finite(evals["accuracy"][last]) if evals.n else None
        return ModelInfo(
            checkpoint=self.name, task=self.train_config.task,
            task_title=meta["task_title"] or TASK_TITLES.get(self.train_config.task, ""), head=cfg.head,
            cell=cfg.cell, layers=cfg.num_layers, hidden_size=cfg.hidden_size, input=cfg.input, dtype=cfg.dtype,
            vocab_size=self.vocab.size, level=self.vocab.level, has_unk=self.vocab.unk_id is not None,
            classes=list(self.class_names), parameters=sum(a.size for a in self.params.values()),
            step=meta["step"], tokens_seen=meta["tokens_seen"], epochs=meta["progress"],
            val_step=int(evals["x"][last]) if evals.n else None, val_loss=val_loss,
            val_perplexity=perplexity(val_loss) if self.is_lm and val_loss is not None else None,
            val_accuracy=val_accuracy, saved_by=meta["rnnviz_version"], settings=self.train_config.to_dict(),
        )  # fmt: skip

    @cached_property
    def stats_json(self) -> bytes:
        """/stats, rendered once (the checkpoint never changes; 200,000 steps are a few MB of JSON).
        Non-finite numbers (a refused step's loss, a language model's accuracy) are null."""
        steps, evals = self.log.steps, self.log.evals
        losses = [_finite(v) for v in evals["loss"].tolist()]
        body = {
            "step": self.meta["step"],
            "decimated": steps.decimated or evals.decimated,
            "train": {
                "step": [int(v) for v in steps["x"].tolist()],
                **{k: [_finite(v) for v in steps[k].tolist()] for k in ("loss", "grad_norm", "clipped_norm")},
                "clipped": [v == 1.0 for v in steps["clipped"].tolist()],
            },
            "validation": {
                "step": [int(v) for v in evals["x"].tolist()],
                "loss": losses,
                "perplexity": [perplexity(v) if self.is_lm and v is not None else None for v in losses],
                "accuracy": [_finite(v) for v in evals["accuracy"].tolist()],
            },
        }
        return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None
