"""The configuration file: where the node, the Esplora servers and the price sources are,
and what ``minerwatch sync`` with no argument syncs.

One TOML file, ``config.toml`` in the user config directory (Linux
``~/.config/minerwatch/``, macOS ``~/Library/Application Support/minerwatch/``, Windows
``%LOCALAPPDATA%\\minerwatch\\``), or the file ``$MINERWATCH_CONFIG`` names. Every key is
optional; each value is taken from, in order: a command-line option, its environment
variable, the file, the default (:data:`SETTINGS` lists them all). ``minerwatch config
show`` prints each value and where it came from; secrets (the RPC password) are never
printed, only whether they are set.

Example::

    [node]
    url = "http://127.0.0.1:8332"
    cookie = "/var/lib/bitcoind/.cookie"
    zmq = "tcp://127.0.0.1:28332"

    [esplora]
    servers = ["https://mempool.space/api", "https://blockstream.info/api"]

    [prices]
    sources = ["coinbase", "kraken", "bitstamp"]

    [sync]
    sources = ["node", "prices"]

    [alerts]
    rules = "~/minerwatch/rules.yaml"   # or "pack"; run after each sync and in watch
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minerwatch.errors import InputError

NETWORKS = ("main", "testnet3", "testnet4", "signet", "regtest")
SYNC_SOURCES = ("coinmetrics", "node", "esplora", "prices")
PRICE_SOURCES = ("coinbase", "kraken", "bitstamp", "binance")
MEMPOOL_API = "https://mempool.space/api"
BLOCKSTREAM_API = "https://blockstream.info/api"


@dataclass(frozen=True)
class Spec:
    """One setting: its ``kind`` ("str", "path", "float", "list", "choice", "choices"),
    default, environment variable, help, the allowed ``choices`` and whether it is a
    ``secret`` (never printed)."""

    kind: str
    default: Any
    env: str
    help: str
    choices: tuple[str, ...] = ()
    secret: bool = False


SETTINGS: dict[str, dict[str, Spec]] = {
    "node": {
        "url": Spec(
            "str",
            None,
            "MINERWATCH_NODE_URL",
            "Bitcoin Core RPC URL (default http://127.0.0.1 at the network's RPC port)",
        ),
        "network": Spec(
            "choice", None, "MINERWATCH_NODE_NETWORK", "expected network", choices=NETWORKS
        ),
        "datadir": Spec(
            "path", None, "MINERWATCH_NODE_DATADIR", "Bitcoin Core data directory (cookie)"
        ),
        "cookie": Spec("path", None, "MINERWATCH_NODE_COOKIE", "RPC cookie file"),
        "user": Spec("str", None, "MINERWATCH_NODE_USER", "rpcuser (when no cookie)"),
        "password": Spec(
            "str", None, "MINERWATCH_NODE_PASSWORD", "rpcpassword (when no cookie)", secret=True
        ),
        "zmq": Spec("str", None, "MINERWATCH_NODE_ZMQ", "ZMQ endpoint of the node's notifications"),
    },
    "esplora": {
        "servers": Spec(
            "list",
            (MEMPOOL_API, BLOCKSTREAM_API),
            "MINERWATCH_ESPLORA_SERVERS",
            "Esplora API base URLs, tried in order",
        ),
        "rate_per_s": Spec(
            "float", None, "MINERWATCH_ESPLORA_RATE_PER_S", "requests a second per server"
        ),
    },
    "prices": {
        "sources": Spec(
            "choices",
            ("coinbase", "kraken", "bitstamp"),
            "MINERWATCH_PRICE_SOURCES",
            "exchanges to fetch candles from",
            choices=PRICE_SOURCES,
        ),
    },
    "coinmetrics": {
        "url": Spec("str", None, "MINERWATCH_COINMETRICS_URL", "Coin Metrics API v4 base URL"),
    },
    "alerts": {
        "rules": Spec(
            "path",
            None,
            "MINERWATCH_ALERTS",
            "alert rule file (or pack) run after each sync and on each new block in watch",
        ),
    },
    "sync": {
        "sources": Spec(
            "choices",
            ("coinmetrics",),
            "MINERWATCH_SYNC_SOURCES",
            "what `minerwatch sync` with no source syncs",
            choices=SYNC_SOURCES,
        ),
    },
}


@dataclass(frozen=True)
class Setting:
    """A value and where it came from ("default", "file", "env MINERWATCH_...", "option")."""

    value: Any
    origin: str


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$MINERWATCH_CONFIG`` if set, else ``config.toml`` in the user config directory."""
    env = os.environ if env is None else env
    named = env.get("MINERWATCH_CONFIG")
    if named:
        return Path(named).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("minerwatch", appauthor=False)) / "config.toml"


