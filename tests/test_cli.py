"""The command line as a whole: the console script, every kind of failure mapped to its
documented exit code in one line without a traceback, option names in place of the
library's parameter names, and help without type placeholders."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import typer

import minerwatch
from minerwatch import cli as cli_module
from minerwatch import errors
from minerwatch.store import SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[1]


def _one_line(result, label: str) -> str:
    """The one line a failed command printed on stderr, after ``label:``."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{label}: ") and "Traceback" not in result.stderr
    assert result.stdout == ""
    return lines[0]


# -- the console script, as installed --------------------------------------------------------


def test_the_console_script_prints_what_run_prints_and_exits_with_its_code(cli, synthetic_db):
    script = Path(sys.executable).with_name("minerwatch")
    assert script.exists(), f"the console script is not installed beside {sys.executable}"
    shown = subprocess.run(
        [script, "status", "--json", "--db", synthetic_db], capture_output=True, text=True
    )
    assert (shown.returncode, shown.stderr) == (0, "")
    assert shown.stdout == cli("status", "--json", "--db", synthetic_db).stdout
    assert json.loads(shown.stdout)["as_of"] == "2009-03-03"
    missing = subprocess.run(
        [script, "status", "--db", synthetic_db.with_name("none.duckdb")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == cli_module.EXIT_INPUT == 2
    assert _one_line(missing, "error").endswith("or `minerwatch sync`")


# -- exit codes --------------------------------------------------------------------------------


def _text_file(path: Path, synthetic_db: Path) -> None:
    path.write_text("not a database\n")


def _truncated(path: Path, synthetic_db: Path) -> None:
    path.write_bytes(synthetic_db.read_bytes()[:100_000])


def _another_programs(path: Path, synthetic_db: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE orders (id INTEGER)")


def _newer_schema(path: Path, synthetic_db: Path) -> None:
    shutil.copy(synthetic_db, path)
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION + 1])


def _never_migrated(path: Path, synthetic_db: Path) -> None:
    duckdb.connect(str(path)).close()  # an empty DuckDB file, schema version 0


def _with_a_gap(path: Path, synthetic_db: Path) -> None:
    shutil.copy(synthetic_db, path)
    with duckdb.connect(str(path)) as con:  # written behind the importer's back
        con.execute("DELETE FROM chain_daily WHERE day = DATE '2009-02-01'")


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (_text_file, errors.StoreUnreadable, "not a valid DuckDB database file"),
        (_truncated, errors.StoreUnreadable, "cannot open database"),
        (_another_programs, errors.NotAMinerwatchStore, "1 table(s) of another program"),
        (_newer_schema, errors.SchemaTooNew, "upgrade minerwatch"),
        (_never_migrated, errors.SchemaTooOld, "open it once for writing"),
        (_with_a_gap, errors.ChainDataGap, "gap after 2009-01-31"),
    ],
)
def test_a_database_that_cannot_be_used_exits_4(cli, tmp_path, synthetic_db, make, error, words):
    path = tmp_path / "db.duckdb"
    make(path, synthetic_db)
    with pytest.raises(error, match=re.escape(words)):
        minerwatch.status(path)
    result = cli("status", "--db", path)
    assert result.returncode == cli_module.EXIT_DATABASE == 4
    assert words in _one_line(result, "database error")


def test_another_programs_database_is_left_as_it_was(cli, tmp_path, synthetic_csv, synthetic_db):
    path = tmp_path / "theirs.duckdb"
    _another_programs(path, synthetic_db)
    result = cli("import", "coinmetrics", synthetic_csv, "--db", path)
    assert result.returncode == 4
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    assert tables == [("orders",)]


def test_a_day_without_a_close_exits_2_naming_the_option(cli, synthetic_db):
    with pytest.raises(errors.NoPriceOnDay, match=r"^as_of 2009-01-10: no BTC/USD") as err:
        minerwatch.asic_economics(synthetic_db, "2009-01-10")
    assert err.value.parameter == "as_of"
    result = cli("asics", "--as-of", "2009-01-10", "--db", synthetic_db)
    assert result.returncode == 2
    assert _one_line(result, "error").startswith("error: --as-of 2009-01-10: no BTC/USD close")


def test_an_empty_database_exits_2_telling_how_to_load_data(cli, tmp_path):
    path = tmp_path / "empty.duckdb"
    minerwatch.open_store(path).close()
    with pytest.raises(errors.NoChainData):
        minerwatch.status(path)
    result = cli("status", "--db", path)
    assert result.returncode == 2 and "holds no chain data" in _one_line(result, "error")


def test_usage_errors_are_typers_own_exit_2(cli, synthetic_db):
    result = cli("status", "--no-such-option", "--db", synthetic_db)
    assert result.returncode == 2 and "No such option" in result.stderr
    assert cli("status", "--help").returncode == 0
    assert cli("cost", "--power-price", "cheap").returncode == 2  # not a number


