"""A worker started through `retrochat.serve` runs daphne (Twisted) on uvloop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_worker_runs_twisted_on_uvloop() -> None:
    probe = (
        "import retrochat.serve as serve\n"
        "from twisted.internet import reactor\n"
        "print(serve.LOOP_KIND, type(reactor._asyncioEventloop).__module__)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["uvloop", "uvloop"]
