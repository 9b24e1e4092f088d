"""The runnable examples of docs/python-client.md run against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Server

DOC = Path(__file__).resolve().parents[2] / "docs" / "python-client.md"
BLOCK = re.compile(r"```python\n(# example: (?P<name>[\w-]+)\n.*?)```", re.DOTALL)
EXAMPLES = {m["name"]: m[1] for m in BLOCK.finditer(DOC.read_text())}


def test_the_doc_has_examples() -> None:
    assert set(EXAMPLES) == {"two-bots", "rest"}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_runs(name: str, server: Server) -> None:
    result = subprocess.run(
        [sys.executable, "-c", EXAMPLES[name]],
        env={**os.environ, "SWITCHBOARD_URL": server.url},
        capture_output=True,
        text=True,
        timeout=45,
    )
    assert result.returncode == 0, result.stderr
    if name == "two-bots":
        assert "bob hears 440 Hz" in result.stdout
        assert "alice sees: ended hangup" in result.stdout
    else:
        assert "409 caller_busy" in result.stdout
        assert "1 call(s): ['ended']" in result.stdout
