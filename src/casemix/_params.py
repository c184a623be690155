"""Uniform checks of function and class parameters (one message shape everywhere)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from casemix.exceptions import ParameterError

__all__ = ["check_in_range", "check_one_of"]


def check_one_of(name: str, value: Any, allowed: Iterable[Any], *, owner: str = "") -> None:
    """Raise :class:`~casemix.exceptions.ParameterError` unless ``value`` is one of ``allowed``.

    The message follows one pattern: "The 'method' parameter of X must be one of ...
    Got ... instead."
    """
    allowed = tuple(allowed)
    if value not in allowed:
        where = f" of {owner}" if owner else ""
        options = ", ".join(repr(a) for a in allowed)
        raise ParameterError(
            f"The {name!r} parameter{where} must be one of {options}. Got {value!r} instead."
        )


def check_in_range(
    name: str, value: float, low: float, high: float, *, owner: str = ""
) -> None:
    """Raise :class:`~casemix.exceptions.ParameterError` unless ``low <= value <= high``."""
    if not (low <= value <= high):
        where = f" of {owner}" if owner else ""
        raise ParameterError(
            f"The {name!r} parameter{where} must be between {low} and {high}. "
            f"Got {value!r} instead."
        )
