"""The public Python API: every exported name resolves, and importing the package stays
light (the network, import, backtest and report code load only when used)."""

from __future__ import annotations

import subprocess
import sys

import minerwatch


def test_every_exported_name_resolves():
    missing = [name for name in minerwatch.__all__ if not hasattr(minerwatch, name)]
    assert not missing


def test_unknown_attribute_is_an_attribute_error():
    try:
        minerwatch.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_loads_no_network_backtest_or_report_code():
    code = (
        "import sys, minerwatch; "
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('httpx', 'plotly', 'matplotlib') or m in ('minerwatch.analyses.backtest', "
        "'minerwatch.ingest.sync', 'minerwatch.ingest.files', 'minerwatch.present'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
