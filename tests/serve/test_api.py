"""Every endpoint over real HTTP: what it returns, that it is the engine's own numbers, determinism."""

import math

import numpy as np
import pytest

from rnnviz import __version__
from rnnviz.engine.infer import generate
from rnnviz.engine.model import forward
from rnnviz.serve.schemas import DEFAULT_NEW_TOKENS, ModelInfo, Stats

from .conftest import events


def test_health(char_api, checkpoints):
    r = char_api.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "model_loaded": True, "version": __version__, "checkpoint": "char.npz"}


def test_model_info_describes_the_checkpoint(char_api, served):
    model = served["char"]
    info = ModelInfo.model_validate(char_api.get("/model/info").json())
    cfg, evals = model.cfg, model.log.evals
    assert (info.cell, info.layers, info.hidden_size, info.head) == (cfg.cell, cfg.num_layers, cfg.hidden_size, "lm")
    assert (info.vocab_size, info.level, info.has_unk) == (model.vocab.size, "char", False)
    assert info.parameters == sum(a.size for a in model.params.values())
    assert info.step == 4 and info.val_step == 4 and info.settings["hidden"] == cfg.hidden_size
    assert info.val_loss == pytest.approx(evals["loss"][-1])
    assert info.val_perplexity == pytest.approx(math.exp(info.val_loss))
    assert info.val_accuracy is None and info.classes == []


def test_stats_are_the_saved_history_as_points(char_api, served):
    log = served["char"].log
    stats = Stats.model_validate(char_api.get("/stats").json())
    assert stats.step == 4 and not stats.decimated
    assert stats.train.step == log.steps["x"].astype(int).tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(stats.train.loss, log.steps["loss"])
    assert len(stats.train.grad_norm) == len(stats.train.clipped) == 4
    assert stats.validation.step == [4]
    assert stats.validation.perplexity[0] == pytest.approx(math.exp(stats.validation.loss[0]))
    assert stats.validation.accuracy == [None]  # a language model has none: null, never NaN (not JSON)


def test_the_same_seed_gives_the_same_text_and_the_engines_tokens(char_api, served):
    model = served["char"]
    body = {"seed_text": "ROMEO:", "num_tokens": 60, "temperature": 0.8, "top_k": 10, "seed": 7}
    a, b = char_api.post("/generate", json=body).json(), char_api.post("/generate", json=body).json()
    assert a == b
    assert a["seed_text"] == "ROMEO:" and a["num_tokens_generated"] == 60 and len(a["generated_text"]) == 60
    assert (a["temperature"], a["top_k"], a["seed"], a["unknown"]) == (0.8, 10, 7, [])
    # the engine's sampler with the request's own Generator: there is no second sampler in the server
    prime = model.vocab.encode("ROMEO:")
    ids = generate(model.params, model.cfg, prime, 60, np.random.default_rng(7), 0.8, 10)
    assert a["generated_text"] == model.vocab.decode(ids)
    other = char_api.post("/generate", json={**body, "seed": 8}).json()
    assert other["generated_text"] != a["generated_text"]


def test_without_a_seed_the_response_names_the_seed_that_repeats_it(char_api):
    first = char_api.post("/generate", json={"seed_text": "ROMEO"}).json()
    assert first["num_tokens_generated"] == DEFAULT_NEW_TOKENS and first["top_k"] is None
    again = char_api.post("/generate", json={"seed_text": "ROMEO", "seed": first["seed"]}).json()
    assert again["generated_text"] == first["generated_text"]


def test_temperature_zero_is_greedy(char_api, served):
    model = served["char"]
    texts = {
        char_api.post("/generate", json={"seed_text": "the ", "num_tokens": 30, "temperature": 0, "seed": s}).json()[
            "generated_text"
        ]
        for s in (1, 2, 3)
    }
    assert len(texts) == 1
    # each token is the argmax after the text so far
    text = "the "
    for ch in texts.pop():
        probs = forward(model.params, model.cfg, model.vocab.encode(text).astype(np.intp)[None]).probs[-1, 0]
        assert model.vocab.tokens[int(np.argmax(probs))] == ch
        text += ch


