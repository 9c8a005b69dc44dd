"""The ASIC catalog: SHA-256 mining machines, their nameplate hashrate and power, launch
month, cooling and source, as typed arrays (:class:`Catalog`).

The catalog ships with the package (``asics.csv``, one row per model; see ``docs/asics.md``
for its columns, the release-month convention and the sources) and a user may add their own
machines from a CSV of the same columns (:func:`load_catalog`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minerwatch.days import as_day
from minerwatch.serialize import Columns
from minerwatch.sources.table import Table, parse_float, read_csv

COOLING = ("air", "hydro", "immersion")
CATALOG_COLUMNS = (
    "model",
    "vendor",
    "hashrate_ths",
    "power_w",
    "efficiency_j_th",
    "release_month",
    "cooling",
    "source",
)
REQUIRED_USER_COLUMNS = ("model", "hashrate_ths", "power_w")
OPTIONAL_USER_COLUMNS = ("vendor", "efficiency_j_th", "release_month", "cooling", "source")
# Empty cells of a user row that replaces a catalog model are taken from that model. (The
# efficiency is always the user's power / hashrate; an empty source names the user's file.)
FILLED_FROM_CATALOG = ("vendor", "release_month", "cooling")
# A stated efficiency must agree with power_w / hashrate_ths to this relative tolerance (the
# file rounds it; the catalog keeps the exact quotient).
EFFICIENCY_REL_TOLERANCE = 0.01
EARLIEST_RELEASE_MONTH = np.datetime64("2009-01", "M")
PACKAGED_CATALOG = "asics.csv"
_MONTH_FORM = re.compile(r"^\d{4}-\d{2}$")


@dataclass(frozen=True)
class Catalog(Columns):
    """ASIC models, one entry per model in each array (all of equal length).

    Attributes:
        model: model name (object array of str), unique ignoring case.
        vendor: manufacturer (object array of str; "" where a user row gives none).
        hashrate_ths: nameplate hashrate, TH/s (float64).
        power_w: nameplate power at the wall, W (float64).
        efficiency_j_th: ``power_w / hashrate_ths``, J/TH (float64).
        release_month: month the manufacturer launched the model (``datetime64[M]``; NaT for
            a user's machine without one). See ``docs/asics.md`` for the convention.
        cooling: "air", "hydro" or "immersion" (object array).
        source: where the row's release month and specifications come from (object array).
        notes: remarks from loading (for example a user row replacing a catalog model).

    :meth:`rows` gives one JSON-ready dict per model (release month ``YYYY-MM`` or None),
    without the notes.
    """

    model: np.ndarray
    vendor: np.ndarray
    hashrate_ths: np.ndarray
    power_w: np.ndarray
    efficiency_j_th: np.ndarray
    release_month: np.ndarray
    cooling: np.ndarray
    source: np.ndarray
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.model)

    def released_by(self, day) -> np.ndarray:
        """Boolean mask of the models launched by ``day`` (a date or ``datetime64``).

        Release months have month resolution, so to never list a machine before its launch
        a model counts as released from the first day of the month *after* its release
        month (the S21, launched 2023-09, is listed from 2023-10-01). A model without a
        release month (a user's own machine) is always released.
        """
        return np.isnat(self.release_month) | (on_sale_day(self.release_month) <= as_day(day))

    def select(self, mask: np.ndarray) -> Catalog:
        """The models where ``mask`` is true (or at the given indices), in that order."""
        return Catalog(
            **{name: getattr(self, name)[mask] for name in CATALOG_COLUMNS}, notes=self.notes
        )


def on_sale_day(release_month: np.ndarray) -> np.ndarray:
    """The first day a model counts as on sale: the first day of the month after its
    release month (release months have month resolution; see :meth:`Catalog.released_by`);
    NaT for NaT."""
    return (np.asarray(release_month, "datetime64[M]") + 1).astype("datetime64[D]")


def _text_column(table: Table, column: str, default: str) -> tuple[np.ndarray, np.ndarray]:
    """The column's cells as str (``default`` where absent), and the mask of empty cells."""
    if not table.has(column):
        return np.full(len(table), default, dtype=object), np.ones(len(table), bool)
    cells = table.columns[column].astype(str)
    empty = np.char.str_len(cells) == 0 if len(cells) else np.zeros(0, bool)
    return np.where(empty, default, cells).astype(object), empty


def _parse_release_month(table: Table, *, required: bool) -> np.ndarray:
    """``release_month`` cells ``YYYY-MM`` to ``datetime64[M]``; NaT for empty cells where
    allowed. Months before 2009-01 are refused."""
    expected = "a month YYYY-MM"
    if not table.has("release_month"):
        return np.full(len(table), np.datetime64("NaT", "M"))
    cells = table.columns["release_month"].astype(str)
    out = np.full(len(cells), np.datetime64("NaT", "M"))
    for i, cell in enumerate(cells):  # a catalog holds tens of rows
        if cell == "":
            if required:
                raise table.error(i, "release_month", f"empty cell; expected {expected}")
            continue
        try:
            if not _MONTH_FORM.match(cell):
                raise ValueError
            out[i] = np.datetime64(cell, "M")
        except ValueError:
            raise table.error(i, "release_month", f"{cell!r} is not {expected}") from None
        if out[i] < EARLIEST_RELEASE_MONTH:
            raise table.error(
                i, "release_month", f"{cell!r} is out of range; expected {expected} >= 2009-01"
            )
    return out


def _parse_machines(table: Table, *, packaged: bool) -> tuple[Catalog, dict[str, np.ndarray]]:
    """Validate a table of machines (the packaged catalog or a user file) into a Catalog,
    with the masks of the empty optional cells (``vendor``, ``release_month``, ``cooling``,
    ``source``) that took a default.

    The packaged file must fill every column; a user file needs only model, hashrate_ths
    and power_w.
    """
    model, empty_model = _text_column(table, "model", "")
    if empty_model.any():
        raise table.error(int(np.flatnonzero(empty_model)[0]), "model", "empty model name")
    key = np.char.lower(model.astype(str))
    order = np.argsort(key, kind="stable")
    dup = np.flatnonzero(key[order][1:] == key[order][:-1])
    if dup.size:
        first, second = int(order[dup[0]]), int(order[dup[0] + 1])
        raise table.error(
            second,
            "model",
            f"duplicate model {model[second]!r} (also on line {int(table.lines[first])}); "
            "expected one row per model",
        )
    hashrate = parse_float(
        table, "hashrate_ths", minimum=0.0, exclusive_minimum=True, expected="TH/s > 0"
    )
    power = parse_float(table, "power_w", minimum=0.0, exclusive_minimum=True, expected="W > 0")
    efficiency = power / hashrate
    if table.has("efficiency_j_th"):
        stated = parse_float(
            table,
            "efficiency_j_th",
            allow_empty=not packaged,
            minimum=0.0,
            exclusive_minimum=True,
            expected="J/TH > 0",
        )
        off = np.abs(stated / efficiency - 1.0) > EFFICIENCY_REL_TOLERANCE  # NaN (empty) -> False
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise table.error(
                i,
                "efficiency_j_th",
                f"{stated[i]:g} J/TH does not match power_w / hashrate_ths = "
                f"{efficiency[i]:.2f} J/TH (tolerance {EFFICIENCY_REL_TOLERANCE:.0%}); "
                "correct it or leave the cell empty",
            )
    release_month = _parse_release_month(table, required=packaged)
    cooling, empty_cooling = _text_column(table, "cooling", "air")
    cooling = np.char.lower(cooling.astype(str)).astype(object)
    bad = ~np.isin(cooling, COOLING)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise table.error(i, "cooling", f"{cooling[i]!r} is not one of {', '.join(COOLING)}")
    vendor, empty_vendor = _text_column(table, "vendor", "")
    source, empty_source = _text_column(table, "source", f"user file {table.origin}")
    if packaged:
        for name, empty in (("vendor", empty_vendor), ("source", empty_source)):
            if empty.any():
                raise table.error(int(np.flatnonzero(empty)[0]), name, f"empty {name}")
    catalog = Catalog(
        model=model,
        vendor=vendor,
        hashrate_ths=hashrate,
        power_w=power,
        efficiency_j_th=efficiency,
        release_month=release_month,
        cooling=cooling,
        source=source,
        notes=tuple(table.notes),
    )
    empty_cells = {
        "vendor": empty_vendor,
        "release_month": np.isnat(release_month),
        "cooling": empty_cooling,
        "source": empty_source,
    }
    return catalog, empty_cells


def read_machines(path: str | Path) -> Catalog:
    """Read a user's CSV of machines: ``model,hashrate_ths,power_w`` and optionally
    ``vendor,efficiency_j_th,release_month,cooling,source``.

    Every error is an :class:`InputError` naming the file, line and column: an empty or
    duplicate model name, a hashrate or power that is not a number > 0, an efficiency that
    disagrees with ``power_w / hashrate_ths`` by more than 1%, a release month not
    ``YYYY-MM`` or before 2009-01, a cooling other than air, hydro or immersion. Empty
    optional cells take defaults: efficiency computed, cooling ``air``, no release month
    (always listed), vendor empty, source naming the file.
    """
    return _read_user(path)[0]


def _read_user(path: str | Path) -> tuple[Catalog, dict[str, np.ndarray]]:
    table = read_csv(path, list(REQUIRED_USER_COLUMNS), optional=list(OPTIONAL_USER_COLUMNS))
    return _parse_machines(table, packaged=False)


def _read_packaged() -> Catalog:
    from importlib import resources  # here, not at import: the CLI's start-up is timed

    ref = resources.files(__package__).joinpath(PACKAGED_CATALOG)
    with resources.as_file(ref) as path:
        table = read_csv(path, list(CATALOG_COLUMNS))
        return _parse_machines(table, packaged=True)[0]


def _concat(a: Catalog, b: Catalog, notes: list[str]) -> Catalog:
    return Catalog(
        **{name: np.concatenate([getattr(a, name), getattr(b, name)]) for name in CATALOG_COLUMNS},
        notes=tuple(notes),
    )


def load_catalog(user_file: str | Path | None = None) -> Catalog:
    """The packaged ASIC catalog, plus the machines of ``user_file`` when given.

    A user row whose model name equals a catalog model (ignoring case) replaces that model
    in place, and ``notes`` says so; its empty optional cells (vendor, release month,
    cooling) are filled from the catalog row it replaces, so a replaced model keeps its
    release month and the ``as_of`` cut, and ``source`` says which cells came from the
    catalog. Other user rows are appended. Errors in the user file are :class:`InputError`
    naming its file, line and column (see :func:`read_machines`).
    """
    catalog = _read_packaged()
    if user_file is None:
        return catalog
    user, empty = _read_user(user_file)
    notes = list(catalog.notes) + list(user.notes)
    index = {str(m).lower(): i for i, m in enumerate(catalog.model)}
    replace = np.array([str(m).lower() in index for m in user.model], bool)
    if replace.any():
        arrays = {name: getattr(catalog, name).copy() for name in CATALOG_COLUMNS}
        for u in np.flatnonzero(replace):
            t = index[str(user.model[u]).lower()]
            filled = [c for c in FILLED_FROM_CATALOG if empty[c][u]]
            for name in CATALOG_COLUMNS:
                if name not in filled and name != "source":
                    arrays[name][t] = getattr(user, name)[u]
            source = str(user.source[u])
            if filled:
                source += f"; {', '.join(filled)} from the catalog row ({catalog.source[t]})"
            arrays["source"][t] = source
            note = f"{user_file}: {user.model[u]!r} replaces the catalog model {catalog.model[t]!r}"
            if filled:
                note += f" (empty {', '.join(filled)} taken from the catalog)"
            notes.append(note)
        catalog = Catalog(**arrays)
    return _concat(catalog, user.select(~replace), notes)
