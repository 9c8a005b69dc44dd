"""Every exception minerwatch raises on purpose, in one hierarchy.

Callers catch errors by meaning, from the broad kind to the exact case:

- :class:`InputError` (CLI exit code 2): bad user input, a file, a row, a cell, a
  parameter or a date, or nothing there to read yet (:class:`NoDatabase`,
  :class:`NoChainData`). Subclasses: :class:`AsOfOutOfRange`, :class:`NoPriceOnDay`.
- :class:`SourceError` (exit code 3): a network source failed: :class:`SourceUnavailable`
  (with :class:`RateLimited`), :class:`BadResponse` or :class:`AuthenticationFailed`.
- :class:`StoreError` (exit code 4): the database file cannot be used as it is:
  :class:`StoreBusy`, :class:`StoreUnreadable`, :class:`NotAMinerwatchStore`,
  :class:`SchemaTooNew`, :class:`SchemaTooOld`, :class:`StoreReadOnly`, :class:`ChainDataGap`.

Messages name library parameters (``as_of``, ``power_price_usd_kwh``), never command-line
options: a message about one parameter begins with its name and sets ``parameter``, and a
message that names another one writes it in backticks (`` `replace` ``), so the CLI can put
its own option names in their place.
"""

from __future__ import annotations


class MinerwatchError(Exception):
    """Base of every error minerwatch raises on purpose."""


class InputError(MinerwatchError):
    """Bad user input: a file, a row, a cell, a parameter or a date.

    The message names where the problem is (file, line, column, key or parameter) and what was
    expected there. ``line_label`` names what ``line`` counts ("item" for API pages).
    ``parameter`` names the library parameter a bad value was given for (the message then
    begins with that name), so the CLI can name its own option instead. ``reason`` is the
    message without the place (file, line, column) that ``str()`` puts before it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
        key: str | None = None,
        line_label: str = "line",
        parameter: str | None = None,
    ) -> None:
        self.parameter = parameter
        self.path = path
        self.line = line
        self.column = column
        self.key = key
        self.reason = message
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"{line_label} {line}")
        if column is not None:
            where.append(f"column {column!r}")
        if key is not None:
            where.append(f"key {key!r}")
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")


def naming(exc: InputError, names: dict[str, str]) -> str:
    """The message of ``exc`` with the library's parameter names replaced by a front end's
    (``names``: the CLI's options, the API's query parameters): the parameter the message
    begins with (``exc.parameter``, whole name only) and every name in backquotes."""
    import re

    text, reason, parameter = str(exc), exc.reason, exc.parameter or ""
    place = text[: len(text) - len(reason)]  # file, line, column
    name = names.get(parameter)
    if name is not None and re.match(rf"{re.escape(parameter)}\b", reason):
        reason = name + reason[len(parameter) :]
    return place + re.sub(r"`(\w+)`", lambda m: f"`{names.get(m[1], m[1])}`", reason)


class AsOfOutOfRange(InputError):
    """The requested ``as_of`` date lies outside the data held in the store."""


class NoPriceOnDay(InputError):
    """The day has no BTC/USD close (or no hashprice), so nothing priced in USD exists."""


class NoDatabase(InputError):
    """No database file at the path, or the path cannot hold one (a folder, a file in the
    way of its folder)."""


class NoChainData(InputError):
    """The database holds no daily chain data yet."""


class SourceError(MinerwatchError):
    """A network source failed; ``url`` names the request."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        self.reason = message
        super().__init__(f"{message} ({url})" if url else message)


class SourceUnavailable(SourceError):
    """The source could not be reached or kept failing after every retry."""


class RateLimited(SourceUnavailable):
    """The source kept answering HTTP 429 after every retry."""


class BadResponse(SourceError):
    """The source answered, but not in the documented shape."""


class AuthenticationFailed(SourceError):
    """The source refused every credential tried (HTTP 401). The message names where each
    credential came from (a cookie file's path, "the rpcuser/rpcpassword given"), never the
    credential itself."""


class TransientSourceError(SourceUnavailable):
    """One attempt failed in a way worth retrying: a timeout, a connect error, HTTP 408,
    429 or 5xx. The retry loop (:func:`minerwatch.sources.retry.call`) catches it and, when
    no attempt is left, raises :class:`SourceUnavailable` (or :class:`RateLimited` when
    ``rate_limited``) with ``failure`` and the number of attempts.

    ``reason`` is the short cause counted in retry notes ("HTTP 503 Service Unavailable");
    ``retry_after_s`` is the server's own wait (``Retry-After``), None when it gave none.
    """

    def __init__(
        self,
        reason: str,
        *,
        url: str | None = None,
        failure: str | None = None,
        rate_limited: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        self.failure = failure or reason
        self.rate_limited = rate_limited
        self.retry_after_s = retry_after_s
        super().__init__(reason, url=url)


class SyncDeadlineExceeded(SourceError):
    """A sync ran past its total deadline (a server trickling bytes, or too slow a source).
    Pages committed before it stay, and the next sync resumes after them."""


class SyncPageCapReached(SourceError):
    """A sync fetched as many pages as its page cap allows and the source still offered
    more (a source paging forever). Pages committed before it stay."""


class StoreError(MinerwatchError):
    """The database file cannot be used as it is."""


class StoreBusy(StoreError):
    """Another process holds the database file for writing."""


class StoreUnreadable(StoreError):
    """The file is not a DuckDB database, or a damaged one, or cannot be read."""


class NotAMinerwatchStore(StoreError):
    """The file is a DuckDB database of something else: it has tables but no minerwatch
    schema, so minerwatch neither reads nor adds to it."""


class SchemaTooNew(StoreError):
    """The database was written by a newer minerwatch (a schema version above ours)."""


class SchemaTooOld(StoreError):
    """The database needs a migration, which a read-only store cannot make; ``version`` is
    its schema version (0: an empty DuckDB file)."""

    def __init__(self, message: str, *, version: int = 0) -> None:
        self.version = version
        super().__init__(message)


class StoreReadOnly(StoreError):
    """A write was asked of a store opened read-only."""


class ChainDataGap(StoreError):
    """The stored daily chain data skips days (imports refuse gaps; this database was
    written otherwise)."""
