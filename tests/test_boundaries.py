"""The engine and the corpus code are pure NumPy + standard library: importing them pulls in no Qt."""

import subprocess
import sys

import pytest

PURE_PACKAGES = ["rnnviz.engine", "rnnviz.corpus", "rnnviz.training", "rnnviz.cli", "rnnviz.cli_train"]


@pytest.mark.parametrize("module", PURE_PACKAGES)
def test_module_imports_no_qt(module):
    code = (
        "import importlib, pkgutil, sys\n"
        f"m = importlib.import_module({module!r})\n"
        "if hasattr(m, '__path__'):\n"
        "    for info in pkgutil.walk_packages(m.__path__, m.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('PySide6', 'shiboken6', 'pyqtgraph', 'PyQt5', 'PyQt6') or n.startswith('rnnviz.gui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"
