"""Which mining pool found a block: a pool list and the matching of coinbases against it.

The pool list is bitcoin-data/mining-pools' (https://github.com/bitcoin-data/mining-pools,
MIT licence, the list mempool.space's is built from). It is not shipped with minerwatch:
``minerwatch import pools FILE`` reads one of its two generated files and keeps it in the
database (:func:`read_pool_list`):

- ``pool-list.json``: a list of ``{"id", "name", "addresses", "tags", "link"}`` objects;
- ``pools.json`` (the older format): ``{"coinbase_tags": {tag: {"name", "link"}},
  "payout_addresses": {address: {"name", "link"}}}``; its pools are numbered in the order
  of their names' first appearance, tags first (as mempool's ``pools-parser`` does).

Identification (:func:`identify`), as mempool.space and 0xB10C's
``bitcoin-pool-identification`` do it:

1. payout addresses first: a block whose coinbase pays a script of a pool's addresses
   (each address converted to its script by :func:`~minerwatch.chain.addresses.address_script`)
   is that pool's; where outputs pay several pools, the first of the block's outputs that
   matches decides;
2. then coinbase tags: the first pool, in list order, one of whose tags occurs in the
   coinbase scriptSig. The scriptSig bytes are read as text (UTF-8 tags are searched as
   their bytes) and compared without regard to ASCII case, as mempool's case-insensitive
   match does. mempool reads each tag as a regular expression; here a tag is a plain
   substring (the list's tags are literal text: ``/$Mined by 7pool.com/`` would never
   match as a pattern, and ``.`` in ``emcd.io`` would match any byte);
3. otherwise the pool is unknown: None.

Matching is vectorised over a page of blocks: payout scripts through a dictionary of the
distinct scripts, tags by one substring search over the page's distinct scriptSigs per tag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from minerwatch.chain.addresses import address_script
from minerwatch.errors import InputError

__all__ = ["LIST_URL", "PoolList", "identify", "read_pool_list", "scriptsig_text"]

_NONE = np.array(None, dtype=object)  # None for elementwise comparison with object arrays
#: Where the pool list is kept (its generated files are on the ``generated`` branch).
LIST_URL = "https://github.com/bitcoin-data/mining-pools"


@dataclass(frozen=True)
class PoolList:
    """A pool list, in its order (which decides between pools that both match).

    ``id``: the list's pool ids (int); ``name``, ``link``: text (link may be None);
    ``addresses`` and ``tags``: per pool, a tuple of payout addresses and of coinbase
    tags; ``origin``: where the list was read from.
    """

    id: tuple[int, ...]
    name: tuple[str, ...]
    link: tuple[str | None, ...]
    addresses: tuple[tuple[str, ...], ...]
    tags: tuple[tuple[str, ...], ...]
    origin: str = ""

    def __len__(self) -> int:
        return len(self.name)

    @cached_property
    def script_pool(self) -> dict[str, int]:
        """Output script (hex) -> index of the first pool paid there."""
        out: dict[str, int] = {}
        for i, addresses in enumerate(self.addresses):
            for address in addresses:
                out.setdefault(address_script(address), i)
        return out

    @cached_property
    def tag_needles(self) -> list[tuple[str, int]]:
        """(tag as searched, pool index) in list order: the tag's UTF-8 bytes, ASCII
        lowercased, as Latin-1 text (one character per byte, like :func:`scriptsig_text`)."""
        return [
            (tag.encode("utf-8").lower().decode("latin-1"), i)
            for i, tags in enumerate(self.tags)
            for tag in tags
        ]


def _fail(origin: str, message: str) -> InputError:
    return InputError(
        f"{message}; expected a pool list of bitcoin-data/mining-pools "
        f"(pool-list.json or pools.json, from {LIST_URL})",
        path=origin,
    )


def _texts(value: Any, origin: str, where: str, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(origin, f"{where}: {what} is not a list of non-empty strings")
    return tuple(value)


def _from_pool_list(items: list[Any], origin: str) -> PoolList:
    ids, names, links, addresses, tags = [], [], [], [], []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _fail(origin, f"item {n}: not a pool object with a name")
        where = f"item {n} ({item['name']!r})"
        pool_id = item.get("id", n)
        if not isinstance(pool_id, int) or isinstance(pool_id, bool):
            raise _fail(origin, f"{where}: id {pool_id!r} is not an integer")
        ids.append(pool_id)
        names.append(item["name"])
        links.append(item.get("link") if isinstance(item.get("link"), str) else None)
        addresses.append(_texts(item.get("addresses", []), origin, where, "addresses"))
        tags.append(_texts(item.get("tags", []), origin, where, "tags"))
    return PoolList(tuple(ids), tuple(names), tuple(links), tuple(addresses), tuple(tags), origin)


def _from_pools_json(data: dict[str, Any], origin: str) -> PoolList:
    names: dict[str, int] = {}
    links: list[str | None] = []
    markers: list[tuple[list[str], list[str]]] = []  # (addresses, tags) per pool
    for key, kind in (("coinbase_tags", 1), ("payout_addresses", 0)):
        entries = data.get(key)
        if not isinstance(entries, dict):
            raise _fail(origin, f"{key!r} is not an object")
        for marker, pool in entries.items():
            if not marker:
                raise _fail(origin, f"{key}: an empty tag or address")
            if not isinstance(pool, dict) or not isinstance(pool.get("name"), str):
                raise _fail(origin, f"{key} {marker!r}: no pool name")
            i = names.setdefault(pool["name"], len(names))
            if i == len(links):
                links.append(pool.get("link") if isinstance(pool.get("link"), str) else None)
                markers.append(([], []))
            markers[i][kind].append(marker)
    return PoolList(
        tuple(range(1, len(names) + 1)),
        tuple(names),
        tuple(links),
        tuple(tuple(a) for a, _ in markers),
        tuple(tuple(t) for _, t in markers),
        origin,
    )


def check_pool_list(pools: PoolList) -> PoolList:
    """``pools`` after checking every address converts to a script (an
    :class:`InputError` naming the pool and the address otherwise) and that names are
    distinct."""
    seen: set[str] = set()
    for name, addresses in zip(pools.name, pools.addresses, strict=True):
        if name in seen:
            raise _fail(pools.origin, f"pool name {name!r} appears twice")
        seen.add(name)
        for address in addresses:
            try:
                address_script(address)
            except InputError as exc:
                raise _fail(pools.origin, f"pool {name!r}: {exc.reason}") from None
    if not len(pools):
        raise _fail(pools.origin, "the list names no pool")
    return pools


def read_pool_list(path: str | Path) -> PoolList:
    """Read a pool list file (either format, see the module docstring), checked by
    :func:`check_pool_list`; :class:`InputError` naming the file for anything else."""
    origin = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"no such file; download a pool list from {LIST_URL}", path=origin
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file ({exc})", path=origin) from None
    except json.JSONDecodeError as exc:
        raise _fail(
            origin, f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if isinstance(data, list):
        pools = _from_pool_list(data, origin)
    elif isinstance(data, dict):
        pools = _from_pools_json(data, origin)
    else:
        raise _fail(origin, "neither a list of pools nor an object of tags and addresses")
    return check_pool_list(pools)


def scriptsig_text(coinbase_tag_hex: np.ndarray) -> np.ndarray:
    """Coinbase scriptSigs (hex) as the text tags are searched in: each byte one Latin-1
    character, ASCII letters lowercased; '' where unknown (None) or not hex. An object
    array of ``str``."""
    hexes = np.asarray(coinbase_tag_hex, dtype=object)
    out = np.full(len(hexes), "", dtype=object)
    known = np.flatnonzero(np.not_equal(hexes, _NONE))
    if known.size == 0:
        return out
    decoded = []
    for h in hexes[known]:  # each scriptSig of the page is distinct (height, extranonce)
        try:
            decoded.append(bytes.fromhex(h).lower().decode("latin-1"))
        except (TypeError, ValueError):
            decoded.append("")
    out[known] = decoded
    return out


def _tag_match(texts: np.ndarray, pools: PoolList) -> np.ndarray:
    """Index of the first pool (list order) one of whose tags occurs in each text
    (``len(pools)`` where none does).

    The texts are joined by NUL characters into one string (no tag holds a NUL, so no
    match spans two texts) and each tag is searched once in it; a match's position gives
    its text by the texts' start offsets."""
    found = np.full(len(texts), len(pools), np.int64)
    if not len(texts):
        return found
    lengths = np.fromiter((len(t) for t in texts), np.int64, len(texts))
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    joined = "\0".join(texts.tolist())
    for needle, i in pools.tag_needles:
        at, pos = [], joined.find(needle)
        while pos >= 0:
            at.append(pos)
            pos = joined.find(needle, pos + 1)
        if at:
            which = np.searchsorted(starts, np.asarray(at, np.int64), side="right") - 1
            np.minimum.at(found, which, i)
    return found


