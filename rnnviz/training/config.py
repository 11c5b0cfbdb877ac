"""What a training run is: one flat, JSON-able dataclass, and how it becomes a task and a model.

Every field is declared once (``settings.setting``): label, help, range, command-line flag of
``rnnviz train`` and its place in the app, with defaults a newcomer can run: a character-level LSTM on
the bundled Tiny Shakespeare.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnviz.corpus import (
    DEFAULT_CHAR_VOCAB_SIZE,
    DEFAULT_MAX_BYTES,
    DEFAULT_WORD_VOCAB_SIZE,
    UNICODE_FORMS,
    UNICODE_SIZE,
    CorpusError,
    EchoTask,
    LMCorpus,
    LongRangeTask,
    NamesTask,
    SineTask,
    Task,
    TaskSpec,
    bundled_corpus,
    toy_task,
)
from rnnviz.engine.cells import CELLS, get_cell
from rnnviz.engine.clipping import ClipConfig
from rnnviz.engine.config import MAX_LAYERS, ModelConfig
from rnnviz.engine.optim import KINDS, OptimConfig
from rnnviz.training.settings import check_known, setting, settings_of, with_absent

TASKS = ("lm", "classify", "sine", "echo", "longrange", "toy")
TASK_TITLES = {
    "lm": "Language model (predict the next character or word)",
    "classify": "Classify names by language",
    "sine": "Predict the next value of a sine wave",
    "echo": "Echo: say again the input from d steps ago (memory)",
    "longrange": "Remember a symbol for k steps (vanishing gradients)",
    "toy": "The toy sentence 'the king sits on throne'",
}


MB = 2**20  # the size limit's unit (what file managers call a megabyte)


def _task_is(*tasks: str):
    return lambda c: c.task in tasks


def _always(c) -> bool:
    return True


_CELL_CHOICES = tuple(CELLS)  # the cell registry decides which cells exist and what they are called
_CELL_LABELS = tuple(get_cell(name).NAME for name in _CELL_CHOICES)


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``corpus`` is a text file (task "lm") or a folder of ``<Class>.txt`` files
    (task "classify"); None means the bundled one (Tiny Shakespeare, the surnames). Other tasks make
    their data and ignore it.

    Each field declares its label, help, range or choices, CLI flag and place in the app once, here
    (see ``settings``); ``__post_init__`` checks every value against its declaration.
    """

    # -- the task and its data --------------------------------------------------------------------
    task: str = setting(
        "lm", "Task", "lm: next character/word; classify: names by language; sine: next value of a sine wave; "
        "echo: the input from d steps ago; longrange: remember a symbol k steps (vanishing gradients); "
        "toy: 'the king sits on throne'",
        flag="--task", group="task", choices=TASKS, data=True,
    )  # fmt: skip
    corpus: str | None = setting(
        None, "Corpus", "a text file (lm) or a folder of <Class>.txt files (classify); none: the bundled one",
        kind=str, optional=True, group="task", data=True,
    )  # fmt: skip
    level: str = setting(
        "char", "Tokens", "lm: characters or words", flag="--level", group="task", choices=("char", "word"),
        choice_labels=("characters", "words"), panel=_task_is("lm"), data=True,
    )  # fmt: skip
    lower: bool = setting(False, "Lower-case", "lm: lower-case the text", flag="--lower", group="task", data=True)
    max_vocab: int | None = setting(
        None, "Vocabulary cap", f"lm: vocabulary cap at either level, <unk> included (none: "
        f"{DEFAULT_WORD_VOCAB_SIZE} words, or the character cap)", kind=int, optional=True,
        flag="--max-vocab", group="task", lo=1, hi=10_000_000, data=True,
    )  # fmt: skip
    # A text of thousands of different characters (CJK, emoji) would make as wide a softmax. Runs saved
    # before this cap existed had none: they are rebuilt without one (absent), so they still resume.
    max_chars: int = setting(
        DEFAULT_CHAR_VOCAB_SIZE, "Character cap", f"lm, characters: the most frequent characters kept, <unk> "
        f"included, the rest read as <unk> ({UNICODE_SIZE} keeps every one)", flag="--max-chars", group="task",
        lo=2, hi=UNICODE_SIZE, panel=lambda c: c.task == "lm" and c.level == "char", data=True,
        absent=UNICODE_SIZE,
    )  # fmt: skip
    # NFC and NFD spell "é" as one character or two: without normalising, one text can hold both and
    # the network sees two different tokens. Runs saved before this setting kept the text as it was.
    unicode_form: str = setting(
        "NFC", "Unicode", "lm: NFC joins a letter and its combining accents into one character (é typed two "
        "ways is one token); none keeps the text's characters as they are", flag="--unicode", group="task",
        choices=UNICODE_FORMS, choice_labels=("NFC", "as in the file"),
        panel=_task_is("lm"), data=True, absent="none",
    )  # fmt: skip
    # A text file's size limit: memory use is a few times the file size (rnnviz.corpus.loading)
    max_mb: int = setting(
        DEFAULT_MAX_BYTES // MB, "Size limit (MB)", "lm: text files larger than this are refused (or only their "
        "start is used, see the next setting); reading one takes a few times its size in memory",
        flag="--max-mb", group="task", lo=1, hi=1_000_000, panel=_task_is("lm"), data=True,
    )  # fmt: skip
    use_start: bool = setting(
        False, "Large files: use the start", "lm: a text file above the size limit is not refused: its first "
        "size-limit megabytes are used, up to the last line break in them", flag="--use-start", group="task",
        panel=_task_is("lm"), data=True,
    )  # fmt: skip
    lm_mode: str = setting(
        "contiguous", "Sequences", "lm: contiguous streams carrying the state (truncated BPTT) or random windows",
        flag="--lm-mode", group="task", choices=("contiguous", "random"), data=True,
    )  # fmt: skip
    val_fraction: float = setting(
        0.1, "Validation share", "share of the data held out for validation", flag="--val-fraction",
        group="task", lo=0.0, hi=0.9, data=True,
    )  # fmt: skip
    seq_len: int = setting(
        64, "Sequence length", "time steps per training sequence (how far back BPTT goes)", flag="--seq-len",
        group="task", lo=1, hi=10_000, panel=_task_is("lm", "sine", "echo"), data=True,
    )  # fmt: skip
    batch_size: int = setting(
        32, "Batch size", "sequences trained on together in one step", flag="--batch", group="task", lo=1,
        hi=4096, panel=lambda c: c.task != "toy", data=True,
    )  # fmt: skip
    k: int = setting(
        10, "Gap k", "longrange: steps between the symbol and the question (how long to remember it)",
        flag="--k", group="task", lo=0, hi=1000, panel=_task_is("longrange"), data=True,
    )  # fmt: skip
    delay: int = setting(
        3, "Delay d", "echo: the target is the input from this many steps ago (how long to remember it)",
        flag="--delay", group="task", lo=0, hi=1000, panel=_task_is("echo"), data=True,
    )  # fmt: skip
    class_weighting: bool = setting(
        False, "Weight classes", "classify: weight the loss by inverse class frequency",
        flag="--class-weighting", group="task", panel=_task_is("classify"),
    )  # fmt: skip
    sampling: str = setting(
        "shuffle", "Sampling", "classify: every name once per epoch, or classes drawn equally often (rare "
        "languages get as much attention as Russian)", flag="--sampling", group="task",
        choices=("shuffle", "balanced"), choice_labels=("every name once", "classes balanced"),
        panel=_task_is("classify"), data=True,
    )  # fmt: skip
    # -- the model --------------------------------------------------------------------------------
    cell: str = setting(
        "lstm", "Cell", "the recurrent cell", flag="--cell", choices=_CELL_CHOICES, choice_labels=_CELL_LABELS,
        panel=_always,
    )  # fmt: skip
    hidden: int = setting(128, "Hidden units", "hidden units per layer", flag="--hidden", lo=1, hi=4096, panel=_always)
    layers: int = setting(1, "Layers", "stacked recurrent layers", flag="--layers", lo=1, hi=MAX_LAYERS, panel=_always)
    dropout: float = setting(
        0.0, "Dropout", "dropout between stacked layers (training only)", flag="--dropout", lo=0.0, hi=0.95,
        decimals=2, panel=lambda c: c.layers > 1,
    )  # fmt: skip
    embed_size: int = setting(
        64, "Embedding size", "word level: the length of the vector each word is read as (its embedding)",
        flag="--embed-size", lo=1, hi=4096, panel=lambda c: c.task == "lm" and c.level == "word",
    )  # fmt: skip
    forget_bias: float = setting(
        1.0, "Forget bias", "LSTM: initial forget-gate bias (high: remember by default)", flag="--forget-bias",
        lo=-20.0, hi=20.0, decimals=2, panel=lambda c: get_cell(c.cell).FORGET_GATE is not None,
    )  # fmt: skip
    recurrent_init: str = setting(
        "uniform", "W_hh init", "initial W_hh: uniform in +-1/sqrt(H) (PyTorch's default), orthogonal, or the identity",
        flag="--recurrent-init", choices=("uniform", "orthogonal", "identity"),
        choice_labels=("uniform (PyTorch)", "orthogonal", "identity"),
        panel=_always,
    )  # fmt: skip
    recurrent_gain: float = setting(
        1.0, "W_hh scale", "scale of the initial recurrent weights W_hh: below 1 gradients vanish, above 1 "
        "they can explode", flag="--recurrent-gain", lo=0.0, hi=100.0, decimals=2, panel=_always,
    )  # fmt: skip
    dtype: str = setting(
        "float32", "Precision", "floating-point precision of the weights and the arithmetic", flag="--dtype",
        choices=("float32", "float64"), choice_labels=("float32 (fast)", "float64 (exact)"), panel=_always,
        data=True,
    )  # fmt: skip
    # -- the optimisation -------------------------------------------------------------------------
    optimizer: str = setting(
        "adam", "Optimizer", "how the gradient updates the weights", flag="--optimizer", group="optimisation",
        choices=KINDS, panel=_always,
    )  # fmt: skip
    lr: float = setting(
        2e-3, "Learning rate", "learning rate: takes effect from the next step", flag="--lr", group="optimisation",
        lo=1e-12, panel=_always, live=True, resume=True,
    )  # fmt: skip
    momentum: float = setting(
        0.0, "Momentum", "sgd momentum", flag="--momentum", group="optimisation", lo=0.0, hi=0.999, decimals=3,
        panel=lambda c: c.optimizer == "sgd",
    )  # fmt: skip
    lr_decay: float = setting(
        1.0, "Rate decay", "multiply the learning rate by this ...", flag="--lr-decay", group="optimisation",
        lo=1e-6, hi=1.0,
    )  # fmt: skip
    decay_every: int = setting(
        1000, "Decay every", "... every so many steps", flag="--decay-every", group="optimisation", lo=1, hi=10**9
    )
    clip: str = setting(
        "norm:5", "Clipping", "gradient clipping: off, value:C or norm:C", flag="--clip", metavar="SPEC",
        group="optimisation",
        live=True, resume=True,
    )  # fmt: skip
    seed: int = setting(
        0, "Seed", "random seed: the same seed gives the same run, bit for bit", flag="--seed",
        group="optimisation", lo=0, hi=2**31 - 1, panel=_always, data=True,
    )  # fmt: skip
    # instrumentation: the W_hh spectrum costs milliseconds, so it is refreshed every so many steps
    spectral_every: int = setting(100, "Spectrum every", "steps between W_hh spectra", lo=1, hi=10**9)
    # -- spikes: the app pauses on one when asked (the toolbar's "Pause on spikes"; see lab.spikes) ----
    spike_pause: bool = setting(
        False, "Pause on spikes", "the app pauses when a step's gradient norm or loss jumps far above its recent "
        "median, and offers to roll the weights back", group="optimisation", live=True,
    )  # fmt: skip
    spike_norm: float = setting(
        10.0, "Spike: norm x", "a spike: the gradient norm above this many times its median over the last 50 steps "
        "(a clipped step counts with its clipped norm)", group="optimisation", lo=1.0, hi=1e9, decimals=1,
        panel=_always,
    )  # fmt: skip
    spike_loss: float = setting(
        3.0, "Spike: loss x", "a spike: the loss above this many times its median over the last 50 steps",
        group="optimisation", lo=1.0, hi=1e9, decimals=1, panel=_always,
    )  # fmt: skip

    def __post_init__(self) -> None:
        for name, s in SETTINGS.items():
            object.__setattr__(self, name, s.check(name, getattr(self, name)))  # e.g. lr=1 -> 1.0
        ClipConfig.parse(self.clip)  # raises with a plain message
        optim_config(self)
        # the model settings are checked by ModelConfig when the task is known

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """The inverse of ``to_dict``. Refuses a key it does not know, naming it (a typo, or a file from
        a newer rnnviz), and, through ``__post_init__``, any value of the wrong type or range. A field
        ``d`` lacks takes its ``absent`` value (what a run saved before the setting existed did), else
        its default."""
        if not isinstance(d, dict):
            raise ValueError(f"training settings must be a mapping, not {type(d).__name__}")
        check_known(cls, d, "training settings")
        return cls(**with_absent(cls, d))


