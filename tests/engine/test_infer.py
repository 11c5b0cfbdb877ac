"""Stepping one token reproduces the batched forward pass; sampling honours temperature and top-k;
generators over one set of weights keep their own state."""

from concurrent.futures import ThreadPoolExecutor
from itertools import islice

import numpy as np
import pytest

from rnnviz.engine.config import ModelConfig, init_params
from rnnviz.engine.infer import generate, iter_generate, most_likely, sample, step_token
from rnnviz.engine.model import forward


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_stepping_token_by_token_equals_the_batched_forward(cell):
    cfg = ModelConfig(cell=cell, vocab_size=10, hidden_size=6, num_layers=2)
    params = init_params(cfg, np.random.default_rng(0))
    tokens = [3, 1, 4, 1, 5, 9, 2, 6]
    fp = forward(params, cfg, np.array([tokens]))
    state = None
    for t, tok in enumerate(tokens):
        s = step_token(params, cfg, tok, state)
        state = s.state
        for layer in range(2):
            np.testing.assert_allclose(s.hs[layer], fp.layers[layer].hs[t + 1, 0], rtol=1e-12)
            np.testing.assert_allclose(s.acts[layer], fp.layers[layer].acts[t, :, 0], rtol=1e-12)
            if cell == "lstm":
                np.testing.assert_allclose(s.cs[layer], fp.layers[layer].cs[t + 1, 0], rtol=1e-12)
        np.testing.assert_allclose(s.probs, fp.probs[t, 0], rtol=1e-12)
        assert s.probs.sum() == pytest.approx(1.0)


def test_temperature_zero_is_argmax_and_never_divides_by_zero():
    logits = np.array([0.1, 3.0, -2.0, 2.9])
    rng = np.random.default_rng(0)
    assert all(sample(logits, rng, temperature=0.0) == 1 for _ in range(20))
    with pytest.raises(ValueError):
        sample(logits, rng, temperature=-1.0)


def test_top_k_limits_the_choices_and_temperature_sharpens():
    logits = np.log(np.array([0.4, 0.3, 0.2, 0.1]))
    rng = np.random.default_rng(0)
    draws = [sample(logits, rng, temperature=1.0, top_k=2) for _ in range(2000)]
    assert set(draws) == {0, 1}
    assert abs(np.mean(np.array(draws) == 0) - 0.4 / 0.7) < 0.04
    cold = [sample(logits, rng, temperature=0.1) for _ in range(500)]
    assert np.mean(np.array(cold) == 0) > 0.9
    hot = [sample(logits, rng, temperature=10.0) for _ in range(2000)]
    assert np.mean(np.array(hot) == 3) > 0.2


def test_generate_is_deterministic_per_seed_and_greedy_is_repeatable():
    cfg = ModelConfig(cell="lstm", vocab_size=12, hidden_size=8)
    params = init_params(cfg, np.random.default_rng(1))
    a = generate(params, cfg, [1, 2], 30, np.random.default_rng(5), temperature=1.0)
    b = generate(params, cfg, [1, 2], 30, np.random.default_rng(5), temperature=1.0)
    assert a == b and len(a) == 30 and all(0 <= t < 12 for t in a)
    g1 = generate(params, cfg, [1, 2], 10, np.random.default_rng(0), temperature=0.0)
    g2 = generate(params, cfg, [1, 2], 10, np.random.default_rng(99), temperature=0.0)
    assert g1 == g2
    with pytest.raises(ValueError):
        generate(params, cfg, [], 5, np.random.default_rng(0))


def test_nan_temperature_is_refused_and_a_tiny_one_is_greedy_without_nan():
    logits = np.array([0.1, 3.0, -2.0, 2.9])
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        sample(logits, rng, temperature=float("nan"))
    # dividing the logits themselves by 1e-300 overflows to inf, and softmax(inf - inf) is NaN
    assert all(sample(logits, rng, temperature=1e-300) == 1 for _ in range(20))
    assert sample(logits, rng, temperature=1e-310, top_k=2) == 1  # subnormal: the others become -inf


def test_most_likely_is_the_k_largest_largest_first():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(50), size=4)  # (T, K) = (4, 50)
    for k in (1, 5, 50, 80):
        ids, p = most_likely(probs, k)
        assert ids.shape == p.shape == (4, min(k, 50))
        np.testing.assert_array_equal(p, np.take_along_axis(probs, ids, axis=1))
        np.testing.assert_array_equal(p, -np.sort(-probs, axis=1)[:, : min(k, 50)])


def test_iter_generate_is_generate_and_independent_generators_do_not_interfere():
    cfg = ModelConfig(cell="gru", vocab_size=12, hidden_size=8, num_layers=2)
    params = init_params(cfg, np.random.default_rng(1))
    before = {k: v.copy() for k, v in params.items()}
    expected = {seed: generate(params, cfg, [1, 2], 40, np.random.default_rng(seed), 0.9, 5) for seed in range(4)}
    # interleaved, one token of each in turn: every generator keeps its own state and draws
    streams = {seed: iter_generate(params, cfg, [1, 2], np.random.default_rng(seed), 0.9, 5) for seed in range(4)}
    got = {seed: [] for seed in streams}
    for _ in range(40):
        for seed, stream in streams.items():
            got[seed].append(next(stream))
    assert got == expected
    # and in threads, over the same weights
    with ThreadPoolExecutor(4) as pool:
        threaded = dict(zip(range(4), pool.map(lambda s: expected_of(params, cfg, s), range(4)), strict=True))
    assert threaded == expected
    assert all(np.array_equal(before[k], params[k]) for k in params)  # only read


def expected_of(params, cfg, seed):
    return list(islice(iter_generate(params, cfg, [1, 2], np.random.default_rng(seed), 0.9, 5), 40))


def test_iter_generate_checks_its_arguments_before_the_first_draw():
    cfg = ModelConfig(cell="rnn", vocab_size=5, hidden_size=3)
    params = init_params(cfg, np.random.default_rng(0))
    for bad in ({"prime": []}, {"temperature": -1.0}, {"temperature": float("nan")}):
        kwargs = {"prime": [1], "temperature": 1.0, **bad}
        with pytest.raises(ValueError):
            iter_generate(params, cfg, kwargs["prime"], np.random.default_rng(0), kwargs["temperature"])


@pytest.mark.parametrize("temperature", [5e-324, 1e-320, 1e-300, 1e-30])
def test_a_tiny_temperature_is_greedy_and_never_gives_nan_probabilities(temperature):
    # logits / 5e-324 overflowed to inf, and inf - inf made "Probabilities contain NaN"
    rng = np.random.default_rng(0)
    for _ in range(50):
        logits = rng.normal(size=7) * 3
        assert sample(logits, rng, temperature) == int(np.argmax(logits))
    cfg = ModelConfig(cell="gru", vocab_size=12, hidden_size=8)
    params = init_params(cfg, np.random.default_rng(1))
    greedy = generate(params, cfg, [1, 2], 10, np.random.default_rng(0), temperature=0.0)
    assert generate(params, cfg, [1, 2], 10, np.random.default_rng(3), temperature=temperature) == greedy


@pytest.mark.parametrize("temperature", [float("nan"), -1e-300, float("-inf")])
def test_a_temperature_that_is_not_a_number_from_0_up_is_refused(temperature):
    with pytest.raises(ValueError, match="temperature"):
        sample(np.zeros(3), np.random.default_rng(0), temperature)
