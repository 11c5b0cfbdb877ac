"""What a client sends and gets back: pydantic models, which FastAPI validates and documents at /docs.

The limits a request must keep to are declared here, once, on its fields (``Field(ge=..., le=...)``):
pydantic enforces them, the OpenAPI schema shows them, and ``errors`` words a refusal from them.
Unknown fields are refused (``extra="forbid"``), so a misspelt "temprature" is an error instead of
being silently ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_TEXT_CHARS = 10_000  # a seed or predict text: the forward pass over it is one (1, T) batch
MAX_NEW_TOKENS = 5_000  # tokens one request may generate (~0.3 s for the default model)
DEFAULT_NEW_TOKENS = 200
MAX_SEED = 2**64 - 1


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateRequest(Request):
    seed_text: str = Field(
        min_length=1, max_length=MAX_TEXT_CHARS, description="the text the model reads before it goes on",
        examples=["ROMEO:"],
    )  # fmt: skip
    num_tokens: int | None = Field(
        None, ge=1, le=MAX_NEW_TOKENS, description=f"tokens to generate (default {DEFAULT_NEW_TOKENS})"
    )
    num_words: int | None = Field(
        None, ge=1, le=MAX_NEW_TOKENS,
        description="word-level models: the same as num_tokens (a token is a word, a punctuation mark or a line "
        "break); give one of the two",
    )  # fmt: skip
    temperature: float = Field(
        1.0, ge=0.0, allow_inf_nan=False,
        description="randomness: 0 always takes the most likely token, 1 samples as trained, above 1 is wilder",
    )  # fmt: skip
    top_k: int | None = Field(None, ge=1, description="draw only among the k most likely tokens (default: all)")
    seed: int | None = Field(
        None, ge=0, le=MAX_SEED, description="random seed: the same seed gives the same text (default: a new one, "
        "returned in the response)",
    )  # fmt: skip


class GenerateResponse(BaseModel):
    seed_text: str
    generated_text: str = Field(description="the continuation only: seed_text + generated_text is the whole text")
    num_tokens_generated: int
    temperature: float
    top_k: int | None
    seed: int = Field(description="the seed used: send it again for the same text")
    unknown: list[str] = Field(description="tokens of seed_text the model never saw, read as <unk>")


class TokenEvent(BaseModel):
    """One server-sent event of /generate/stream (``event: token``); the last one is ``event: done``
    with a GenerateResponse."""

    index: int
    id: int
    text: str = Field(description="what this token adds to the text (at word level with its leading space)")


class PredictRequest(Request):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, examples=["To be or not to b"])
    top_k: int = Field(10, ge=1, description="how many of the most likely tokens (or classes) to return")


class Prediction(BaseModel):
    label: str = Field(description="the token (language model) or the class name (classifier)")
    id: int
    probability: float


class PredictResponse(BaseModel):
    text: str
    kind: Literal["next_token", "class"]
    tokens_read: int
    unknown: list[str] = Field(description="tokens of the text the model never saw, read as <unk>")
    predictions: list[Prediction] = Field(description="most likely first")


class Health(BaseModel):
    status: Literal["ok"]
    model_loaded: bool
    version: str = Field(description="rnnviz's version")
    checkpoint: str


class ModelInfo(BaseModel):
    checkpoint: str
    task: str
    task_title: str
    head: Literal["lm", "classify"]
    cell: str
    layers: int
    hidden_size: int
    input: str
    dtype: str
    vocab_size: int
    level: Literal["char", "word"]
    has_unk: bool
    classes: list[str] = Field(description="a classifier's classes, in id order; empty for a language model")
    parameters: int = Field(description="number of weights")
    step: int | None = Field(description="training steps taken")
    tokens_seen: int | None
    epochs: float | None
    val_step: int | None = Field(description="the step of the last validation (None: never validated)")
    val_loss: float | None
    val_perplexity: float | None = Field(description="exp(val_loss), language models")
    val_accuracy: float | None = Field(description="classifiers")
    saved_by: str | None = Field(description="the rnnviz version that wrote the checkpoint")
    settings: dict[str, Any] = Field(description="the run's settings (rnnviz train's options)")


class TrainCurve(BaseModel):
    """One row per training step, as parallel arrays: point i is (step[i], loss[i]), and so on."""

    step: list[int]
    loss: list[float | None]
    grad_norm: list[float | None] = Field(description="global gradient norm before clipping")
    clipped_norm: list[float | None] = Field(description="... and after")
    clipped: list[bool]


class ValidationCurve(BaseModel):
    """One row per validation pass, as parallel arrays."""

    step: list[int]
    loss: list[float | None]
    perplexity: list[float | None]
    accuracy: list[float | None]


class Stats(BaseModel):
    step: int | None
    decimated: bool = Field(description="a long run keeps every other point of its older half (at most 200,000)")
    train: TrainCurve
    validation: ValidationCurve


class Problem(BaseModel):
    field: str = Field(description="the request field at fault, or 'body'")
    message: str


class ErrorResponse(BaseModel):
    detail: str = Field(description="what is wrong, in words")
    errors: list[Problem] = Field(default_factory=list)
