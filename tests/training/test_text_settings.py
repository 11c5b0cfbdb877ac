"""The text settings (character cap, Unicode form, size limit): declared once, on the command line and
in checkpoints, and a run saved before a setting existed still resumes as it was trained."""

from __future__ import annotations

import unicodedata

import pytest

from rnnviz.corpus import UNICODE_SIZE
from rnnviz.engine import checkpoint
from rnnviz.training import TrainConfig, Trainer, load_trainer, save_trainer
from rnnviz.training.config import SETTINGS


def many_characters_file(tmp_path, n: int = 600):
    """A text file of ``n`` different characters (CJK), each several times."""
    text = "".join(chr(0x4E00 + (i * 7) % n) for i in range(20 * n))
    path = tmp_path / "cjk.txt"
    path.write_text("\n".join(text[i : i + 50] for i in range(0, len(text), 50)) + "\n", encoding="utf-8")
    return path


def small_lm(path, **changes) -> TrainConfig:
    return TrainConfig(corpus=str(path), hidden=8, seq_len=16, batch_size=4, **changes)


def strip_settings(path, *names: str) -> None:
    """Make ``path`` look like a checkpoint saved before the settings ``names`` existed."""
    arrays, meta = checkpoint.load(path)
    for name in names:
        del meta["train_config"][name]
    meta.pop("format"), meta.pop("version")
    checkpoint.save(path, arrays, meta)


def test_the_character_cap_is_a_declared_setting_with_its_flag(tmp_path):
    from rnnviz.cli import build_parser
    from rnnviz.cli_train import config_from_args

    args = build_parser().parse_args(["train", str(tmp_path / "x.txt"), "--max-chars", "300"])
    assert config_from_args(args).max_chars == 300 and SETTINGS["max_chars"].flag == "--max-chars"
    with pytest.raises(ValueError, match="character cap"):
        TrainConfig(max_chars=1)


def test_a_new_run_caps_its_characters(tmp_path):
    t = Trainer(small_lm(many_characters_file(tmp_path), max_chars=100))
    assert t.task.spec.vocab.size == 100 and t.task.spec.vocab.unk_id is not None


def test_a_run_saved_before_the_character_cap_resumes_with_every_character(tmp_path):
    path = many_characters_file(tmp_path)
    t = Trainer(small_lm(path, max_chars=UNICODE_SIZE))  # how runs were built before the cap
    t.train_step()
    save_trainer(t, tmp_path / "old.npz")
    strip_settings(tmp_path / "old.npz", "max_chars")
    back = load_trainer(tmp_path / "old.npz")
    assert back.task.spec.vocab == t.task.spec.vocab and back.task.spec.vocab.size == 601
    back.train_step()


def nfd_file(tmp_path):
    path = tmp_path / "nfd.txt"
    path.write_text(unicodedata.normalize("NFD", "café déjà résumé naïve\n") * 40, encoding="utf-8")
    return path


def test_a_run_normalises_to_nfc_by_default_and_its_checkpoint_records_it(tmp_path):
    t = Trainer(small_lm(nfd_file(tmp_path)))
    assert t.cfg.unicode_form == "NFC" and "\u0301" not in t.task.spec.vocab.tokens
    t.train_step()
    save_trainer(t, tmp_path / "run.npz")
    _, meta = checkpoint.load(tmp_path / "run.npz")
    assert meta["train_config"]["unicode_form"] == "NFC" and meta["vocab"]["unicode_form"] == "NFC"
    assert load_trainer(tmp_path / "run.npz").task.spec.vocab.unicode_form == "NFC"


def test_a_run_saved_before_normalisation_resumes_with_its_text_as_it_was(tmp_path):
    path = nfd_file(tmp_path)
    t = Trainer(small_lm(path, unicode_form="none"))  # how every run read its text before
    t.train_step()
    save_trainer(t, tmp_path / "old.npz")
    strip_settings(tmp_path / "old.npz", "unicode_form")
    arrays, meta = checkpoint.load(tmp_path / "old.npz")
    del meta["vocab"]["unicode_form"]
    meta.pop("format"), meta.pop("version")
    checkpoint.save(tmp_path / "old.npz", arrays, meta)
    back = load_trainer(tmp_path / "old.npz")
    assert back.cfg.unicode_form == "none" and "\u0301" in back.task.spec.vocab.tokens
    back.train_step()


def big_file(tmp_path, mb: float = 1.5):
    path = tmp_path / "big.txt"
    line = "All the world's a stage, and all the men and women merely players.\n"
    path.write_text(line * int(mb * 2**20 / len(line)), encoding="utf-8")
    return path


def test_a_file_above_the_size_limit_is_refused_naming_the_settings_that_let_it_in(tmp_path):
    from rnnviz.corpus import CorpusError

    with pytest.raises(CorpusError) as caught:
        Trainer(small_lm(big_file(tmp_path), max_mb=1))
    message = str(caught.value)
    for name in ("max_mb", "use_start"):
        assert SETTINGS[name].label in message and SETTINGS[name].flag in message


def test_the_size_limit_can_be_raised_or_the_start_used(tmp_path):
    path = big_file(tmp_path)
    whole = Trainer(small_lm(path, max_mb=2))
    start = Trainer(small_lm(path, max_mb=1, use_start=True))
    assert len(start.task.ids) <= 2**20 < len(whole.task.ids)
    assert any("only the start" in note for note in start.task.notes)


def test_the_size_limit_and_the_start_are_options_of_the_command_line(tmp_path):
    from rnnviz.cli import build_parser
    from rnnviz.cli_train import config_from_args

    args = build_parser().parse_args(["train", "x.txt", "--max-mb", "500", "--use-start"])
    cfg = config_from_args(args)
    assert (cfg.max_mb, cfg.use_start) == (500, True)