def test_the_stream_sends_one_event_per_token_then_the_response(char_api):
    body = {"seed_text": "ROMEO:", "num_tokens": 25, "temperature": 1.0, "seed": 3}
    with char_api.stream("POST", "/generate/stream", json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        got = events(r)
    tokens, (last, done) = got[:-1], got[-1]
    assert [name for name, _ in tokens] == ["token"] * 25 and last == "done"
    assert [t["index"] for _, t in tokens] == list(range(25))
    assert "".join(t["text"] for _, t in tokens) == done["generated_text"]
    assert done == char_api.post("/generate", json=body).json()  # the stream is /generate, token by token


def test_a_refused_stream_is_a_plain_422(char_api):
    r = char_api.post("/generate/stream", json={"seed_text": "ROMEO:", "temperature": -1})
    assert r.status_code == 422 and "temperature" in r.json()["detail"]


def test_word_level_generates_words_joined_with_spaces_and_reads_unknown_words_as_unk(word_api, served):
    model = served["word"]
    vocab = model.vocab
    body = {"seed_text": "First Citizen zyzzyva: you", "num_words": 40, "seed": 5}
    out = word_api.post("/generate", json=body).json()
    assert out["num_tokens_generated"] == 40 and out["unknown"] == ["zyzzyva"]
    prime = vocab.encode(body["seed_text"])  # zyzzyva is read as <unk>
    assert prime[2] == vocab.unk_id
    ids = generate(model.params, model.cfg, prime, 40, np.random.default_rng(5))
    whole = vocab.decode(np.concatenate([prime, ids]))  # words joined with spaces, none before punctuation
    assert out["generated_text"] == whole[len(vocab.decode(prime)) :]
    assert out["generated_text"].count(" ") >= 10
    # num_tokens is the same thing; both at once is refused
    same = word_api.post("/generate", json={**body, "num_words": None, "num_tokens": 40}).json()
    assert same["generated_text"] == out["generated_text"]
    both = word_api.post("/generate", json={**body, "num_tokens": 40})
    assert both.status_code == 422 and "not both" in both.json()["detail"]
    # streamed, the pieces carry their spaces: they concatenate to the text
    with word_api.stream("POST", "/generate/stream", json=body) as r:
        got = events(r)
    assert "".join(d["text"] for name, d in got if name == "token") == out["generated_text"]


def test_predict_gives_the_engines_next_token_distribution(char_api, served):
    model = served["char"]
    out = char_api.post("/predict", json={"text": "To be or not to b", "top_k": 5}).json()
    assert out["kind"] == "next_token" and out["tokens_read"] == 17 and out["unknown"] == []
    probs = forward(model.params, model.cfg, model.vocab.encode("To be or not to b").astype(np.intp)[None]).probs
    expected = np.sort(probs[-1, 0])[::-1][:5]
    got = [p["probability"] for p in out["predictions"]]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert all(model.vocab.tokens[p["id"]] == p["label"] for p in out["predictions"])
    everything = char_api.post("/predict", json={"text": "To be", "top_k": 10_000}).json()["predictions"]
    assert len(everything) == model.vocab.size and sum(p["probability"] for p in everything) == pytest.approx(1.0)


def test_a_classifier_predicts_classes_and_does_not_generate(names_api, served):
    model = served["names"]
    out = names_api.post("/predict", json={"text": "Dostoevsky", "top_k": 100}).json()
    assert out["kind"] == "class" and out["tokens_read"] == len("Dostoevsky")
    labels = [p["label"] for p in out["predictions"]]
    assert sorted(labels) == sorted(model.class_names)
    probs = [p["probability"] for p in out["predictions"]]
    assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0)
    info = names_api.get("/model/info").json()
    assert info["head"] == "classify" and info["classes"] == list(model.class_names)
    assert info["val_accuracy"] is not None and info["val_perplexity"] is None
    r = names_api.post("/generate", json={"seed_text": "Dostoevsky"})
    assert r.status_code == 422 and "classifier" in r.json()["detail"]


def test_the_api_is_documented(char_api):
    assert char_api.get("/docs").status_code == 200
    spec = char_api.get("/openapi.json").json()
    assert {"/health", "/model/info", "/stats", "/generate", "/generate/stream", "/predict"} <= set(spec["paths"])
    temperature = spec["components"]["schemas"]["GenerateRequest"]["properties"]["temperature"]
    assert temperature["minimum"] == 0 and "description" in temperature
