"""Every package folder ships: pyproject lists packages by hand (two live outside rnnviz/)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "rnnviz").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found <= listed, f"add to pyproject packages: {sorted(found - listed)}"
    assert {"rnnviz.data", "rnnviz.assets"} <= listed


def test_bundled_corpora_are_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["rnnviz.data"]
    shipped = {p.relative_to(ROOT / "data").as_posix() for pat in patterns for p in (ROOT / "data").glob(pat)}
    for name in ["tinyshakespeare.txt", "alice.txt", "SOURCES.md", "names/Russian.txt"]:
        assert name in shipped
