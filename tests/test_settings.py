"""Settings: one TOML file, environment overrides, checked types, and where each value came from."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vcop.cli import app
from vcop.config import SETTINGS, Settings, SettingsError, load_settings, settings_path

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No VCOP_* variable from the shell running the tests, and no var/vcop.toml of the repo."""
    for name in list(os.environ):
        if name.startswith("VCOP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def test_defaults() -> None:
    settings = load_settings(env={})
    assert settings.database.path == Path("var/vcop.duckdb")
    assert settings.ops_path == Path("var/vcop.ops.sqlite")
    assert settings.targets_path == Path("var").resolve() / "targets.yaml"
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8000
    assert settings.server.root_path == ""
    assert settings.server.forwarded_allow_ips == "127.0.0.1"
    assert settings.publication.suppression_threshold == 10
    assert settings.standards.needs_assessment_days == 1
    assert settings.standards.care_contract_days == 5
    assert (settings.retention.finalised_crime_years, settings.retention.backups_keep) == (6, 14)
    assert (settings.sessions.idle_minutes, settings.sessions.max_hours) == (30, 8)
    assert settings.refresh.max_reject_share == pytest.approx(0.10)
    assert settings.file is None
    assert {source for _, _, source in settings.items()} == {"default"}
    # The flat names older callers use.
    assert (settings.db, settings.host, settings.port, settings.suppression_threshold) == (
        Path("var/vcop.duckdb"), "127.0.0.1", 8000, 10,
    )  # fmt: skip


def test_every_declared_default_is_what_load_gives() -> None:
    settings = load_settings(env={})
    for spec, value, _ in settings.items():
        assert value == spec.default, spec.name


def test_file_beside_the_database(tmp_path: Path) -> None:
    db = tmp_path / "force" / "force.duckdb"
    toml = write(
        db.parent / "vcop.toml",
        '[server]\nport = 9000\nroot_path = "/vcop"\n[metrics]\ntargets_file = "t.yaml"\n',
    )
    settings = load_settings(db, env={})
    assert settings.file == toml
    assert settings.server.port == 9000
    assert settings.source("server", "port") == f"file {toml}"
    assert settings.server.root_path == "/vcop"
    assert settings.source("server", "host") == "default"
    assert settings.database.path == db
    assert settings.source("database", "path") == "command line"
    assert settings.ops_path == db.parent / "force.ops.sqlite"
    # A relative path in the file is relative to the file's folder.
    assert settings.targets_path == db.parent / "t.yaml"
    # Without --db the file beside the default database (var/vcop.toml) is not this one.
    assert load_settings(env={}).server.port == 8000


def test_file_beside_the_database_named_by_the_environment(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "x.duckdb"
    write(db.parent / "vcop.toml", "[publication]\nsuppression_threshold = 5\n")
    settings = load_settings(env={"VCOP_DATABASE_PATH": str(db)})
    assert settings.publication.suppression_threshold == 5
    assert settings.source("database", "path") == "env VCOP_DATABASE_PATH"
    assert settings_path(env={"VCOP_DB": str(db)}) == db.parent / "vcop.toml"


def test_vcop_settings_names_the_file(tmp_path: Path) -> None:
    db = tmp_path / "db" / "force.duckdb"
    write(db.parent / "vcop.toml", "[server]\nport = 1111\n")
    chosen = write(tmp_path / "etc" / "vcop.toml", "[server]\nport = 2222\n")
    env = {"VCOP_SETTINGS": str(chosen)}
    settings = load_settings(db, env=env)
    assert settings.server.port == 2222
    assert settings.source("server", "port") == f"file {chosen}"
    assert settings_path(db, env=env) == chosen
    with pytest.raises(SettingsError, match=r"VCOP_SETTINGS names .*missing\.toml"):
        load_settings(env={"VCOP_SETTINGS": str(tmp_path / "missing.toml")})


def test_precedence_command_line_then_environment_then_file(tmp_path: Path) -> None:
    db = tmp_path / "force.duckdb"
    write(tmp_path / "vcop.toml", "[server]\nport = 9000\nhost = '0.0.0.0'\n")
    settings = load_settings(db, env={"VCOP_SERVER_PORT": "9100"})
    assert settings.server.port == 9100
    assert settings.source("server", "port") == "env VCOP_SERVER_PORT"
    assert settings.server.host == "0.0.0.0"
    on_top = settings.with_options({"server.port": 9200, "server.host": None})
    assert on_top.server.port == 9200
    assert on_top.source("server", "port") == "command line"
    assert on_top.server.host == "0.0.0.0"
    assert on_top.source("server", "host") == f"file {tmp_path / 'vcop.toml'}"
    # The command line beats the environment for the database too.
    other = tmp_path / "other.duckdb"
    assert load_settings(other, env={"VCOP_DATABASE_PATH": str(db)}).database.path == other


@pytest.mark.parametrize(
    ("variable", "value", "section", "key", "expected"),
    [
        ("VCOP_DB", "x/legacy.duckdb", "database", "path", Path("x/legacy.duckdb")),
        ("VCOP_HOST", "0.0.0.0", "server", "host", "0.0.0.0"),
        ("VCOP_PORT", "8123", "server", "port", 8123),
        ("VCOP_SUPPRESSION_THRESHOLD", "5", "publication", "suppression_threshold", 5),
        ("VCOP_TARGETS_FILE", "t/targets.yaml", "metrics", "targets_file", Path("t/targets.yaml")),
    ],
)
def test_legacy_environment_variables(
    variable: str, value: str, section: str, key: str, expected: object
) -> None:
    settings = load_settings(env={variable: value})
    assert settings.value(section, key) == expected
    assert settings.source(section, key) == f"env {variable}"


def test_new_variable_beats_the_legacy_one() -> None:
    settings = load_settings(env={"VCOP_PORT": "1", "VCOP_SERVER_PORT": "2"})
    assert settings.server.port == 2
    assert settings.source("server", "port") == "env VCOP_SERVER_PORT"


def test_legacy_flat_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VCOP_HOST", "0.0.0.0")
    monkeypatch.setenv("VCOP_SERVER_PORT", "8111")
    settings = Settings()
    assert (settings.host, settings.port, settings.suppression_threshold) == ("0.0.0.0", 8111, 10)
    assert settings.source("server", "host") == "env VCOP_HOST"


@pytest.mark.parametrize("variable", ["VCOP_DB", "VCOP_DATABASE_PATH"])
def test_default_db_honours_the_environment(variable: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCOP_")}
    env[variable] = "somewhere/force.duckdb"
    out = subprocess.run(
        [sys.executable, "-c", "from vcop.config import DEFAULT_DB; print(DEFAULT_DB)"],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    assert out.stdout.strip() == "somewhere/force.duckdb"


def test_bad_type_in_the_file_names_the_file_key_and_type(tmp_path: Path) -> None:
    toml = write(tmp_path / "vcop.toml", '[server]\nport = "abc"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "force.duckdb", env={})
    message = str(caught.value)
    assert str(toml) in message
    assert "server.port" in message
    assert "integer" in message
    assert '"abc"' in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[refresh]\nmax_reject_share = 2\n", ["refresh.max_reject_share", "from 0 to 1"]),
        ("[refresh]\nmax_reject_share = true\n", ["refresh.max_reject_share", "a number"]),
        ("[server]\nport = 80.5\n", ["server.port", "integer"]),
        ("[sessions]\nidle_minutes = 0\n", ["sessions.idle_minutes", "at least 1"]),
        ("[server]\nroot_path = 'vcop'\n", ["server.root_path", "starts with /"]),
        ("[server]\nforwarded_allow_ips = 'proxy'\n", ["forwarded_allow_ips", '"proxy"']),
        ("[server]\nhost = 127\n", ["server.host", "a string"]),
        ("[database]\npath = ''\n", ["database.path", "must not be empty"]),
        ("[server\n", ["not a valid TOML file"]),
    ],
)
def test_bad_values_in_the_file(tmp_path: Path, text: str, words: list[str]) -> None:
    write(tmp_path / "vcop.toml", text)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "force.duckdb", env={})
    for word in [str(tmp_path / "vcop.toml"), *words]:
        assert word in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("VCOP_SERVER_PORT", "abc", ["server.port", "integer", '"abc"']),
        ("VCOP_PORT", "abc", ["server.port", "integer"]),
        ("VCOP_SERVER_PORT", "70000", ["server.port", "from 1 to 65535"]),
        ("VCOP_REFRESH_MAX_REJECT_SHARE", "ten percent", ["max_reject_share", "a number"]),
        ("VCOP_REFRESH_MAX_REJECT_SHARE", "nan", ["max_reject_share", "a number"]),
        ("VCOP_SERVER_PUBLIC_BASE_URL", "vcop.example", ["public_base_url", "https://"]),
    ],
)
def test_bad_values_in_the_environment(variable: str, value: str, words: list[str]) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env={variable: value})
    for word in [f"environment variable {variable}", *words]:
        assert word in str(caught.value)


