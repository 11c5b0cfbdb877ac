"""Requests are served concurrently, each with its own state: the same seed gives the same text
whatever runs beside it, and a running generation does not hold up /health."""

import threading
from concurrent.futures import ThreadPoolExecutor

from rnnviz.serve.model import ServedModel
from rnnviz.training import load_model

from .conftest import events, running


def body(seed):
    return {"seed_text": "ROMEO:", "num_tokens": 150, "temperature": 1.0, "seed": seed}


def test_concurrent_generations_do_not_share_state(char_api):
    alone = {s: char_api.post("/generate", json=body(s)).json()["generated_text"] for s in range(8)}
    with ThreadPoolExecutor(8) as pool:  # eight at once, twice each, streamed and not
        plain = list(pool.map(lambda s: char_api.post("/generate", json=body(s % 8)).json(), range(16)))
        streamed = list(pool.map(lambda s: stream_text(char_api, body(s)), range(8)))
    assert all(r["generated_text"] == alone[s % 8] for s, r in enumerate(plain))
    assert streamed == [alone[s] for s in range(8)]


def stream_text(client, request) -> str:
    with client.stream("POST", "/generate/stream", json=request) as r:
        return "".join(data["text"] for name, data in events(r) if name == "token")


def gated(model: ServedModel, gate) -> ServedModel:
    """``model`` whose generations call ``gate()`` in their thread before drawing the first token."""
    tokens = model.tokens

    def gated_tokens(g, stopping):
        gate()
        yield from tokens(g, stopping)

    model.tokens = gated_tokens
    return model


def test_health_answers_while_a_generation_is_running(checkpoints):
    started, release = threading.Event(), threading.Event()

    def gate():
        started.set()
        assert release.wait(30)

    model = gated(ServedModel(load_model(checkpoints["char"])), gate)
    with running(model) as client, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(client.post, "/generate", json=body(1))
        assert started.wait(30)  # the generation holds a worker thread, waiting
        health = client.get("/health", timeout=10)
        assert health.status_code == 200 and not pending.done()
        release.set()
        assert pending.result().status_code == 200


def test_two_generations_run_at_the_same_time(checkpoints):
    both = threading.Barrier(2, timeout=30)  # passes only if two generations wait in it at once
    model = gated(ServedModel(load_model(checkpoints["char"])), both.wait)
    with running(model) as client, ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda s: client.post("/generate", json=body(s)), (1, 2)))
    assert [r.status_code for r in replies] == [200, 200]
