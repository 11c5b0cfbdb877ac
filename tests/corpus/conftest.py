"""Helpers shared by the corpus tests (no Qt anywhere here)."""

from __future__ import annotations

import re

import pytest

from rnnviz.corpus import chunks


def assert_plain_message(message: str, name: str) -> None:
    """A message for a student: names the file, is a sentence, and shows no Python internals."""
    assert name in message, f"{name!r} not named in {message!r}"
    assert (message[0].isupper() or message.startswith(name)) and message.endswith("."), message
    for internal in ("Errno", "Traceback", "b'", 'b"', "\\x", "None", "Error"):
        assert internal not in message, f"{internal!r} in {message!r}"
    assert not re.search(r"\w+\.\w+\(", message), f"looks like code: {message!r}"


@pytest.fixture
def small_chunks(monkeypatch):
    """Cut texts into 7-character pieces so every chunk boundary case runs on tiny inputs."""
    monkeypatch.setattr(chunks, "CHUNK_CHARS", 7)
    return 7
