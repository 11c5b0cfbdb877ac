"""Every task trains: its loss falls; the names classifier beats the majority baseline; on the
long-range task the LSTM remembers across a gap where the vanilla RNN stays at chance."""

import numpy as np
import pytest

from rnnviz.corpus import LMCorpus, encode_corpus
from rnnviz.training import TrainConfig, Trainer


def train(cfg: TrainConfig, steps: int, task=None) -> tuple[Trainer, list[float]]:
    trainer = Trainer(cfg, task)
    losses = []
    for _ in range(steps):
        report = trainer.train_step()
        assert report.applied, report.problem
        losses.append(report.loss)
    return trainer, losses


def mean(xs):
    return float(np.mean(xs))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_character_language_model_loss_falls(cell, alice_small):
    cfg = TrainConfig(task="lm", cell=cell, hidden=48, seq_len=32, batch_size=16, lr=0.01, seed=1)
    trainer, losses = train(cfg, 150, task=alice_small)
    assert mean(losses[-20:]) < mean(losses[:5]) - 0.8  # from ~ln(V) = 4 to below ~3.2
    val = trainer.evaluate()
    assert val is not None and val.loss < losses[0] and val.perplexity == pytest.approx(np.exp(val.loss))


def test_word_language_model_with_embedding_loss_falls(alice_text):
    vocab, ids = encode_corpus(alice_text[:40000], "word", lower=True, max_size=500)
    task = LMCorpus(ids, vocab, seq_len=16, batch_size=16)
    cfg = TrainConfig(task="lm", level="word", cell="gru", hidden=48, seq_len=16, batch_size=16, lr=0.01)
    trainer, losses = train(cfg, 120, task=task)
    assert trainer.model_cfg.input == "embedding"
    assert mean(losses[-20:]) < mean(losses[:5]) - 1.0


def test_sine_regression_loss_falls():
    trainer, losses = train(TrainConfig(task="sine", cell="gru", hidden=24, seq_len=30, lr=0.01), 150)
    assert mean(losses[-10:]) < 0.1 * mean(losses[:5])
    assert trainer.evaluate().loss < 0.05


def test_toy_sentence_is_learned():
    trainer, losses = train(TrainConfig(task="toy", cell="rnn", hidden=5, optimizer="sgd", lr=0.1, clip="off"), 500)
    assert 1.3 <= losses[0] <= 1.8 and losses[-1] < 0.05


def test_names_classifier_beats_the_majority_baseline():
    cfg = TrainConfig(task="classify", cell="gru", hidden=64, batch_size=32, lr=0.005, seed=0)
    trainer, losses = train(cfg, 300)
    report = trainer.evaluate()
    baseline = trainer.task.baseline_accuracy
    assert 0.4 < baseline < 0.6  # Russian is about half of the names
    assert report.accuracy > baseline + 0.1
    assert report.confusion.shape == (18, 18) and report.confusion.sum() == report.count


def test_balanced_sampling_and_class_weighting_run():
    cfg = TrainConfig(task="classify", cell="rnn", hidden=16, sampling="balanced", class_weighting=True, seed=0)
    trainer, losses = train(cfg, 30)
    assert trainer.class_weights is not None and trainer.class_weights.shape == (18,)
    assert mean(losses[-5:]) < mean(losses[:5])


def test_lstm_remembers_across_a_gap_where_the_vanilla_rnn_is_at_chance():
    def accuracy(cell):
        cfg = TrainConfig(
            task="longrange",
            k=40,
            cell=cell,
            hidden=32,
            optimizer="adam",
            lr=0.003,
            clip="norm:1",
            forget_bias=3.0,
            seed=2,
        )
        trainer, _ = train(cfg, 300)
        return trainer.evaluate().accuracy, trainer.task.chance

    rnn, chance = accuracy("rnn")
    lstm, _ = accuracy("lstm")
    assert chance == 0.25
    assert rnn < chance + 0.15, "the vanilla RNN should not bridge 40 steps"
    assert lstm > 0.9
