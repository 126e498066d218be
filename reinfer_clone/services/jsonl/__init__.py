"""JSONL export and import (contract §15), straight on the database.
One module per job: `state` (sidecar files), `client_format` (the client's
serialization), `export` and `importing`.

Export writes the lines the official client's `re get comments S --dataset D`
writes: the client re-serializes what it received through its own structs, so
fields it does not model are dropped, its skip rules apply, and objects keep its
field order. Import reads what `re create comments` reads.

Both stream (one page or batch in memory) and both resume after an interruption
from a small JSON sidecar file:

* export: `<output>.partial` holds the keyset position of the last page written
  and the byte length of the output at that point; a rerun truncates whatever
  was written after it (a torn last line included) and continues.
* import: `<input>.import-state` (or `--state`) holds the byte offset just past
  the last committed batch; a rerun seeks there.
"""
from __future__ import annotations

from .export import export_jsonl
from .importing import import_jsonl

__all__ = ["export_jsonl", "import_jsonl"]
