"""Name classification: folder loading and its refusals, stratified split, balanced sampling, padding."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from rnnviz.corpus import CorpusError, NamesTask, bundled_names_dir, load_names, stratified_split

from .conftest import assert_plain_message

BUNDLED = load_names()


def rng(seed=0) -> np.random.Generator:
    return np.random.default_rng(seed)


def make_folder(root: Path, files: dict[str, bytes]) -> Path:
    folder = root / "names"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_bundled_folder_has_18_sorted_classes():
    assert len(BUNDLED.class_names) == 18
    assert BUNDLED.class_names == tuple(sorted(p.stem for p in bundled_names_dir().glob("*.txt")))
    assert BUNDLED.class_names[0] == "Arabic" and BUNDLED.class_names[-1] == "Vietnamese"
    counts = dict(zip(BUNDLED.class_names, BUNDLED.class_counts().tolist(), strict=True))
    assert counts["Arabic"] == 108 and counts["English"] == 3668  # Arabic: 2000 lines, 108 distinct
    assert len(BUNDLED.names) == len(BUNDLED.labels) == 17_996


def test_bundled_defaults_fold_accents_strip_and_deduplicate():
    assert not any(c in "".join(BUNDLED.names) for c in "éüàñ")
    assert all(name == name.strip() and name for name in BUNDLED.names)
    for c in range(18):
        members = [n for n, label in zip(BUNDLED.names, BUNDLED.labels, strict=True) if label == c]
        assert len(members) == len(set(members))
    assert any("repeated" in note for note in BUNDLED.notes) and any("accents" in note for note in BUNDLED.notes)


def test_keep_duplicates_and_accents():
    full = load_names(fold_ascii=False, keep_duplicates=True)
    assert len(full.names) == 20_074
    assert "Müller" in full.names and full.class_counts()[0] == 2000


def test_small_folder_lines_are_stripped_and_blank_lines_skipped(tmp_path):
    folder = make_folder(
        tmp_path,
        {"B.txt": b"Zhang \nLi\n\n  \nLi\n", "A.txt": "Élodie\r\nÉlodie\r\nZoë".encode(), "readme.md": b"not a class"},
    )
    data = load_names(folder)
    assert data.class_names == ("A", "B")
    assert data.names == ("Elodie", "Zoe", "Zhang", "Li") and data.labels.tolist() == [0, 0, 1, 1]
    assert any("A.txt" in note and "CRLF" in note for note in data.notes)


def test_an_empty_class_file_is_skipped_with_a_note(tmp_path):
    data = load_names(make_folder(tmp_path, {"A.txt": b"Ann\n", "B.txt": b"Bob\n", "Empty.txt": b"\n\n"}))
    assert data.class_names == ("A", "B") and any("Skipped Empty.txt" in note for note in data.notes)


REFUSED = [
    ("missing", lambda d: d / "no-such-folder", "missing"),
    ("a-file", lambda d: (d / "names.txt").write_bytes(b"Ann\n") and d / "names.txt", "not_directory"),
    ("no-txt-files", lambda d: make_folder(d, {"notes.md": b"hello"}), "no_classes"),
    ("only-empty-files", lambda d: make_folder(d, {"A.txt": b"", "B.txt": b" \n"}), "no_classes"),
    ("one-class", lambda d: make_folder(d, {"Italian.txt": b"Rossi\nBianchi\n"}), "one_class"),
    ("binary-class-file", lambda d: make_folder(d, {"A.txt": b"Ann\n", "B.txt": b"\x89PNG\r\n\x1a\n\x00"}), "binary"),
]


@pytest.mark.parametrize("make, kind", [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_refused_folders(tmp_path, make, kind):
    path = make(tmp_path)
    with pytest.raises(CorpusError) as caught:
        load_names(path)
    assert caught.value.kind == kind
    named = "B.txt" if kind == "binary" else path.name
    assert_plain_message(str(caught.value), named)


def test_stratified_split_keeps_class_proportions():
    labels = BUNDLED.labels
    train, val = stratified_split(labels, 0.1, rng())
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == len(labels)
    for c, n_c in enumerate(np.bincount(labels)):
        n_val = int((labels[val] == c).sum())
        assert n_val == min(int(np.floor(0.1 * n_c + 0.5)), n_c - 1)
    share_all = np.bincount(labels) / len(labels)
    share_val = np.bincount(labels[val], minlength=18) / len(val)
    assert np.abs(share_all - share_val).max() < 0.005


def test_split_keeps_a_training_example_of_every_class():
    labels = np.array([0, 1, 1, 2, 2, 2])
    train, val = stratified_split(labels, 0.9, rng())
    assert set(labels[train].tolist()) == {0, 1, 2}


def test_split_and_batches_depend_only_on_the_seed():
    a, b = NamesTask(BUNDLED, rng(7)), NamesTask(BUNDLED, rng(7))
    assert np.array_equal(a.val_idx, b.val_idx)
    for x, y in zip(islice(a.train_batches(rng(1)), 5), islice(b.train_batches(rng(1)), 5), strict=True):
        assert np.array_equal(x.x, y.x) and np.array_equal(x.y, y.y)
    assert not np.array_equal(NamesTask(BUNDLED, rng(8)).val_idx, a.val_idx)


def test_balanced_sampling_is_balanced():
    task = NamesTask(BUNDLED, rng(), batch_size=64)
    labels = np.concatenate([b.y for b in islice(task.train_batches(rng(2)), 300)])  # 19,200 draws
    share = np.bincount(labels, minlength=18) / len(labels)
    assert np.allclose(share, 1 / 18, atol=0.01)


def test_shuffle_sampling_visits_every_training_name_once_per_epoch():
    task = NamesTask(BUNDLED, rng(), batch_size=1000, sampling="shuffle")
    epoch = list(islice(task.train_batches(rng(3)), task.batches_per_epoch))
    assert sum(b.size for b in epoch) == len(task.train_idx)
    assert [b.epoch for b in epoch] == [0] * task.batches_per_epoch and epoch[-1].fraction == 1.0
    labels = np.concatenate([b.y for b in epoch])
    assert np.array_equal(np.bincount(labels), np.bincount(task.train_labels))


def test_batches_are_right_padded_with_lengths():
    task = NamesTask(BUNDLED, rng(), batch_size=16)
    for batch in islice(task.train_batches(rng(5)), 5):
        assert batch.x.shape == (16, batch.lengths.max()) and batch.y.shape == (16,) and not batch.carry
        for row, length, label in zip(batch.x, batch.lengths, batch.y, strict=True):
            name = task.vocab.decode(row[:length])
            assert name in BUNDLED.names and np.all(row[length:] == 0)
            assert label in BUNDLED.labels[[i for i, n in enumerate(BUNDLED.names) if n == name]]


def test_validation_batches_cover_the_validation_names_in_order():
    task = NamesTask(BUNDLED, rng(), batch_size=500)
    batches = list(task.val_batches())
    assert np.array_equal(np.concatenate([b.y for b in batches]), task.val_labels)
    assert batches[-1].fraction == 1.0 and len(list(task.val_batches())) == len(batches)


def test_spec_weights_and_baseline():
    task = NamesTask(BUNDLED, rng())
    spec = task.spec
    assert (spec.head, spec.input_kind, spec.output_size, spec.seq_len) == ("classify", "tokens", 18, None)
    assert spec.class_names == BUNDLED.class_names and spec.vocab is task.vocab and task.vocab.fold_ascii
    weights = task.class_weights
    assert weights[task.train_labels].mean() == pytest.approx(1.0)
    assert weights[14] < 1 < weights[17]  # Russian (most names) below 1, Vietnamese (fewest) above
    assert task.baseline_accuracy == pytest.approx(np.mean(task.val_labels == 14))


def test_encode_probe_names():
    task = NamesTask(BUNDLED, rng())
    x, lengths = task.encode_names(["Schröder", "Nguyen"])
    assert lengths.tolist() == [8, 6] and x.shape == (2, 8)
    assert task.vocab.decode(x[0]) == "Schroder" and task.vocab.decode(x[1, :6]) == "Nguyen"
    with pytest.raises(CorpusError) as caught:
        task.encode_names(["李"])
    assert caught.value.kind == "unknown_token"


def test_bad_options():
    with pytest.raises(ValueError):
        NamesTask(BUNDLED, rng(), sampling="stratified")
    with pytest.raises(ValueError):
        NamesTask(BUNDLED, rng(), batch_size=0)


def test_from_folder(tmp_path):
    folder = make_folder(tmp_path, {"A.txt": b"Ann\nAnna\nAnnie\n", "B.txt": b"Bob\nBobby\n"})
    task = NamesTask.from_folder(folder, rng(), val_fraction=0.0, batch_size=2)
    assert task.spec.class_names == ("A", "B") and len(task.train_idx) == 5 and list(task.val_batches()) == []


def test_every_prefix_of_the_validation_order_is_stratified():
    """The app validates a large set in part (its first batches): each class must be there in
    proportion, not the file's first languages only. The whole set is unchanged by the order."""
    task = NamesTask(BUNDLED, rng(3))
    labels = BUNDLED.labels[task.val_idx]
    per_class = np.bincount(labels)
    for n in (len(labels) // 10, len(labels) // 3, len(labels)):
        got = np.bincount(labels[:n], minlength=len(per_class))
        np.testing.assert_allclose(got, per_class * n / len(labels), atol=1.5)
    assert sorted(task.val_idx.tolist()) == sorted(set(task.val_idx.tolist()))  # no name twice
    assert not set(task.val_idx.tolist()) & set(task.train_idx.tolist())
