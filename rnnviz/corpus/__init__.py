"""Text loading, tokenisers, vocabularies and tasks. Pure Python + NumPy; never imports Qt.

The names below are the public API; the engine, the trainer, the CLI and the GUI import from here.
"""

from rnnviz.corpus.batch import HEADS, INPUT_KINDS, Batch, Task, TaskSpec
from rnnviz.corpus.bundled import BUNDLED_CORPORA, bundled_corpus, bundled_data_dir, bundled_names_dir
from rnnviz.corpus.chunks import UNICODE_FORMS, TextForm, fold_to_ascii
from rnnviz.corpus.errors import KINDS, CorpusError
from rnnviz.corpus.lm import LM_MODES, TOY_SENTENCE, LMCorpus, toy_batch, toy_task, toy_vocab
from rnnviz.corpus.loading import DEFAULT_MAX_BYTES, LoadedText, decode_bytes, load_text
from rnnviz.corpus.metrics import accuracy, class_weights, confusion_matrix, majority_baseline
from rnnviz.corpus.names import NAMES_SAMPLING, NamesDataset, NamesTask, load_names, stratified_split
from rnnviz.corpus.synthetic import EchoTask, LongRangeTask, SineTask, echo_targets
from rnnviz.corpus.vocab import (
    DEFAULT_CHAR_VOCAB_SIZE,
    DEFAULT_WORD_VOCAB_SIZE,
    UNICODE_SIZE,
    UNK,
    Coverage,
    Vocab,
    build_vocab,
    encode_corpus,
    encode_with_coverage,
    id_dtype,
    token_label,
)
from rnnviz.corpus.words import split_words

__all__ = [
    "BUNDLED_CORPORA",
    "DEFAULT_CHAR_VOCAB_SIZE",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_WORD_VOCAB_SIZE",
    "HEADS",
    "INPUT_KINDS",
    "KINDS",
    "LM_MODES",
    "NAMES_SAMPLING",
    "TOY_SENTENCE",
    "UNICODE_FORMS",
    "UNICODE_SIZE",
    "UNK",
    "Batch",
    "CorpusError",
    "EchoTask",
    "Coverage",
    "LMCorpus",
    "LoadedText",
    "LongRangeTask",
    "NamesDataset",
    "NamesTask",
    "SineTask",
    "Task",
    "TaskSpec",
    "TextForm",
    "Vocab",
    "accuracy",
    "build_vocab",
    "bundled_corpus",
    "bundled_data_dir",
    "bundled_names_dir",
    "class_weights",
    "confusion_matrix",
    "decode_bytes",
    "echo_targets",
    "encode_corpus",
    "encode_with_coverage",
    "fold_to_ascii",
    "id_dtype",
    "load_names",
    "load_text",
    "majority_baseline",
    "split_words",
    "stratified_split",
    "toy_batch",
    "toy_task",
    "toy_vocab",
    "token_label",
]