def test_environment_values_are_parsed() -> None:
    settings = load_settings(
        env={"VCOP_REFRESH_MAX_REJECT_SHARE": " 0.25 ", "VCOP_DATABASE_OPS": "ops/x.sqlite"}
    )
    assert settings.refresh.max_reject_share == 0.25
    assert settings.ops_path == Path("ops/x.sqlite")
    assert load_settings(env={"VCOP_DATABASE_OPS": ""}).ops_path == Path("var/vcop.ops.sqlite")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[server]\nprot = 8080\n", ["unknown setting 'prot' in [server]", "port"]),
        ("[sever]\nport = 8080\n", ["unknown section [sever]", "[server]"]),
        ("port = 8080\n", ["unknown section [port]"]),
        ("[server]\nport = 1\n[database.extra]\nx = 1\n", ["unknown setting 'extra'"]),
    ],
)
def test_unknown_names_in_the_file(tmp_path: Path, text: str, words: list[str]) -> None:
    write(tmp_path / "vcop.toml", text)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "force.duckdb", env={})
    for word in [str(tmp_path / "vcop.toml"), *words]:
        assert word in str(caught.value)


def test_unknown_variable_of_a_known_section() -> None:
    with pytest.raises(SettingsError, match="VCOP_SERVER_PROT is not a vcop setting"):
        load_settings(env={"VCOP_SERVER_PROT": "8080"})
    # Other VCOP_ variables are not settings and are left alone.
    assert load_settings(env={"VCOP_UPDATE_GOLDEN": "1"}).server.port == 8000


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_settings_show_json_says_where_each_value_came_from(tmp_path: Path) -> None:
    db = tmp_path / "force.duckdb"
    toml = write(tmp_path / "vcop.toml", "[standards]\nneeds_assessment_days = 2\n")
    code, out, _ = run(
        "settings", "show", "--db", str(db), "--format", "json",
        env={"VCOP_SESSIONS_IDLE_MINUTES": "20", "VCOP_HOST": "0.0.0.0"},
    )  # fmt: skip
    assert code == 0
    rows = {(r["section"], r["key"]): r for r in json.loads(out)}
    assert set(rows) == {(s.section, s.key) for s in SETTINGS}
    assert rows["standards", "needs_assessment_days"] == {
        "section": "standards", "key": "needs_assessment_days", "value": 2,
        "source": f"file {toml}", "env": "VCOP_STANDARDS_NEEDS_ASSESSMENT_DAYS",
    }  # fmt: skip
    assert rows["sessions", "idle_minutes"]["value"] == 20
    assert rows["sessions", "idle_minutes"]["source"] == "env VCOP_SESSIONS_IDLE_MINUTES"
    assert rows["server", "host"]["source"] == "env VCOP_HOST"
    assert rows["database", "path"] == {
        "section": "database", "key": "path", "value": str(db), "source": "command line",
        "env": "VCOP_DATABASE_PATH",
    }  # fmt: skip
    assert rows["database", "ops"]["value"] == ""
    assert rows["refresh", "max_reject_share"]["source"] == "default"


