"""The engine, the corpus code, the command line and the app's training process are pure NumPy +
standard library: importing them pulls in no Qt (and, outside the app, no rnnviz.gui either)."""

import subprocess
import sys

import pytest

PURE_MODULES = [
    "rnnviz.engine",
    "rnnviz.corpus",
    "rnnviz.training",
    "rnnviz.cli",
    "rnnviz.cli_train",
    "rnnviz.lab",
]

CHECK = """
import importlib, pkgutil, sys
module, gui_allowed = sys.argv[1], sys.argv[2] == "1"
m = importlib.import_module(module)
if hasattr(m, "__path__"):
    for info in pkgutil.walk_packages(m.__path__, m.__name__ + "."):
        importlib.import_module(info.name)
qt = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")
bad = [n for n in sys.modules if n.split(".")[0] in qt or (not gui_allowed and n.startswith("rnnviz.gui"))]
print(",".join(sorted(bad)))
"""


@pytest.mark.parametrize("module", PURE_MODULES)
def test_module_imports_no_qt(module):
    gui_allowed = "1" if module.startswith("rnnviz.gui") else "0"
    out = subprocess.run([sys.executable, "-c", CHECK, module, gui_allowed], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"
