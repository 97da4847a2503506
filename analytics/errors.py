"""The one exception type for bad input data."""

from __future__ import annotations

from pathlib import Path


class ChainDataError(ValueError):
    """Bad input data: carries the file, the row or field at fault, and a readable reason.

    ``str(err)`` is one line fit for a terminal or a banner, e.g.
    ``"quotes.csv: line 7, field 'Strike': not a number ('abc')"``.

    Examples
    --------
    >>> str(ChainDataError("no live rows", path="/tmp/x.csv", line=5, field="Strike"))
    "x.csv: line 5, field 'Strike': no live rows"
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = []
        if self.path:
            parts.append(Path(self.path).name)
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        if where:
            parts.append(", ".join(where))
        parts.append(self.reason)
        return ": ".join(parts)

    def with_path(self, path: str | Path) -> ChainDataError:
        """Return a copy that names ``path`` (used when a parser did not know its file)."""
        return ChainDataError(self.reason, path=path, line=self.line, field=self.field)


class ScenarioError(ChainDataError):
    """A scenario input out of its allowed range (rate, shocks, vol shift...): one line naming the
    value and the range allowed, raised by :class:`analytics.scenario.Scenario` only.

    Examples
    --------
    >>> str(ScenarioError("spot-vol beta 500 is out of range: allowed -10 to 10"))
    'spot-vol beta 500 is out of range: allowed -10 to 10'
    """

    def __init__(self, reason: str, *, name: str | None = None, nearest: object = None) -> None:
        self.name = name  # the Scenario field at fault ("vol_shift_pts")
        self.nearest = nearest  # the nearest valid Scenario, where one is known (a UI may fall back to it)
        super().__init__(reason)
