"""Task presets: a starting configuration for each lesson, with what it teaches (no Qt here).

Each :class:`Preset` changes some TrainConfig fields (the rest keep their values), has a short key
for the command line (``rnnviz train --preset exploding``, ``rnnviz presets``), a one-line summary, a
lesson text for the app (what to do, what to look for, what it means) and, for the lessons that are
a comparison, the one setting run B changes (``rnnviz compare --preset vanishing``, the app's Compare).

The lesson presets are tuned by measurement, and their claims are measured over seeds 0-4 by
``bench/lessons.py`` (the table is in the README); every number a lesson text states comes from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnviz.corpus import CorpusError, EchoTask, bundled_corpus
from rnnviz.training import TrainConfig


@dataclass(frozen=True)
class Preset:
    key: str  # the command line's name
    title: str  # the app's preset menu
    summary: str  # one line: ``rnnviz presets``
    lesson: str  # two to five sentences for a student: what to do, what to look for, what it means
    settings: dict = field(default_factory=dict)  # TrainConfig fields
    compare: dict | None = None  # run B's change, for a lesson that compares two runs


# The model of both character-LSTM presets (the bundled corpus, or the user's text).
CHAR_LSTM = dict(
    task="lm", level="char", cell="lstm", hidden=128, layers=1, seq_len=64, batch_size=32, optimizer="adam",
    lr=2e-3, clip="norm:5", recurrent_init="uniform", recurrent_gain=1.0,
)  # fmt: skip

# The model of the exploding and saturation lessons: a vanilla RNN on the bundled corpus, plain SGD
# (whose step is the gradient itself: what explodes moves the weights as far).
CHAR_RNN = dict(
    task="lm", level="char", cell="rnn", hidden=128, layers=1, seq_len=64, batch_size=32, optimizer="sgd",
    momentum=0.0,
)  # fmt: skip

# The vanishing lesson, measured (bench/lessons.py; the notes on issue 9 list the settings tried): at
# k = 80 the vanilla RNN stays at chance for 3,000 updates for every seed tried (at k = 40 and 60 it
# learns part of the task for some seeds), while the LSTM (forget-gate bias 5: it starts remembering,
# sigmoid(5)^80 = 0.58 of the cell survives 80 steps; at bias 3 only 0.02 does) learns it within a few
# hundred updates. At a learning rate of 3e-3 the LSTM stalled at 50-75% for one seed of five; with 48 units
# the RNN learned part of it.
VANISHING_K = 80


def _bundled(name: str) -> str | None:
    """A bundled corpus's path; None (the default corpus) where the bundled files are not installed as
    files (a zip): the app must still start, and loading the text then says why."""
    try:
        return str(bundled_corpus(name))
    except CorpusError:
        return None


# The next-word lesson, measured (bench/lessons.py, seeds 0-4): the validation loss of the word LSTM on
# Alice (lower case, 2,000 words, 1.7% of the text read as <unk>) falls below the unigram entropy of the
# training text (5.36 nats) within 100 updates (50 for every seed) and stays below up to 200. A GRU at
# lr 5e-3 (one seed) got there faster but overfitted the book's 34,000 training words from about 300
# updates on.
NEXT_WORD_UNIGRAM = 5.4

# The echo lesson, measured (bench/lessons.py, seeds 0-4): a 32-unit vanilla RNN echoes a delay of 10
# steps (validation loss below a tenth of the zero answer's within 500 updates) but not one of 40
# (within 2% of the zero answer's loss after 1,500 updates; a GRU or LSTM did no better for seed 0).
ECHO_DELAY, ECHO_FAR = 10, 40
ECHO_SEQ_LEN = 60
# what answering 0 scores: the task's own number (the input's variance on the steps with an echo)
ECHO_ZERO_LOSS = EchoTask(delay=ECHO_DELAY, seq_len=ECHO_SEQ_LEN).zero_loss

PRESET_LIST: tuple[Preset, ...] = (
    Preset(
        "shakespeare",
        "Tiny Shakespeare: character LSTM",
        "a character-level LSTM on the bundled Tiny Shakespeare (the default)",
        "Press Train and watch the loss fall from about 4.2 (guessing among 65 characters) towards 1.5. The "
        "heatmap shows the LSTM's units over 64 characters of the batch; the bars show what it expects next. "
        "Pause, then type your own text in the probe and step through it to see what the model predicts.",
        dict(CHAR_LSTM, corpus=None, forget_bias=1.0),
    ),
    Preset(
        "your-text",
        "Your text: character LSTM",
        "the same character LSTM on a text file you open",
        "The same character-level LSTM as the Shakespeare preset, on the text you opened. Small texts are learned "
        "by heart quickly: compare the training and validation loss to see when it starts memorising.",
        dict(CHAR_LSTM),
    ),
    Preset(
        "next-word",
        "Next word: word-level RNN with embeddings (Alice)",
        "a word-level LSTM with word embeddings on the bundled Alice in Wonderland",
        "The LSTM reads Alice in Wonderland word by word, each word as a learned vector of 64 numbers (its "
        "embedding), and predicts the next word out of 2,000. Press Train: within 100 updates the validation loss "
        f"falls from about 7.6 (guessing among 2,000 words) below {NEXT_WORD_UNIGRAM}, the loss of knowing only how "
        "often each word occurs (the loss panel shows it at its first validation, update 200). Then pause, type "
        "a phrase in the probe (say 'the queen said') and step through "
        "it: the bars show the most likely next words and their probabilities.",
        dict(
            task="lm",
            level="word",
            corpus=_bundled("alice.txt"),
            lower=True,
            max_vocab=2000,
            cell="lstm",
            hidden=128,
            embed_size=64,
            layers=1,
            seq_len=32,
            batch_size=32,
            optimizer="adam",
            lr=3e-3,
            clip="norm:5",
            recurrent_init="uniform",
            recurrent_gain=1.0,
        ),  # fmt: skip
    ),
    Preset(
        "exploding",
        "Exploding gradients: vanilla RNN (clipping off vs on)",
        "a vanilla RNN whose gradients explode; compare clipping off (A) with clipping by norm (B)",
        "W_hh starts as 1.5 times a rotation, so each step back in time multiplies the gradient by about 1.09 and "
        "the gradient from 64 steps back is about a thousand times the last step's: see the mechanism panel. Press "
        "Compare before training: run A keeps clipping off, run B clips the gradient to norm 1, on the same "
        "batches. Train: within a few updates one huge step of A throws its weights away (training pauses on the "
        "spike: Continue) while B learns, its loss falling below the unigram entropy, the best guess without "
        "context.",
        dict(CHAR_RNN, lr=1.0, clip="off", recurrent_init="orthogonal", recurrent_gain=1.5, spike_pause=True),
        compare={"clip": "norm:1"},
    ),
    Preset(
        "vanishing",
        f"Vanishing gradients: remember a symbol {VANISHING_K} steps (RNN vs LSTM)",
        f"a vanilla RNN (A) against an LSTM (B) on remembering a symbol for {VANISHING_K} steps",
        f"Each sequence starts with a capital letter, then {VANISHING_K} random symbols; the network must say "
        "which letter it saw, so chance is 25%. Press Compare before training, then Train: the vanilla RNN (A) "
        "stays at chance, because its "
        "Jacobian product shrinks with the lag (mechanism panel) and the error at the answer never reaches the "
        "letter. The LSTM (B) carries it in its cell state, whose forget gate starts near 1, and learns the task "
        "within a few hundred updates.",
        dict(
            task="longrange",
            k=VANISHING_K,
            cell="rnn",
            hidden=32,
            layers=1,
            batch_size=32,
            optimizer="adam",
            lr=2e-3,
            clip="norm:1",
            forget_bias=5.0,
            recurrent_init="uniform",
            recurrent_gain=1.0,
        ),  # fmt: skip
        compare={"cell": "lstm"},
    ),
    Preset(
        "saturation",
        "Saturation: a large W_hh whose gradient still vanishes",
        "a vanilla RNN with W_hh = 3 x the identity: units pinned at +-1, so the gradient vanishes anyway",
        "W_hh is 3 times the identity: every singular value is 3, which sounds like exploding gradients. But each "
        "unit excites itself so strongly that it is pinned near +1 or -1, where the slope of tanh is almost 0, so "
        "each step back multiplies the gradient by about 3 x 0.01: the mechanism panel shows most units "
        "saturated and a Jacobian product that falls with lag. A large W_hh is necessary for exploding "
        "gradients, not sufficient (Pascanu, Mikolov and Bengio, 2013).",
        dict(CHAR_RNN, lr=0.1, clip="norm:1", recurrent_init="identity", recurrent_gain=3.0),
        compare={"recurrent_gain": 1.0},
    ),
    Preset(
        "names",
        "Names to languages: GRU classifier",
        "a GRU that reads a surname and names its language",
        "The GRU reads a surname letter by letter and guesses its language out of 18 at the end. Type a name in the "
        "probe and step through it to see the guess form; the validation accuracy says how often it is right.",
        dict(
            task="classify",
            corpus=None,
            cell="gru",
            hidden=64,
            layers=1,
            batch_size=32,
            optimizer="adam",
            lr=5e-3,
            clip="norm:5",
            recurrent_init="uniform",
            recurrent_gain=1.0,
        ),  # fmt: skip
    ),
    Preset(
        "sine",
        "Sine wave: predict the next value (GRU)",
        "a GRU that predicts the next value of a sine wave",
        "The GRU sees a sine wave one value at a time and predicts the next value. The loss is the mean squared "
        "error; it falls towards 0 as the network learns the wave's frequency from a few values.",
        dict(
            task="sine",
            cell="gru",
            hidden=32,
            layers=1,
            seq_len=50,
            batch_size=32,
            optimizer="adam",
            lr=1e-2,
            clip="norm:5",
            recurrent_init="uniform",
            recurrent_gain=1.0,
        ),  # fmt: skip
    ),
    Preset(
        "echo",
        f"Echo: remember the input {ECHO_DELAY} steps back (vanilla RNN)",
        f"a vanilla RNN that says again the input it read {ECHO_DELAY} steps ago",
        f"Each step brings a random value between -1 and 1; the target is the value from {ECHO_DELAY} steps ago, so "
        f"only memory helps. Always answering 0 scores a loss of {ECHO_ZERO_LOSS:.3f} (the input's variance, 1/3, "
        f"on the {ECHO_SEQ_LEN - ECHO_DELAY} of {ECHO_SEQ_LEN} steps that have an echo); within 500 "
        f"updates the RNN's validation loss falls below a tenth of that. Then set the delay d to {ECHO_FAR} and "
        "Reset: in 1,500 updates the loss stays at the loss of answering 0.",
        dict(
            task="echo",
            delay=ECHO_DELAY,
            seq_len=ECHO_SEQ_LEN,
            cell="rnn",
            hidden=32,
            layers=1,
            batch_size=32,
            optimizer="adam",
            lr=1e-2,
            clip="norm:1",
            recurrent_init="uniform",
            recurrent_gain=1.0,
        ),  # fmt: skip
    ),
    Preset(
        "toy",
        "The king sits on throne: 5-unit RNN",
        "a 5-unit vanilla RNN on one five-word sentence",
        "Five hidden units learn the sentence 'the king sits on throne' by heart. The model is small enough that "
        "every number of the forward and backward pass fits on screen: step through it with the probe.",
        dict(
            task="toy",
            cell="rnn",
            hidden=5,
            layers=1,
            optimizer="sgd",
            lr=0.1,
            clip="off",
            recurrent_init="uniform",
            recurrent_gain=1.0,
        ),  # fmt: skip
    ),
)

BY_KEY: dict[str, Preset] = {p.key: p for p in PRESET_LIST}
BY_TITLE: dict[str, Preset] = {p.title: p for p in PRESET_LIST}
PRESETS: dict[str, dict] = {p.title: p.settings for p in PRESET_LIST}  # the app's menu: title -> fields
DEFAULT_PRESET = BY_KEY["shakespeare"].title
YOUR_TEXT_PRESET = BY_KEY["your-text"].title  # what a newly opened text file trains with
NAMES_PRESET = BY_KEY["names"].title  # ... and a newly opened names folder
EXPLODING_PRESET = BY_KEY["exploding"].title
VANISHING_PRESET = BY_KEY["vanishing"].title


def preset_named(name: str) -> Preset:
    """A preset by key or title; ``ValueError`` listing the keys otherwise."""
    preset = BY_KEY.get(name) or BY_TITLE.get(name)
    if preset is None:
        raise ValueError(f"there is no preset called {name!r}; presets: {', '.join(BY_KEY)}")
    return preset


def apply_preset(name: str, base: TrainConfig, corpus: str | None = None) -> TrainConfig:
    """``base`` with the preset's fields (``name``: key or title); the "Your text" preset keeps
    ``corpus`` (the loaded file), and so does a language-model preset that names no corpus."""
    preset = preset_named(name)
    changes = {"spike_pause": False, **preset.settings}  # a lesson's spike pause does not outlive it
    if preset.key == "your-text" or (changes.get("task") == "lm" and "corpus" not in changes):
        changes["corpus"] = corpus
    return base.replace(**changes)
