"""Streams (contract §12): named cursors over the comments of a dataset's sources.

One module per job: `arrivals` (the global arrival numbering, and why cursors
move along it), `definitions` (the stored streams), `consume` (fetch, results,
advance, reset) and `exceptions`.
"""
from __future__ import annotations

from .arrivals import catch_up, last_number
from .consume import SEQUENCE_KIND, advance, fetch, reset, results, sequence_id
from .definitions import create, delete, get, list_streams, update_stream
from .exceptions import add_exceptions, remove_exceptions

__all__ = [
    "SEQUENCE_KIND", "add_exceptions", "advance", "catch_up", "create", "delete", "fetch", "get",
    "last_number", "list_streams", "remove_exceptions", "reset", "results", "sequence_id",
    "update_stream",
]
