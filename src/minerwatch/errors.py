"""Exception hierarchy of minerwatch.

Callers catch errors by meaning: bad input (a file, a parameter, a date) versus a network
source that failed. The CLI maps :class:`InputError` to exit code 2 and :class:`SourceError`
to exit code 3.
"""

from __future__ import annotations


class MinerwatchError(Exception):
    """Base of every error minerwatch raises on purpose."""


class InputError(MinerwatchError):
    """Bad user input: a file, a row, a cell, a parameter or a date.

    The message names where the problem is (file, line, column or parameter) and what was
    expected there. ``line_label`` names what ``line`` counts ("item" for API pages).
    ``parameter`` names the library parameter a bad value was given for (the message then
    begins with that name), so the CLI can name its own option instead.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
        line_label: str = "line",
        parameter: str | None = None,
    ) -> None:
        self.parameter = parameter
        self.path = path
        self.line = line
        self.column = column
        self.reason = message
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"{line_label} {line}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")


class AsOfOutOfRange(InputError):
    """The requested ``as_of`` date lies outside the data held in the store."""


class SourceError(MinerwatchError):
    """A network source failed; ``url`` names the request."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(f"{message} ({url})" if url else message)


class SourceUnavailable(SourceError):
    """The source could not be reached or kept failing after every retry."""


class RateLimited(SourceUnavailable):
    """The source kept answering HTTP 429 after every retry."""


class BadResponse(SourceError):
    """The source answered, but not in the documented shape."""


class StoreError(MinerwatchError):
    """The database file cannot be opened or is of an unknown schema."""
