"""What every strategy of a case-mix method shares: its settings round-trip as plain data."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, TypeVar

from casemix.exceptions import SpecError

__all__ = ["Strategy", "strategy_from_dict"]

S = TypeVar("S", bound="Strategy")


@dataclasses.dataclass(frozen=True)
class Strategy:
    """Base of risk models and shrinkers: a frozen dataclass of settings with a ``kind``.

    ``to_dict`` gives ``{"kind": ..., <setting>: <plain value>, ...}`` and ``from_dict`` reads it
    back, so that a run folder can rebuild the exact strategy (no pickles). Settings that are
    themselves objects (sampler settings, priors, adjacency) provide their own ``to_dict`` /
    ``from_dict`` and are listed in ``_nested``.
    """

    kind: ClassVar[str] = ""
    #: Settings whose values are objects with ``to_dict``/``from_dict`` (name -> loader).
    _nested: ClassVar[dict[str, str]] = {}

    def to_dict(self) -> dict[str, Any]:
        """Settings as plain data, with ``kind`` naming the class."""
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if hasattr(value, "to_dict") else value
        return out

    @classmethod
    def _load_nested(cls, name: str, value: Any) -> Any:
        """Rebuild a nested settings object (overridden where there are any)."""
        return value

    @classmethod
    def from_dict(cls: type[S], d: dict[str, Any]) -> S:
        """The strategy from :meth:`to_dict` output."""
        d = dict(d)
        kind = d.pop("kind", cls.kind)
        if kind != cls.kind:
            raise SpecError(f"Cannot read a {kind!r} strategy as {cls.kind!r}.")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise SpecError(f"{cls.__name__} has no setting(s) {sorted(unknown)}; it has "
                            f"{sorted(names)}.")
        return cls(**{k: (None if v is None else cls._load_nested(k, v))
                      for k, v in d.items()})

    def settings(self) -> dict[str, Any]:
        """The settings as keyword arguments (``dataclasses.replace`` accepts them)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def describe(self) -> str:
        """``Kind(setting=value, ...)`` for notes and reports (non-default settings only)."""
        defaults = type(self)()
        changed = [f"{k}={v!r}" for k, v in self.settings().items()
                   if v is not None and v != getattr(defaults, k)]
        return f"{type(self).__name__}({', '.join(changed)})"


def strategy_from_dict(d: dict[str, Any], registry: dict[str, type[S]]) -> S:
    """Rebuild a strategy whose class is named by ``d["kind"]`` in ``registry``."""
    kind = d.get("kind")
    if kind not in registry:
        raise SpecError(f"Unknown strategy kind {kind!r}; known: {sorted(registry)}.")
    return registry[kind].from_dict(d)