def test_settings_show_table_and_errors(tmp_path: Path) -> None:
    db = Path("force.duckdb")  # in tmp_path, the current directory
    code, out, _ = run("settings", "show", "--db", str(db))
    assert code == 0
    assert re.search(r"server\.port\s+│ 8000\s+│ default", out)
    assert "force.ops.sqlite (beside the database)" in out
    assert "does not exist" in out
    write(tmp_path / "vcop.toml", "[server]\nport = 'abc'\n")
    code, _, err = run("settings", "show", "--db", str(db))
    assert code == 2
    assert "server.port" in err and "integer" in err and "vcop.toml" in err
    code, _, err = run("settings", "show", env={"VCOP_SERVER_PORT": "abc"})
    assert code == 2
    assert "environment variable VCOP_SERVER_PORT" in err


def test_settings_show_toml_is_a_complete_file_that_reads_back(tmp_path: Path) -> None:
    db = tmp_path / "force.duckdb"
    write(tmp_path / "vcop.toml", "[server]\nport = 9000\n[metrics]\ntargets_file = 't.yaml'\n")
    code, out, _ = run(
        "settings", "show", "--db", str(db), "--format", "toml",
        env={"VCOP_REFRESH_MAX_REJECT_SHARE": "0.3"},
    )  # fmt: skip
    assert code == 0
    data = tomllib.loads(out)
    assert {(section, key) for section, table in data.items() for key in table} == {
        (s.section, s.key) for s in SETTINGS
    }
    assert "VCOP_SERVER_PORT (or VCOP_PORT)" in out
    copy = write(tmp_path / "copy" / "vcop.toml", out)
    before = load_settings(db, env={"VCOP_REFRESH_MAX_REJECT_SHARE": "0.3"})
    after = load_settings(env={"VCOP_SETTINGS": str(copy)})
    for spec, value, _ in before.items():
        again = after.value(spec.section, spec.key)
        if isinstance(value, Path):
            value, again = value.resolve(), again.resolve()
        assert again == value, spec.name
    assert after.source("server", "port") == f"file {copy}"