SETTINGS = settings_of(TrainConfig)
# The fields build_task reads: two configurations that agree on these can share one task (no reload).
DATA_FIELDS = tuple(name for name, s in SETTINGS.items() if s.data)
LIVE_FIELDS = tuple(name for name, s in SETTINGS.items() if s.live)  # lr, clip, spike_pause: on a running model


def same_data(a: TrainConfig, b: TrainConfig) -> bool:
    """True when ``b`` can reuse the task (the loaded data) of ``a``: only model or optimiser settings differ."""
    return all(getattr(a, f) == getattr(b, f) for f in DATA_FIELDS)


def optim_config(cfg: TrainConfig) -> OptimConfig:
    return OptimConfig(
        kind=cfg.optimizer, lr=cfg.lr, momentum=cfg.momentum, lr_decay=cfg.lr_decay, decay_every=cfg.decay_every
    )


def build_task(cfg: TrainConfig, rng: np.random.Generator) -> Task:
    """Load or make the task's data. Raises ``CorpusError`` (with a plain message) for bad input.

    ``rng`` is used once, for the names' train/validation split.
    """
    if cfg.task == "lm":
        path = Path(cfg.corpus) if cfg.corpus else bundled_corpus()
        try:
            return LMCorpus.from_file(
                path, level=cfg.level, lower=cfg.lower, max_vocab=vocab_cap(cfg), unicode_form=cfg.unicode_form,
                max_bytes=cfg.max_mb * MB, use_start=cfg.use_start, seq_len=cfg.seq_len, batch_size=cfg.batch_size,
                val_fraction=cfg.val_fraction, mode=cfg.lm_mode,
            )  # fmt: skip
        except CorpusError as err:
            if err.kind != "too_large":
                raise
            raise CorpusError("too_large", f"{err} {_how_to_load_larger()}", path=err.path) from None
    if cfg.task == "classify":
        return NamesTask.from_folder(
            cfg.corpus, rng, val_fraction=cfg.val_fraction, batch_size=cfg.batch_size, sampling=cfg.sampling
        )
    if cfg.task == "sine":
        return SineTask(seq_len=cfg.seq_len, batch_size=cfg.batch_size, dtype=cfg.dtype)
    if cfg.task == "echo":
        return EchoTask(delay=cfg.delay, seq_len=cfg.seq_len, batch_size=cfg.batch_size, dtype=cfg.dtype)
    if cfg.task == "longrange":
        return LongRangeTask(k=cfg.k, batch_size=cfg.batch_size)
    return toy_task()


