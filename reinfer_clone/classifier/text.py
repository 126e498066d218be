"""The text a comment is classified by."""
from __future__ import annotations


def comment_text(messages: list[dict]) -> str:
    """Subject (if any) then body of each message, joined by newlines.

    Empty parts are skipped so that a comment with no subject does not start
    with a blank line (which would change its embedding cache key for nothing).
    """
    parts: list[str] = []
    for message in messages or ():
        for part in ("subject", "body"):
            value = (message or {}).get(part) or {}
            text = value.get("text") if isinstance(value, dict) else None
            if text:
                parts.append(text)
    return "\n".join(parts)
