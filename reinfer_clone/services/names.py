from ..errors import InvalidInput
from ..vocabulary import NAME_RE


def validate_name(kind: str, name: str) -> str:
    if not NAME_RE.match(name):
        raise InvalidInput(
            f"Invalid {kind} name '{name}': it must be 1 to 256 characters from "
            "A-Z, a-z, 0-9, '_' and '-'.",
            field="name",
        )
    return name


def parse_id_ref(ref: str) -> str | None:
    """`id:<hex>` path segments mean "by id"; returns the id or None for a name."""
    if ref.startswith("id:"):
        return ref[3:]
    return None
