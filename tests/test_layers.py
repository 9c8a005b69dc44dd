"""The package's layers point one way: every import inside ``src/minerwatch`` goes to a
module of a lower layer (or of its own layer), and no module imports the package root."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "minerwatch"

# Lowest first. A module may import modules of its own layer or of a layer below it.
LAYERS: list[set[str]] = [
    {"_version", "errors", "units", "days", "params", "serialize", "tables", "config", "servers"},
    {"chain"},
    {"sources"},
    {"blockdays"},  # pure: the day sums the store keeps and the daily frame reads
    {"store"},
    {"frames", "chaindays"},
    {"metrics"},
    {"models"},
    {"ingest"},
    {"analyses"},
    {"notify"},  # alert delivery: webhooks, ntfy, Telegram, SMTP, commands, files
    {"present"},
    {"web"},  # minerwatch serve: imported by cli.py only
    {"cli"},
    {"__main__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(("minerwatch", *parts))] = path
    return out


MODULES = _modules()


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the file, at any depth (imports inside
    functions count: a lazy import is still a dependency)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("minerwatch"):
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                found.append((node.lineno, sub if sub in MODULES else target))
    return [(line, name) for line, name in found if name.split(".")[0] == "minerwatch"]


def _layer(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_every_module_has_a_layer():
    unplaced = {_layer(m) for m in MODULES if m != "minerwatch"} - set(RANK)
    assert not unplaced, f"modules with no layer in LAYERS: {sorted(unplaced)}"


@pytest.mark.parametrize("module", [m for m in MODULES if m != "minerwatch"])
def test_imports_point_down(module):
    rank = RANK[_layer(module)]
    wrong = []
    for line, target in _imports(module, MODULES[module]):
        if target == "minerwatch":
            wrong.append(f"line {line}: imports the package root")
        elif RANK[_layer(target)] > rank:
            wrong.append(f"line {line}: imports {target} (layer {_layer(target)!r} is above)")
    assert not wrong, f"{module}: " + "; ".join(wrong)


def test_the_root_only_reexports():
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    defined = [
        n.name
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.ClassDef))
        and n.name not in ("__getattr__", "__dir__")
    ]
    assert defined == []


def test_importing_chain_loads_no_store_or_numpy_heavy_layers():
    code = (
        "import sys, minerwatch.chain.consensus; "
        "print(sorted(m for m in sys.modules if m.startswith('minerwatch')), "
        "'duckdb' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, duckdb_loaded = out.stdout.rsplit(" ", 1)
    assert duckdb_loaded.strip() == "False"
    assert set(eval(loaded)) <= {  # noqa: S307 - our own subprocess's repr of a list
        "minerwatch",
        "minerwatch._version",
        "minerwatch.chain",
        "minerwatch.chain.consensus",
        "minerwatch.errors",
    }
