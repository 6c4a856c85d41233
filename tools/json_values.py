"""Values as the trace holds them: JSON (pydantic's JsonValue), converted once where a record is made."""
from __future__ import annotations

from typing import Any

from pydantic import JsonValue


def as_json(value: Any) -> JsonValue:
    """Tuples and sets become lists, numpy scalars and arrays plain numbers and lists, dict keys strings."""
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [as_json(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return as_json(value.tolist())
    return value
