"""The engine, the corpus code, the command line and the app's training process are pure NumPy +
standard library: importing them pulls in no Qt (and, outside the app, no rnnviz.gui either). The
HTTP server's libraries (the optional serve extra) are imported by rnnviz.serve alone."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

PURE_MODULES = [
    "rnnviz.engine",
    "rnnviz.corpus",
    "rnnviz.training",
    "rnnviz.cli",
    "rnnviz.cli_train",
    "rnnviz.cli_serve",
    "rnnviz.cli_walkthrough",
    "rnnviz.lab",
]
SERVER_LIBRARIES = ("fastapi", "uvicorn", "pydantic", "starlette")

CHECK = """
import importlib, pkgutil, sys
module, gui_allowed, server = sys.argv[1], sys.argv[2] == "1", sys.argv[3].split(",")
m = importlib.import_module(module)
if hasattr(m, "__path__"):
    for info in pkgutil.walk_packages(m.__path__, m.__name__ + "."):
        importlib.import_module(info.name)
qt = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")
bad = [n for n in sys.modules if n.split(".")[0] in qt or (not gui_allowed and n.startswith("rnnviz.gui"))]
bad += [n for n in sys.modules if n.split(".")[0] in server]
print(",".join(sorted(bad)))
"""


@pytest.mark.parametrize("module", PURE_MODULES)
def test_module_imports_no_qt(module):
    gui_allowed = "1" if module.startswith("rnnviz.gui") else "0"
    out = subprocess.run(
        [sys.executable, "-c", CHECK, module, gui_allowed, ",".join(SERVER_LIBRARIES)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"


def test_only_rnnviz_serve_imports_the_server_libraries():
    """Also imports inside functions (the app's are lazy) and in the app, which the check above
    cannot import without a display."""
    package = Path(__file__).resolve().parents[1] / "rnnviz"
    pattern = re.compile(rf"^\s*(?:from|import)\s+({'|'.join(SERVER_LIBRARIES)})\b", re.M)
    offenders = [
        f"{path.relative_to(package.parent)}: {m.group(0).strip()}"
        for path in package.rglob("*.py")
        if path.relative_to(package).parts[0] != "serve"
        for m in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], offenders
    assert any(pattern.search(p.read_text(encoding="utf-8")) for p in (package / "serve").glob("*.py"))
