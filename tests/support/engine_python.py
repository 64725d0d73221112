"""Runs a script in the engine's interpreter (.venv-rasa), where Rasa components live.

Engine-side tests send their input as JSON on stdin and read JSON from stdout; the
checks then happen in the test interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def run_engine_script(script: str, payload: Any, timeout: float = 600) -> Any:
    """The JSON the script prints; fails the test with the script's stderr otherwise."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)
