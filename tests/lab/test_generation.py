"""Generate and Check gradients in the lab (no Qt): commands answered by events, nothing disturbed."""

import numpy as np
import pytest

from rnnviz.engine.gradcheck import entry_errors
from rnnviz.lab import Lab
from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.generation import MAX_LENGTH
from rnnviz.lab.gradient_check import MAX_ENTRIES, RANDOM_ENTRIES, RIGHT
from rnnviz.training import TrainConfig
from rnnviz.training.generation import sample_text

SMALL = TrainConfig(hidden=12, seq_len=10, batch_size=4, dtype="float64")


def make_lab(config=SMALL):
    events = []
    lab = Lab(events.append)
    lab.reset(config)
    return lab, events


def of(events, kind):
    return [ev for ev in events if isinstance(ev, kind)]


def test_generate_answers_with_the_text_and_the_step_and_the_same_seed_gives_the_same_text():
    lab, events = make_lab()
    lab.train_steps(3)
    ask = c.Generate("ROMEO:", length=30, temperature=0.8, top_k=5, seed=4)
    lab.handle(ask)
    lab.handle(ask)
    lab.handle(c.Generate("ROMEO:", length=30, temperature=0.8, top_k=5, seed=5))
    a, b, other = of(events, e.Generated)
    assert a.step == 3 and not a.error and not a.while_training
    assert a.text.startswith("ROMEO:") and len(a.text) == len("ROMEO:") + 30
    assert a.text == b.text != other.text
    t = lab.main.trainer  # the engine's own text
    assert a.text == sample_text(t.params, t.model_cfg, t.task.spec.vocab, "ROMEO:", 30, 0.8, 5, 4).text


def test_greedy_is_deterministic_whatever_the_seed_and_an_empty_prime_starts_from_a_new_line():
    lab, events = make_lab()
    lab.handle(c.Generate("the ", length=20, temperature=0.0, seed=1))
    lab.handle(c.Generate("the ", length=20, temperature=0.0, seed=2))
    lab.handle(c.Generate("", length=5))
    a, b, empty = of(events, e.Generated)
    assert a.text == b.text and not empty.error and empty.text.startswith("\n")


def test_unknown_characters_are_left_out_and_named_and_a_prime_of_only_unknown_ones_is_refused():
    lab, events = make_lab()
    lab.handle(c.Generate("the ☃ king", length=5))
    lab.handle(c.Generate("☃☃", length=5))
    lab.handle(c.Generate("the", length=5, temperature=float("nan")))
    lab.handle(c.Generate("the", length=MAX_LENGTH + 1))
    noted, none_known, nan, too_long = of(events, e.Generated)
    assert noted.unknown == ("☃",) and noted.prime == "the  king" and not noted.error
    assert "no token the model knows" in none_known.error and "'☃'" in none_known.error and not none_known.text
    assert "temperature" in nan.error
    assert "length" in too_long.error


def test_a_word_level_model_writes_words_joined_with_spaces():
    lab, events = make_lab(TrainConfig(task="toy"))
    lab.handle(c.Generate("the king", length=4, seed=1))
    (answer,) = of(events, e.Generated)
    assert not answer.error and answer.prime == "the king" and answer.text.startswith("the king ")
    assert len(answer.text.split()) == 2 + 4


def test_a_classifier_cannot_generate_and_says_why():
    lab, events = make_lab(TrainConfig(task="sine", hidden=6, seq_len=8, batch_size=2))
    lab.handle(c.Generate("x", length=5))
    (answer,) = of(events, e.Generated)
    assert "Only a language model" in answer.error and not answer.text


def test_sampling_every_n_steps_keeps_the_step_and_leaves_training_bit_for_bit_the_same():
    plain, _ = make_lab()
    plain.train_steps(7)
    sampled, events = make_lab()
    sampled.handle(c.SampleEvery(3, c.Generate("the", length=10, seed=2)))
    sampled.train_steps(7)
    samples = of(events, e.Generated)
    assert [s.step for s in samples] == [3, 6] and all(s.while_training for s in samples)
    a, b = plain.main.trainer, sampled.main.trainer
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    sampled.handle(c.SampleEvery(0))
    sampled.train_steps(3)
    assert len(of(events, e.Generated)) == 2


