"""Every bad request gets a 422 whose message names the field and says what is wrong; none changes
or crashes the server (it answers /health after each)."""

import numpy as np
import pytest

from rnnviz.serve.errors import MAX_BODY_BYTES
from rnnviz.serve.schemas import MAX_NEW_TOKENS, MAX_TEXT_CHARS

JSON = {"content-type": "application/json"}
OK = {"seed_text": "ROMEO:", "num_tokens": 5}


@pytest.mark.parametrize(
    "path, body, field, words",
    [
        ("/generate", {**OK, "temperature": -0.5}, "temperature", "must be at least 0, not -0.5"),
        ("/generate", '{"seed_text": "ROMEO:", "temperature": NaN}', "temperature", "finite number"),
        ("/generate", '{"seed_text": "ROMEO:", "temperature": Infinity}', "temperature", "finite number"),
        ("/generate", {**OK, "temperature": "hot"}, "temperature", "valid number"),
        ("/generate", {**OK, "top_k": 0}, "top_k", "must be at least 1, not 0"),
        ("/generate", {**OK, "num_tokens": MAX_NEW_TOKENS + 1}, "num_tokens", f"at most {MAX_NEW_TOKENS:,}"),
        ("/generate", {**OK, "num_tokens": -3}, "num_tokens", "at least 1"),
        ("/generate", {**OK, "seed": -1}, "seed", "at least 0"),
        ("/generate", {**OK, "seed_text": ""}, "seed_text", "must not be empty"),
        ("/generate", {**OK, "seed_text": "a" * (MAX_TEXT_CHARS + 1)}, "seed_text", f"at most {MAX_TEXT_CHARS:,}"),
        ("/generate", {"num_tokens": 5}, "seed_text", "is required"),
        ("/generate", {**OK, "seed_text": "ROMEO€ é"}, "seed_text", "does not know these characters: 'é', '€'"),
        ("/generate", {**OK, "temprature": 0.5}, "temprature", "not a field"),
        ("/generate", {**OK, "num_words": 5}, "num_words", "word-level"),
        ("/generate", '{"seed_text": "ROMEO:", ', "body", "not valid JSON"),
        ("/generate", "[1, 2]", "body", "must be a JSON object"),
        ("/generate", "", "body", "JSON object"),
        ("/predict", {"text": ""}, "text", "must not be empty"),
        ("/predict", {"text": "ROMEO", "top_k": 0}, "top_k", "at least 1"),
        ("/predict", {"text": "¿ROMEO?"}, "text", "'¿'"),
        ("/generate/stream", {**OK, "top_k": -1}, "top_k", "at least 1"),
    ],
)
def test_bad_requests_get_422_naming_the_field(char_api, path, body, field, words):
    if isinstance(body, str):
        r = char_api.post(path, content=body, headers=JSON)
    else:
        r = char_api.post(path, json=body)
    assert r.status_code == 422, r.text
    out = r.json()
    assert words in out["detail"], out
    assert field in [e["field"] for e in out["errors"]]
    assert char_api.get("/health").status_code == 200


def test_a_body_without_its_json_content_type_is_told_to_send_one(char_api):
    r = char_api.post("/generate", content='{"seed_text": "ROMEO:"}')  # as curl -d sends it without -H
    assert r.status_code == 422 and "Content-Type: application/json" in r.json()["detail"]


def test_an_oversized_body_is_refused_before_it_is_read_whole(char_api):
    huge = '{"seed_text": "' + "a" * (MAX_BODY_BYTES + 10) + '"}'
    assert char_api.post("/generate", content=huge, headers=JSON).status_code == 413

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"seed_text": "'
        for _ in range(MAX_BODY_BYTES // 100_000 + 2):
            yield b"a" * 100_000
        yield b'"}'

    assert char_api.post("/generate", content=chunks(), headers=JSON).status_code == 413
    assert char_api.get("/health").status_code == 200


def test_a_tiny_temperature_is_greedy_not_a_crash(char_api):
    r = char_api.post("/generate", json={**OK, "temperature": 1e-300, "num_tokens": 20, "seed": 1})
    assert r.status_code == 200
    greedy = char_api.post("/generate", json={**OK, "temperature": 0, "num_tokens": 20}).json()
    assert r.json()["generated_text"] == greedy["generated_text"]


def test_unknown_paths_and_methods_are_plain_http_errors(char_api):
    assert char_api.get("/nothing").status_code == 404
    assert char_api.get("/generate").status_code == 405


def test_nothing_a_client_sends_changes_the_model(char_api, served, checkpoints):
    from rnnviz.training import load_model

    model = served["char"]
    assert all(not a.flags.writeable for a in model.params.values())
    fresh = load_model(checkpoints["char"]).params
    assert all(np.array_equal(model.params[k], fresh[k]) for k in fresh)
