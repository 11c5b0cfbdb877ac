"""The classic first lesson: a 5-hidden-unit vanilla RNN learns 'the king sits on throne'."""

import numpy as np

from rnnviz.engine.config import ModelConfig, init_params
from rnnviz.engine.infer import step_token
from rnnviz.engine.optim import OptimConfig, Optimizer
from rnnviz.engine.step import train_step

WORDS = "the king sits on throne".split()


def test_toy_sentence_is_learned_and_throne_follows_king_sits_on():
    ids = np.arange(len(WORDS))  # vocabulary = the five words, one-hot
    x, y = ids[None, :4], ids[None, 1:]
    cfg = ModelConfig(cell="rnn", input="onehot", vocab_size=5, hidden_size=5)
    params = init_params(cfg, np.random.default_rng(0))
    opt = Optimizer(OptimConfig(kind="sgd", lr=0.1))
    losses = [train_step(params, cfg, opt, x, y).loss for _ in range(500)]
    assert 1.3 <= losses[0] <= 1.8  # about ln 5 = 1.61 at the start
    assert min(losses[:500]) < 0.05
    assert losses[-1] < 0.05
    assert all(b <= a + 1e-9 for a, b in zip(losses[::50], losses[50::50], strict=False)), "the loss keeps falling"

    state = None
    for word in ["the", "king", "sits", "on"]:  # step token by token, as the app does
        step = step_token(params, cfg, WORDS.index(word), state)
        state = step.state
    assert WORDS[int(np.argmax(step.probs))] == "throne"
    assert step.probs.max() > 0.9