def _flat_scripts(payout_scripts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every payout script of the blocks (lowercase hex, in block and output order) and
    the index of the block paying it. Cells are tuples or lists of hex, space-separated
    strings (as stored) or None."""
    cells = np.asarray(payout_scripts, dtype=object)
    if cells.ndim == 2:  # equal-length tuples that np.array stacked into rows
        rows, cells = cells, np.empty(len(cells), dtype=object)
        cells[:] = [tuple(r) for r in rows]
    known = np.flatnonzero(np.not_equal(cells, _NONE))
    stored = known.size and all(isinstance(c, str) for c in cells[known])
    if stored and not (np.strings.find(cells[known].astype(str), "  ") >= 0).any():
        # Stored cells (single spaces): one vectorised split of the page's strings.
        texts = np.strings.lower(np.strings.strip(cells[known].astype(str)))
        keep = texts != ""
        known, texts = known[keep], texts[keep]
        counts = np.strings.count(texts, " ") + 1
        flat = " ".join(texts.tolist()).split(" ")
    else:
        lists = [  # a page's tuples (or a mix of both kinds)
            cells[i].lower().split()
            if isinstance(cells[i], str)
            else [str(s).lower() for s in cells[i]]
            for i in known
        ]
        counts = np.array([len(c) for c in lists], np.int64)
        flat = [s for c in lists for s in c]
    return np.asarray(flat, dtype=object), np.repeat(known, counts)


def identify(
    coinbase_tag_hex: np.ndarray, payout_scripts: np.ndarray, pools: PoolList
) -> np.ndarray:
    """The pool of each block, a name of ``pools`` (object array): payout scripts first,
    then coinbase tags, else None (the rules: the module docstring).

    ``coinbase_tag_hex``: each block's coinbase scriptSig as hex (None unknown);
    ``payout_scripts``: each block's coinbase output scripts (scriptPubKeys) as hex, in
    output order: a tuple (:class:`~minerwatch.sources.chainpage.BlockPage`), a
    space-separated string (the store's ``payout_scripts``) or None.
    """
    n = len(coinbase_tag_hex)
    if len(payout_scripts) != n:
        raise ValueError(f"{n} coinbase tags but {len(payout_scripts)} payout script cells")
    names = np.asarray((*pools.name, None), dtype=object)
    found = np.full(n, len(pools), np.int64)  # index len(pools): no pool
    flat, owner = _flat_scripts(payout_scripts)
    if flat.size:
        distinct, inverse = np.unique(flat.astype(np.bytes_), return_inverse=True)
        lookup = pools.script_pool
        pool_of = np.array([lookup.get(s.decode(), -1) for s in distinct], np.int64)[inverse]
        hit = pool_of >= 0
        # The first matching output of each block: outputs are in block order.
        first = np.unique(owner[hit], return_index=True)
        found[first[0]] = pool_of[hit][first[1]]
    left = np.flatnonzero(found == len(pools))
    if left.size:
        found[left] = _tag_match(
            scriptsig_text(np.asarray(coinbase_tag_hex, dtype=object)[left]), pools
        )
    return names[found]
