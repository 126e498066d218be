"""Label names are full paths, "Parent > Child > Grandchild"."""
from __future__ import annotations

from ..vocabulary import LABEL_SEPARATOR as SEPARATOR
from ..vocabulary import label_ancestors as ancestors


def parent_of(name: str) -> str | None:
    up = ancestors(name)
    return up[-1] if up else None


def depth(name: str) -> int:
    return name.count(SEPARATOR)


def with_ancestors(names) -> list[str]:
    """The names plus every implied ancestor, sorted (parents before children)."""
    out: set[str] = set()
    for name in names:
        out.add(name)
        out.update(ancestors(name))
    return sorted(out)


def is_under(name: str, root: str) -> bool:
    """True for the label itself and its descendants."""
    return name == root or name.startswith(root + SEPARATOR)