def test_check_gradients_of_a_parameter_is_small_and_changes_no_weight():
    lab, events = make_lab(TrainConfig(task="toy", dtype="float32"))
    lab.handle(c.CheckGradients("layer0.W_hh"))
    (before_step,) = of(events, e.GradientCheck)
    assert "training step first" in before_step.error
    lab.train_steps(2)
    t = lab.main.trainer
    weights = {k: v.copy() for k, v in t.params.items()}
    lab.handle(c.CheckGradients("head.b_y"))
    check = of(events, e.GradientCheck)[-1]
    assert not check.error and check.checked == check.total == t.params["head.b_y"].size
    assert check.errors.max() < RIGHT and "the gradients are right" in check.verdict and "all" in check.verdict
    assert np.array_equal(check.errors, entry_errors(check.analytic, check.numeric))
    assert all(np.array_equal(weights[k], t.params[k]) and weights[k].dtype == t.params[k].dtype for k in weights)
    lab.handle(c.CheckGradients("no.such"))
    assert "no parameter 'no.such'" in of(events, e.GradientCheck)[-1].error


def test_check_gradients_of_a_large_model_checks_a_sample_and_says_so():
    lab, events = make_lab(TrainConfig(hidden=48, seq_len=12, batch_size=2))
    lab.train_steps(1)
    total = sum(v.size for v in lab.main.trainer.params.values())
    lab.handle(c.CheckGradients(""))
    lab.handle(c.CheckGradients("layer0.W_hh", seed=1))
    whole, one = of(events, e.GradientCheck)
    assert whole.checked == RANDOM_ENTRIES and whole.total == total
    assert f"Checked {RANDOM_ENTRIES} of {total:,} weights" in whole.verdict and "sample" in whole.verdict
    assert one.checked == MAX_ENTRIES and len(set(one.index)) == MAX_ENTRIES
    assert whole.errors.max() < RIGHT and one.errors.max() < RIGHT


def test_check_gradients_notices_a_wrong_backward(monkeypatch):
    """The guard can fail: break the LSTM's backward and the verdict says WRONG."""
    from rnnviz.engine.cells import get_cell

    lstm = get_cell("lstm")
    original = lstm.step_backward
    monkeypatch.setattr(lstm, "step_backward", lambda dh, *rest: original(dh * 1.5, *rest))
    lab, events = make_lab(TrainConfig(task="toy"))
    lab.train_steps(1)
    lab.handle(c.CheckGradients("layer0.W_hh"))
    check = of(events, e.GradientCheck)[-1]
    assert check.errors.max() > 1e-2 and "WRONG" in check.verdict


@pytest.mark.parametrize("task", ["sine", "classify"])
def test_check_gradients_works_for_the_other_heads(task):
    lab, events = make_lab(TrainConfig(task=task, hidden=6, seq_len=8, batch_size=2))
    lab.train_steps(1)
    lab.handle(c.CheckGradients(""))
    check = of(events, e.GradientCheck)[-1]
    assert not check.error and check.errors.max() < RIGHT, check.verdict


def test_check_gradients_on_diverged_weights_says_they_are_not_finite_not_that_backprop_is_wrong():
    """Weights that overflowed give NaN gradients both ways: nothing to compare. The verdict must not
    blame the backward pass (a student would think the engine is broken), and nothing may raise."""
    lab, events = make_lab(TrainConfig(task="toy"))
    lab.train_steps(1)
    lab.main.trainer.params["layer0.W_hh"][0, 0] = np.nan  # as a run paused on a NaN step may hold
    lab.handle(c.CheckGradients("layer0.W_hh"))
    check = of(events, e.GradientCheck)[-1]
    assert "WRONG" not in check.verdict and "not finite" in check.verdict, check.verdict
