"""The lab's validation payload for a classifier (lab.classes): its numbers are the evaluation's own."""

import numpy as np
import pytest

from rnnviz.corpus import NamesTask, confusion_matrix
from rnnviz.corpus.metrics import class_accuracy, row_fractions
from rnnviz.lab import Lab
from rnnviz.lab import events as e
from rnnviz.lab import lab as lab_module
from rnnviz.lab.classes import MAX_EXAMPLES, class_report
from rnnviz.lab.presets import apply_preset
from rnnviz.training import TrainConfig, Trainer
from rnnviz.training.evaluation import EvalReport, evaluate_batches

NAMES = apply_preset("names", TrainConfig()).replace(hidden=16, batch_size=16)


@pytest.fixture(scope="module")
def trained():
    """A names classifier after a few steps, its validation report and the lab's ClassReport of it."""
    t = Trainer(NAMES)
    for _ in range(30):
        t.train_step()
    ev = t.evaluate()
    return t, ev, class_report("A", t.step, t.task, ev)


def test_the_counts_are_the_confusion_matrix_of_the_evaluation(trained):
    t, ev, rep = trained
    task = t.task
    np.testing.assert_array_equal(rep.confusion, ev.confusion)
    np.testing.assert_array_equal(rep.confusion, confusion_matrix(task.val_labels, ev.predictions, 18))
    assert rep.evaluated == rep.total == len(task.val_idx) == rep.confusion.sum()
    np.testing.assert_array_equal(rep.train_counts, np.bincount(task.train_labels, minlength=18))
    assert rep.accuracy == pytest.approx(np.trace(rep.confusion) / rep.confusion.sum())


def test_per_class_accuracy_is_the_diagonal_over_the_row_sums(trained):
    _, _, rep = trained
    rows = rep.confusion.sum(axis=1)
    np.testing.assert_allclose(rep.class_accuracy, np.diag(rep.confusion) / rows)
    np.testing.assert_allclose(rep.fractions, rep.confusion / rows[:, None])
    np.testing.assert_allclose(rep.fractions.sum(axis=1), 1.0)


def test_the_examples_were_really_classified_that_way(trained):
    t, _, rep = trained
    task = t.task
    names = task.dataset.names
    listed = 0
    for i in range(18):
        for j in range(18):
            cell = rep.examples[i][j]
            assert len(cell) == min(MAX_EXAMPLES, rep.confusion[i, j])
            for name in cell:
                assert any(names[k] == name and task.dataset.labels[k] == i for k in task.val_idx)
                xs, ls = task.encode_names([name])
                p = evaluate_batches(t.params, t.model_cfg, [_batch(xs, ls, i)]).confusion
                assert p[i, j] == 1, (name, i, j)  # read alone, the model predicts j for it
                listed += 1
    assert listed > 18  # the payload is not trivially empty


def _batch(x, lengths, label):
    from rnnviz.corpus import Batch

    return Batch(x=x, y=np.array([label]), lengths=lengths, carry=False, epoch=0, fraction=1.0)


def test_the_lab_sends_a_class_report_after_each_validation(monkeypatch):
    monkeypatch.setattr(lab_module, "EVAL_EVERY", 5)
    events = []
    lab = Lab(events.append)
    lab.reset(NAMES)
    lab.train_steps(10)
    reports = [ev for ev in events if isinstance(ev, e.ClassReport)]
    evals = [ev for ev in events if isinstance(ev, e.EvalResult)]
    assert [r.step for r in reports] == [ev.step for ev in evals] == [5, 10]
    assert reports[-1].accuracy == evals[-1].accuracy
    assert len(reports[-1].examples) == 18 and reports[-1].confusion.shape == (18, 18)


def test_a_language_model_sends_none(monkeypatch):
    monkeypatch.setattr(lab_module, "EVAL_EVERY", 2)
    events = []
    lab = Lab(events.append)
    lab.reset(TrainConfig(hidden=8, seq_len=8, batch_size=2))
    lab.train_steps(2)
    assert any(isinstance(ev, e.EvalResult) for ev in events)
    assert not any(isinstance(ev, e.ClassReport) for ev in events)


def test_a_class_with_no_validation_names_has_a_row_of_zeros_and_no_accuracy(tmp_path):
    folder = tmp_path / "names"
    folder.mkdir()
    (folder / "Big.txt").write_text("\n".join(f"Name{chr(97 + i)}{chr(97 + j)}" for i in range(8) for j in range(8)))
    (folder / "Tiny.txt").write_text("Solo\n")  # one name: it stays for training, none for validation
    t = Trainer(NAMES.replace(corpus=str(folder), batch_size=4))
    ev = t.evaluate()
    rep = class_report("A", t.step, t.task, ev)
    assert rep.confusion[1].sum() == 0
    np.testing.assert_array_equal(rep.fractions[1], [0.0, 0.0])  # zeros, not NaN
    assert np.isnan(rep.class_accuracy[1]) and np.isfinite(rep.class_accuracy[0])
    assert rep.examples[1] == ((), ()) and rep.train_counts.tolist() == [len(t.task.train_idx) - 1, 1]


def test_one_class_and_no_examples():
    confusion = np.array([[3]])
    np.testing.assert_array_equal(row_fractions(confusion), [[1.0]])
    np.testing.assert_array_equal(class_accuracy(confusion), [1.0])
    np.testing.assert_array_equal(row_fractions(np.zeros((1, 1), int)), [[0.0]])
    assert np.isnan(class_accuracy(np.zeros((1, 1), int))[0])


def test_a_task_without_names_or_counts_still_reports():
    """The long-range task is a classifier too: counts and accuracy, no names, no training counts."""
    task = type("T", (), {})()
    report = EvalReport(1.0, None, 0.5, np.array([[1, 1], [0, 2]]), 4, np.array([0, 1, 1, 1]))
    rep = class_report("A", 3, task, report)
    assert rep.examples == () and rep.train_counts.tolist() == [-1, -1] and rep.total == rep.evaluated == 4
    np.testing.assert_allclose(rep.class_accuracy, [0.5, 1.0])


def test_a_partial_pass_says_how_much_it_read():
    t = Trainer(NAMES)
    ev = t.evaluate(max_batches=3)
    rep = class_report("A", 0, t.task, ev)
    assert rep.evaluated == 3 * NAMES.batch_size < rep.total == len(t.task.val_idx)
    assert sum(len(c) for row in rep.examples for c in row) <= rep.evaluated
    # the part read is stratified: every language expected twice or more in it has a row, not only
    # the first languages of the file
    labels = t.task.dataset.labels[t.task.val_idx]
    expected = np.bincount(labels) * rep.evaluated / len(labels)
    rows = rep.confusion.sum(axis=1)
    assert (rows[expected >= 2] > 0).all() and (rows > 0).sum() > len(rows) // 2


def test_names_task_is_what_the_preset_trains():
    assert isinstance(Trainer(NAMES).task, NamesTask)
