"""Where the bundled corpora are: the top-level ``data/`` folder, installed as the package ``rnnviz.data``.

Installed (a normal or editable ``pip install``), the folder is found as that package. Run straight
from a source checkout without installing (``python -m rnnviz`` in the repository, or Python putting
the checkout first on its path), ``rnnviz.data`` does not exist as a package and the folder is found
next to the ``rnnviz`` source folder instead.

Limit: the paths are real files only when the package is installed as files, not from a zip;
:func:`bundled_corpus` raises a plain error otherwise.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from rnnviz.corpus.errors import CorpusError

#: The bundled plain-text corpora, the default first (provenance and quirks in data/SOURCES.md).
BUNDLED_CORPORA: tuple[str, ...] = ("tinyshakespeare.txt", "alice.txt")
#: The bundled names folder: one ``<Language>.txt`` per class, 18 classes.
BUNDLED_NAMES_DIR = "names"


def bundled_data_dir() -> Path:
    """The folder that holds the bundled corpora."""
    try:
        root = files("rnnviz.data")
    except ModuleNotFoundError:  # a source checkout: data/ sits beside the rnnviz/ package folder
        root = Path(__file__).resolve().parents[2] / "data"
    path = Path(str(root))
    if not path.is_dir():
        raise CorpusError(
            "missing",
            f"The bundled corpora are not installed as files (looked in {root}). Reinstall rnnviz with pip.",
            path=path,
        )
    return path


def bundled_corpus(name: str = BUNDLED_CORPORA[0]) -> Path:
    """Path of a bundled corpus by file name, e.g. ``bundled_corpus("alice.txt")``."""
    if name not in BUNDLED_CORPORA:
        raise CorpusError(
            "missing",
            f"There is no bundled corpus called {name}. The bundled corpora are: {', '.join(BUNDLED_CORPORA)}.",
        )
    return bundled_data_dir() / name


def bundled_names_dir() -> Path:
    """Path of the bundled names folder (18 ``<Language>.txt`` files)."""
    return bundled_data_dir() / BUNDLED_NAMES_DIR
