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


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_engine_script(script: str, payload: Any, timeout: float = 600) -> Any:
    """The JSON the script prints; fails the test with the script's stderr otherwise."""
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_environment(),
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def start_engine_script(script: str, payload: Any) -> subprocess.Popen[str]:
    """The same, running beside the test (for several engines at once, or one to kill);
    read its answer with `engine_script_answer`."""
    process = subprocess.Popen(
        [str(RASA_PYTHON), "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_environment(),
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(payload))
    process.stdin.close()
    process.stdin = None  # written and closed: `communicate` must not flush it again
    return process


def engine_script_answer(process: subprocess.Popen[str], timeout: float = 300) -> Any:
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr[-4000:]
    return json.loads(stdout)
