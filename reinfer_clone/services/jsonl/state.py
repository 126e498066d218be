"""The sidecar files that let an export or import resume after an interruption."""
from __future__ import annotations

import os
from typing import Callable

import orjson

from ...errors import InvalidInput

STATE_VERSION = 1
EXPORT_STATE_SUFFIX = ".partial"
IMPORT_STATE_SUFFIX = ".import-state"
# How much of the input before the resume offset must be unchanged for a resume.
CHECKSUM_WINDOW = 64 * 1024

Progress = Callable[[int], None]
OnStart = Callable[[int, int], None]  # (total, already done)


def load_state(path: str) -> dict | None:
    try:
        with open(path, "rb") as f:
            state = orjson.loads(f.read())
    except FileNotFoundError:
        return None
    except orjson.JSONDecodeError:
        raise InvalidInput(f"{path} is not a state file of this tool; delete it or use --restart.") from None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise InvalidInput(f"{path} is not a state file of this tool; delete it or use --restart.")
    return state


def save_state(path: str, state: dict) -> None:
    # Write-then-rename, so an interruption leaves the old state or the new one.
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(orjson.dumps(state))
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def remove_state(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
