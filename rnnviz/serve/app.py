"""The HTTP API over one ServedModel: FastAPI, documented at /docs (OpenAPI at /openapi.json).

    GET  /health            is it up: status, model loaded, version
    GET  /model/info        what the model is: cell, sizes, vocabulary, task, training step, last validation
    GET  /stats             the training history saved with the checkpoint, as curves of points
    POST /generate          {seed_text, num_tokens | num_words, temperature, top_k, seed} -> the continuation
    POST /generate/stream   the same as server-sent events: one "token" event per token, then "done"
    POST /predict           {text, top_k} -> the most likely next tokens, or a classifier's classes

Concurrency: the model's work (generate, predict, rendering /stats) is in plain ``def`` endpoints,
which FastAPI runs in its thread pool, and a stream is a plain generator, which Starlette also
iterates in the pool; /health and /model/info are ``async`` and answered on the event loop itself,
so however many generations are running, /health answers at once. NumPy holds the interpreter lock
for most of a small model's step, so the threads take turns (every 5 ms at most): requests are served
concurrently, not in parallel on several cores.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse

from rnnviz import __version__
from rnnviz.serve.errors import BodyLimit, request_problem, validation_failed
from rnnviz.serve.model import Generation, RequestProblem, ServedModel
from rnnviz.serve.schemas import (
    ErrorResponse,
    GenerateRequest,
    GenerateResponse,
    Health,
    ModelInfo,
    PredictRequest,
    PredictResponse,
    Stats,
)

REFUSED = {422: {"model": ErrorResponse, "description": "the request was refused; `detail` says why"}}


def create_app(model: ServedModel) -> FastAPI:
    stopping = threading.Event()  # set at shutdown: a generation still running stops at its next token

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        stopping.set()

    app = FastAPI(
        title="rnnviz",
        version=__version__,
        description=f"Serving **{model.name}**, {model.describe()}. Every refusal is a 422 whose `detail` "
        "says what is wrong.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit)
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(RequestProblem, request_problem)
    info = model.info()  # the checkpoint never changes

    @app.get("/health", response_model=Health, summary="Is the server up")
    async def health() -> Health:
        return Health(status="ok", model_loaded=True, version=__version__, checkpoint=model.name)

    @app.get("/model/info", response_model=ModelInfo, summary="What the model is")
    async def model_info() -> ModelInfo:
        return info

    @app.get("/stats", response_model=Stats, summary="The training history saved with the checkpoint")
    def stats() -> Response:
        return Response(model.stats_json, media_type="application/json")  # rendered once, then reused

    @app.post("/generate", response_model=GenerateResponse, responses=REFUSED, summary="Generate text")
    def generate(req: GenerateRequest) -> GenerateResponse:
        """Read `seed_text`, then draw `num_tokens` tokens (`num_words` for a word-level model; default
        200). Temperature 0 always takes the most likely token; the same `seed` gives the same text."""
        g = model.plan(req)
        return model.response(g, [t.text for t in model.tokens(g, stopping)])

    @app.post(
        "/generate/stream",
        responses={**REFUSED, 200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}},
        response_class=StreamingResponse,
        summary="Generate text, streamed as server-sent events",
    )
    def generate_stream(req: GenerateRequest) -> StreamingResponse:
        """The request of /generate. The reply is a stream of server-sent events: one `token` event per
        token, its data a JSON object `{index, id, text}` (`text`: what the token adds, at word level
        with its leading space), then one `done` event whose data is the response /generate gives."""
        g = model.plan(req)  # refused here, as a plain 422, before the stream starts
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy may hold the events back
        return StreamingResponse(_events(model, g, stopping), media_type="text/event-stream", headers=headers)

    @app.post("/predict", response_model=PredictResponse, responses=REFUSED, summary="The next token, or the class")
    def predict(req: PredictRequest) -> PredictResponse:
        """After reading `text`: the `top_k` most likely next tokens (language model) or classes
        (classifier), with their probabilities, most likely first."""
        return model.predict(req)

    return app


def _events(model: ServedModel, g: Generation, stopping: threading.Event) -> Iterator[str]:
    pieces = []
    for token in model.tokens(g, stopping):
        pieces.append(token.text)
        yield _event("token", token.model_dump_json())
    yield _event("done", model.response(g, pieces).model_dump_json())


def _event(name: str, data: str) -> str:
    """One server-sent event. ``data`` is one line of JSON (a newline in a token is escaped as \\n)."""
    return f"event: {name}\ndata: {data}\n\n"