def _how_to_load_larger() -> str:
    """Where the size limit and "use the start" are, in the app and on the command line (their declarations)."""
    limit, start = SETTINGS["max_mb"], SETTINGS["use_start"]
    return (
        f"In the app: the settings '{limit.label}' and '{start.label}', then open the file again; on the "
        f"command line: {limit.flag} N or {start.flag}."
    )


def vocab_cap(cfg: TrainConfig) -> int | None:
    """The vocabulary cap of a language model: ``max_vocab`` if given, else the character cap at
    character level (None: the word level's default)."""
    if cfg.max_vocab is not None:
        return cfg.max_vocab
    return cfg.max_chars if cfg.level == "char" else None


def model_config(cfg: TrainConfig, spec: TaskSpec) -> ModelConfig:
    """The network the task needs: inputs and outputs from the task, the rest from ``cfg``."""
    if spec.input_kind == "dense":
        inp = "dense"
    elif spec.vocab is not None and spec.vocab.level == "word" and spec.name != "toy":
        inp = "embedding"  # a word vocabulary is too large for one-hot input
    else:
        inp = "onehot"
    return ModelConfig(
        cell=cfg.cell,
        input=inp,
        vocab_size=spec.input_size if spec.input_kind == "tokens" else 1,
        input_size=spec.input_size if spec.input_kind == "dense" else 0,
        embed_size=cfg.embed_size,
        hidden_size=cfg.hidden,
        num_layers=cfg.layers,
        head={"lm": "lm", "classify": "classify", "regress": "regress"}[spec.head],
        output_size=0 if spec.head == "lm" else spec.output_size,
        dropout=cfg.dropout,
        forget_bias=cfg.forget_bias,
        recurrent_init=cfg.recurrent_init,
        recurrent_gain=cfg.recurrent_gain,
        dtype=cfg.dtype,
    )