class Config:
    """The settings in effect: file, environment and defaults merged (see the module
    docstring). ``get(section, key)`` gives a value, :meth:`with_options` lays command-line
    options over them."""

    def __init__(self, settings: dict[tuple[str, str], Setting], path: Path, found: bool):
        self._settings = settings
        self.path = path
        self.found = found

    def get(self, section: str, key: str) -> Any:
        return self._settings[(section, key)].value

    def origin(self, section: str, key: str) -> str:
        return self._settings[(section, key)].origin

    def with_options(self, section: str, **options: Any) -> Config:
        """This configuration with the given options (None: not given) of ``section``."""
        merged = dict(self._settings)
        for key, value in options.items():
            if value is not None:
                merged[(section, key)] = Setting(value, "option")
        return Config(merged, self.path, self.found)

    def rows(self) -> list[tuple[str, str, str]]:
        """(``section.key``, value as shown, origin) of every setting; secrets hidden."""
        out = []
        for (section, key), setting in self._settings.items():
            spec = SETTINGS[section][key]
            if spec.secret:
                shown = "(set, hidden)" if setting.value else "(not set)"
            elif setting.value is None:
                shown = "(not set)"
            elif isinstance(setting.value, tuple):
                shown = ", ".join(setting.value)
            else:
                shown = str(setting.value)
            out.append((f"{section}.{key}", shown, setting.origin))
        return out


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the configuration file (a missing file is no error: defaults apply) and the
    environment. A malformed file, an unknown section or key, or a value of the wrong kind
    is an :class:`InputError` naming the file, the key and what is expected."""
    env = os.environ if env is None else env
    path = path or config_path(env)
    found = path.is_file()
    table: dict[str, Any] = {}
    if found:
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"not valid TOML: {exc}", path=str(path)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the configuration file: {exc}", path=str(path)) from None
    for section, keys in table.items():
        if section not in SETTINGS:
            raise InputError(
                f"unknown section [{section}]; expected one of "
                f"{', '.join(f'[{s}]' for s in SETTINGS)}",
                path=str(path),
            )
        if not isinstance(keys, dict):
            raise InputError(f"{section} must be a table ([{section}])", path=str(path))
        for key in keys:
            if key not in SETTINGS[section]:
                raise InputError(
                    f"unknown key {key!r} in [{section}]; expected one of "
                    f"{', '.join(SETTINGS[section])}",
                    path=str(path),
                )
    settings: dict[tuple[str, str], Setting] = {}
    for section, specs in SETTINGS.items():
        for key, spec in specs.items():
            name = f"{section}.{key}"
            if env.get(spec.env):
                raw, origin = env[spec.env], f"env {spec.env}"
                value = _parse(spec, _split(raw) if spec.kind in ("list", "choices") else raw)
            elif key in table.get(section, {}):
                raw, origin = table[section][key], "file"
                value = _parse(spec, raw, where=(path, name))
            else:
                value, origin = spec.default, "default"
            if value is not None and spec.kind == "path":
                value = Path(str(value)).expanduser()
            settings[(section, key)] = Setting(value, origin)
    return Config(settings, path, found)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _parse(spec: Spec, raw: Any, where: tuple[Path, str] | None = None) -> Any:
    """``raw`` as the kind ``spec`` says; :class:`InputError` naming the key otherwise."""
    path, name = where if where else (None, spec.env)

    def wrong(expected: str) -> InputError:
        return InputError(f"{name} is {raw!r}; expected {expected}", path=str(path))

    if spec.kind in ("str", "path", "choice"):
        if not isinstance(raw, str) or not raw:
            raise wrong("a non-empty string")
        if spec.kind == "choice" and raw not in spec.choices:
            raise wrong(f"one of {', '.join(spec.choices)}")
        return raw
    if spec.kind == "float":
        if isinstance(raw, bool):
            raise wrong("a number > 0")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise wrong("a number > 0") from None
        if not value > 0:
            raise wrong("a number > 0")
        return value
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) and v for v in raw):
        raise wrong("a non-empty list of strings")
    if spec.kind == "choices":
        unknown = [v for v in raw if v not in spec.choices]
        if unknown:
            raise wrong(f"names from {', '.join(spec.choices)}")
    return tuple(raw)
