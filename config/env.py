"""Reading settings from the environment.

Every variable read through these helpers is recorded in REGISTRY, so a test can check that the
README's table lists exactly the variables the settings read, with their defaults.
"""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    doc: str


REGISTRY: dict[str, Variable] = {}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _read(name: str, default: str, doc: str) -> str:
    REGISTRY[name] = Variable(name, default, doc)
    return os.environ.get(name, default)


def env_str(name: str, default: str, doc: str) -> str:
    return _read(name, default, doc)


def env_bool(name: str, default: bool, doc: str) -> bool:
    raw = _read(name, "1" if default else "0", doc).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_int(name: str, default: int, doc: str) -> int:
    raw = _read(name, str(default), doc).strip()
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number; got {raw!r}") from None


def env_list(name: str, default: str, doc: str) -> list[str]:
    return [item.strip() for item in _read(name, default, doc).split(",") if item.strip()]