def test_an_unexpected_error_is_one_line_and_exit_1(cli, synthetic_db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("minerwatch.analyses.status.status", broken)
    result = cli("status", "--db", synthetic_db)
    assert result.returncode == cli_module.EXIT_OTHER == 1
    line = _one_line(result, "unexpected error")
    assert "RuntimeError: disk on fire" in line and "MINERWATCH_DEBUG=1" in line
    with pytest.raises(RuntimeError, match="disk on fire"):
        cli("status", "--db", synthetic_db, env={"MINERWATCH_DEBUG": "1"})


def test_every_exit_code_is_in_the_readme():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Exit codes") :]
    section = section[: section.index("\n## ", 1)]
    codes = {name: value for name, value in vars(cli_module).items() if name.startswith("EXIT_")}
    assert sorted(codes.values()) == [0, 1, 2, 3, 4]
    for value in codes.values():
        assert re.search(rf"^\| {value} \|", section, flags=re.M), value


# -- the library's parameter names become the CLI's option names -------------------------------


def test_a_message_names_options_where_the_library_names_parameters():
    message = cli_module._input_message
    exc = errors.InputError("as_of '2025' is not a date", parameter="as_of")
    assert message(exc) == "--as-of '2025' is not a date"
    exc = errors.InputError("the file has `source`; no `replace` or `other`", path="p.csv", line=1)
    assert message(exc) == "p.csv, line 1: the file has `--source`; no `--replace` or `other`"
    # Only the parameter's whole name, and only at the start, is the leading name.
    assert message(errors.InputError("end x", parameter="end")) == "--end x"
    assert message(errors.InputError("ending", parameter="end")) == "ending"
    assert message(errors.InputError("x end", parameter="end")) == "x end"


def test_every_mapped_option_exists():
    options = set()

    def walk(command) -> None:
        for param in command.params:
            options.update(o for o in param.opts if o.startswith("--"))
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(cli_module.app))
    assert set(cli_module.PARAMETER_OPTIONS.values()) <= options


# -- help ------------------------------------------------------------------------------------


def _commands(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_help_shows_a_metavar_not_a_type_for_every_option(cli):
    for path, command in _commands(typer.main.get_command(cli_module.app)):
        for param in command.params:
            takes_a_value = not getattr(param, "is_flag", False) and not param.hidden
            if param.param_type_name == "option" and takes_a_value:
                assert param.metavar, (path, param.name)
        shown = cli(*path, "--help")
        assert shown.returncode == 0, path
        assert not re.search(r"--[\w-]+\s+<\w+>", shown.stdout), (path, shown.stdout)
        assert "<bool>" not in shown.stdout


def test_version(cli):
    result = cli("--version")
    assert (
        result.returncode == 0 and result.stdout.strip() == f"minerwatch {minerwatch.__version__}"
    )


def test_db_may_come_before_the_command(cli, loaded_db):
    after = cli("status", "--as-of", "2025-10-06", "--json", "--db", loaded_db)
    before = cli("--db", loaded_db, "status", "--as-of", "2025-10-06", "--json")
    joined = cli(f"--db={loaded_db}", "status", "--as-of", "2025-10-06", "--json")
    assert after.returncode == 0 and before.stdout == after.stdout == joined.stdout
    assert "--db FILE" in cli("--help").stdout


def test_a_reader_migrates_a_database_of_an_older_schema(cli, tmp_path, synthetic_db):
    from minerwatch.store import _MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "v1.duckdb"
    with duckdb.connect(str(path)) as con:  # what minerwatch wrote before schema 2
        for statement in _MIGRATIONS[0]:
            con.execute(statement)
        con.execute("CREATE TABLE schema_version (version INTEGER)")
        con.execute("INSERT INTO schema_version VALUES (1)")
        con.execute(f"ATTACH '{synthetic_db}' AS src (READ_ONLY)")
        con.execute("INSERT INTO chain_daily SELECT * FROM src.chain_daily")
    first = cli("status", "--json", "--db", path)
    assert first.returncode == 0, first.stderr
    assert f"migrated the database from schema version 1 to {SCHEMA_VERSION}" in first.stderr
    again = cli("status", "--json", "--db", path)
    assert again.stdout == first.stdout and "migrated" not in again.stderr


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the CLI, as the words that name it."""
    from minerwatch.cli import _command_name, app

    paths: list[tuple[str, ...]] = []

    def walk(typer_app, prefix: tuple[str, ...]) -> None:
        for command in typer_app.registered_commands:
            paths.append((*prefix, _command_name(command)))
        for group in typer_app.registered_groups:
            paths.append((*prefix, group.name))
            walk(group.typer_instance, (*prefix, group.name))

    walk(app, ())
    return paths


def test_each_command_built_alone_has_the_help_and_options_of_the_whole_app(cli):
    """A command line builds only the branch of the commands it names; the command it gets
    is the one the whole app holds: the same help, the same options."""
    import typer
    from typer.testing import CliRunner

    from minerwatch.cli import _click_command, app

    whole = typer.main.get_command(app)
    paths = _command_paths()
    assert len(paths) >= 25 and ("import", "blocks") in paths and ("sync", "node") in paths
    for path in paths:
        alone = _click_command(path[:2])
        mine, theirs = alone, whole
        for word in path:
            mine, theirs = mine.commands[word], theirs.commands[word]
        assert [p.opts for p in mine.params] == [p.opts for p in theirs.params], path
        assert mine.help == theirs.help, path
        shown = CliRunner().invoke(app, [*path, "--help"], prog_name="minerwatch")
        assert cli(*path, "--help").stdout == shown.stdout, path
