"""The echo task: the target is exactly the input from d steps ago (zeros before the start)."""

import numpy as np
import pytest

from rnnviz.corpus import EchoTask, echo_targets
from rnnviz.training import TrainConfig, build_task


@pytest.mark.parametrize("delay", [0, 1, 3, 29])
def test_targets_are_the_inputs_shifted_by_the_delay_exactly(delay):
    task = EchoTask(delay=delay, seq_len=30, batch_size=4)
    batch = next(task.train_batches(np.random.default_rng(0)))
    x, y = batch.x[:, :, 0], batch.y[:, :, 0]  # (B, T)
    assert batch.x.shape == batch.y.shape == (4, 30, 1)
    for t in range(30):
        expected = x[:, t - delay] if t >= delay else np.zeros(4)
        assert np.array_equal(y[:, t], expected), t  # exact: a copy, no arithmetic
    assert np.abs(x).max() <= 1.0 and x.std() > 0.4  # dense random values in [-1, 1]
    assert task.spec.target_offset == -delay and task.spec.head == "regress"


def test_zero_loss_is_the_loss_of_answering_zero():
    task = EchoTask(delay=5, seq_len=20, batch_size=64, n_val_batches=16)
    y = np.concatenate([b.y for b in task.val_batches()])
    assert abs(float(np.mean(y**2)) - task.zero_loss) < 0.01  # (T - d) / T / 3
    assert "0.250" in task.notes[0]


def test_validation_is_fixed_and_training_draws_fresh_values():
    task = EchoTask(delay=2, seq_len=10)
    a, b = next(task.val_batches()), next(task.val_batches())
    assert np.array_equal(a.x, b.x)
    stream = task.train_batches(np.random.default_rng(1))
    assert not np.array_equal(next(stream).x, next(stream).x)


@pytest.mark.parametrize("delay, seq_len", [(10, 10), (11, 10), (-1, 10)])
def test_a_delay_outside_the_sequence_is_refused_in_words(delay, seq_len):
    with pytest.raises(ValueError, match="shorter than the sequence"):
        EchoTask(delay=delay, seq_len=seq_len)


def test_the_config_builds_it_with_its_delay_and_the_helper_zero_fills():
    task = build_task(TrainConfig(task="echo", delay=4, seq_len=12, batch_size=3), np.random.default_rng(0))
    assert isinstance(task, EchoTask) and task.delay == 4 and task.seq_len == 12 and task.batch_size == 3
    x = np.arange(1.0, 6.0).reshape(1, 5, 1)
    assert echo_targets(x, 2)[0, :, 0].tolist() == [0, 0, 1, 2, 3]
    with pytest.raises(ValueError, match="delay"):
        TrainConfig(task="echo", delay=-1)


def test_the_echo_lesson_states_its_own_tasks_zero_loss_and_what_it_is():
    """The lesson's "loss of answering 0" is the preset's task's own number, and it is not called the
    input's variance (1/3): it is that variance on the steps that have an echo only."""
    from rnnviz.lab.presets import BY_KEY, apply_preset

    task = build_task(apply_preset("echo", TrainConfig()), np.random.default_rng(0))
    lesson = BY_KEY["echo"].lesson
    assert f"{task.zero_loss:.3f}" in lesson and task.zero_loss < 1 / 3
    for text in (lesson, task.notes[0]):
        assert "(the variance of the input)" not in text
        assert f"on the {task.seq_len - task.delay} of {task.seq_len} steps" in text
