"""The client speaks the wire contract only: it imports none of the server's modules."""

from __future__ import annotations

import json
import subprocess
import sys

SERVER_PACKAGES = ("store", "services", "api", "realtime", "domain", "app", "config", "cli")


def test_client_imports_no_server_module() -> None:
    code = (
        "import json, sys, switchboard.client, switchboard.client.cli;"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('switchboard.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    server = [m for m in loaded if m.split(".")[1] in SERVER_PACKAGES]
    assert server == []
    assert "switchboard.client.media" in loaded
