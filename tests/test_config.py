"""The configuration file: precedence (option, environment, file, default), errors that
name the file and key, secrets never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minerwatch.config import MEMPOOL_API, load_config
from minerwatch.errors import InputError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_when_there_is_no_file(tmp_path):
    config = load_config(tmp_path / "absent.toml", env={})
    assert not config.found
    assert config.get("sync", "sources") == ("coinmetrics",)
    assert config.get("esplora", "servers")[0] == MEMPOOL_API
    assert config.origin("node", "url") == "default" and config.get("node", "url") is None


def test_option_over_environment_over_file(tmp_path):
    path = _write(
        tmp_path,
        '[node]\nurl = "http://file:8332"\ncookie = "~/c/.cookie"\n'
        '[prices]\nsources = ["kraken"]\n',
    )
    env = {
        "MINERWATCH_NODE_URL": "http://env:8332",
        "MINERWATCH_PRICE_SOURCES": "coinbase, binance",
    }
    config = load_config(path, env=env)
    assert (config.get("node", "url"), config.origin("node", "url")) == (
        "http://env:8332",
        "env MINERWATCH_NODE_URL",
    )
    assert config.get("prices", "sources") == ("coinbase", "binance")
    assert config.get("node", "cookie") == Path("~/c/.cookie").expanduser()
    assert config.origin("node", "cookie") == "file"
    given = config.with_options("node", url="http://option:8332", user=None)
    assert (given.get("node", "url"), given.origin("node", "url")) == (
        "http://option:8332",
        "option",
    )
    assert given.origin("node", "user") == "default"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[node\n", "not valid TOML.*line 1"),
        ("[nodes]\n", r"unknown section \[nodes\]"),
        ("[node]\nport = 1\n", "unknown key 'port' in \\[node\\]"),
        ("[node]\nurl = 5\n", "node.url is 5; expected a non-empty string"),
        ('[node]\nnetwork = "mainnet"\n', "node.network .*expected one of main, testnet3"),
        ('[prices]\nsources = ["ftx"]\n', "prices.sources .*expected names from coinbase"),
        ("[esplora]\nrate_per_s = -1\n", "rate_per_s is -1; expected a number > 0"),
    ],
)
def test_a_bad_file_names_the_file_and_the_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(InputError, match=message) as caught:
        load_config(path, env={})
    assert str(path) in str(caught.value)


def test_config_show_hides_the_password(cli, tmp_path, monkeypatch):
    path = _write(tmp_path, '[node]\nuser = "alice"\npassword = "s3cret-pass"\n')
    monkeypatch.setenv("MINERWATCH_CONFIG", str(path))
    shown = cli("config", "show")
    assert shown.returncode == 0 and "alice" in shown.stdout
    assert "s3cret-pass" not in shown.stdout and "hidden" in shown.stdout
    doc = json.loads(cli("config", "show", "--json").stdout)
    assert doc["settings"]["node.password"] == {"value": "(set, hidden)", "from": "file"}
    assert "s3cret-pass" not in json.dumps(doc)
    bad = _write(tmp_path, "[node]\nurl = 5\n")
    monkeypatch.setenv("MINERWATCH_CONFIG", str(bad))
    failed = cli("config", "show")
    assert failed.returncode == 2 and "node.url" in failed.stderr