def test_settings_path(tmp_path: Path) -> None:
    code, out, err = run("settings", "path", "--db", str(tmp_path / "force.duckdb"))
    assert (code, out.strip()) == (0, str(tmp_path / "vcop.toml"))
    assert "no file there" in err
    chosen = write(tmp_path / "etc" / "settings.toml", "")
    code, out, err = run("settings", "path", env={"VCOP_SETTINGS": str(chosen)})
    assert (code, out.strip(), err) == (0, str(chosen), "")


# -- the docs page ------------------------------------------------------------------------------

DOC = ROOT / "docs" / "settings.md"


def _table_rows() -> dict[tuple[str, str], str]:
    rows = {}
    for line in DOC.read_text("utf-8").splitlines():
        match = re.match(r"\| (\w+) \| `(\w+)` \|", line)
        if match:
            rows[match.group(1), match.group(2)] = line
    return rows


def test_docs_list_every_setting_with_its_variable_default_and_help() -> None:
    rows = _table_rows()
    assert set(rows) == {(s.section, s.key) for s in SETTINGS}, "docs/settings.md table drifted"
    for spec in SETTINGS:
        row = rows[spec.section, spec.key]
        assert f"`{spec.env}`" in row, spec.name
        if spec.legacy_env:
            assert f"`{spec.legacy_env}`" in row, spec.name
        assert f"| `{spec.toml(spec.default)}` |" in row, spec.name
        assert f"| {spec.help} |" in row, spec.name


def test_docs_example_is_a_valid_settings_file(tmp_path: Path) -> None:
    text = DOC.read_text("utf-8")
    example = re.search(r"```toml\n(.*?)```", text, re.DOTALL)
    assert example is not None
    path = write(tmp_path / "srv" / "vcop.toml", example.group(1))
    settings = load_settings(env={"VCOP_SETTINGS": str(path)})
    assert settings.server.root_path == "/vcop"
    for section, table in tomllib.loads(example.group(1)).items():
        for key in table:
            assert settings.source(section, key) == f"file {path}"


def test_the_standards_settings_are_the_rules_local_standards() -> None:
    """Every local standard the rules measure against is a setting (VCOP_STANDARDS_…), and an
    option given on the command line wins over it."""
    from vcop.config import StandardsSettings
    from vcop.spec.code import LocalStandards

    chosen = StandardsSettings(crime_recording_hours=12, police_vrr_days=20).local_standards(
        needs_assessment_days=3, care_contract_days=None
    )
    assert chosen == LocalStandards(
        needs_assessment_working_days=3,
        crime_recording_hours=12,
        police_vrr_working_days=20,
    )
    assert StandardsSettings().local_standards() == LocalStandards()
    # each setting sets its own standard, and every standard has a setting
    moved = set()
    for f in dataclasses.fields(StandardsSettings):
        got = StandardsSettings(**{f.name: 77}).local_standards().model_dump()
        changed = [k for k, v in got.items() if v == 77]
        assert len(changed) == 1, f.name
        moved.update(changed)
    assert moved == set(LocalStandards.model_fields)
