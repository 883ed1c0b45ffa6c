"""The deployment files (deploy/) and docs/operations.md agree with vcop and with each other.

The systemd units pass ``systemd-analyze verify``; every vcop command and option they and the
operations guide name exists; every setting the guide names exists; the nginx example proxies to
the address, port and path prefix the dashboard's unit serves; and it passes ``nginx -t`` where
nginx is installed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from vcop.cli import app
from vcop.config import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD = ROOT / "deploy" / "systemd"
NGINX = ROOT / "deploy" / "nginx" / "vcop.conf"
OPERATIONS = ROOT / "docs" / "operations.md"
#: Where the units and the guide say vcop is installed (`uv sync --frozen` in /opt/vcop).
INSTALLED_VCOP = "/opt/vcop/.venv/bin/vcop"

UNITS = sorted(p for p in SYSTEMD.iterdir() if p.suffix in (".service", ".timer"))
SERVICES = [p for p in UNITS if p.suffix == ".service"]


def test_the_units_are_there() -> None:
    names = {p.name for p in UNITS}
    assert {
        "vcop.service",
        "vcop-refresh.service",
        "vcop-refresh.timer",
        "vcop-backup.service",
        "vcop-backup.timer",
    } <= names


# -- reading unit files --------------------------------------------------------------------------


def unit_settings(path: Path) -> dict[str, list[str]]:
    """``Key=value`` lines of a unit file, by ``Section.Key`` (a key may repeat)."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return out


def one(settings: dict[str, list[str]], key: str) -> str:
    values = settings.get(key, [])
    assert len(values) == 1, f"{key}: expected one value, found {values}"
    return values[0]


def exec_start(path: Path) -> list[str]:
    return shlex.split(one(unit_settings(path), "Service.ExecStart"))


# -- systemd-analyze verify ----------------------------------------------------------------------


def vcop_entry_point() -> Path | None:
    """The ``vcop`` entry point of the environment running the tests."""
    beside = Path(sys.prefix) / "bin" / "vcop"
    if beside.exists():
        return beside
    found = shutil.which("vcop")
    return Path(found) if found else None


def systemd_verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def verifiable_units(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of the units whose ExecStart names this environment's ``vcop`` (systemd-analyze
    verify refuses a command that does not exist; nothing else is changed)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    vcop = vcop_entry_point()
    if vcop is None:
        pytest.skip("no vcop entry point in this environment (run `uv sync`)")
    folder = tmp_path_factory.mktemp("units")
    canary = folder / "vcop-canary.service"
    canary.write_text(f"[Service]\nType=oneshot\nExecStart={vcop} --help\n")
    probe = systemd_verify(canary)
    canary.unlink()
    if probe.returncode != 0:
        pytest.skip(f"systemd-analyze verify does not work here: {probe.stderr.strip()}")
    for unit in UNITS:
        text = unit.read_text("utf-8")
        (folder / unit.name).write_text(text.replace(INSTALLED_VCOP, str(vcop)))
    return folder


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_unit_passes_systemd_analyze_verify(unit: Path, verifiable_units: Path) -> None:
    result = systemd_verify(verifiable_units / unit.name)
    # verify exits 0 even for an unknown key or a value it cannot parse ("…, ignoring"), so any
    # line about this unit fails the test too.
    complaints = [line for line in result.stderr.splitlines() if unit.name in line]
    assert result.returncode == 0 and not complaints, result.stderr


# -- what the units run --------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_service_runs_the_installed_vcop_as_the_vcop_user(service: Path) -> None:
    settings = unit_settings(service)
    command = exec_start(service)
    assert command[0] == INSTALLED_VCOP
    assert one(settings, "Service.User") == "vcop"
    assert one(settings, "Service.Group") == "vcop"
    assert one(settings, "Service.WorkingDirectory") == "/var/lib/vcop"
    assert one(settings, "Service.EnvironmentFile") == "-/etc/vcop/vcop.env"
    assert "VCOP_SETTINGS=/etc/vcop/vcop.toml" in settings["Service.Environment"]
    assert option_value(command, "--db") == "/var/lib/vcop/vcop.duckdb"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
    }.items():
        assert one(settings, f"Service.{key}") == value, key
    writable = " ".join(settings["Service.ReadWritePaths"]).split()
    assert "/var/lib/vcop" in writable


def option_value(command: list[str], option: str) -> str | None:
    for i, token in enumerate(command):
        if token == option and i + 1 < len(command):
            return command[i + 1]
        if token.startswith(option + "="):
            return token.split("=", 1)[1]
    return None


def test_the_dashboard_listens_on_loopback_and_restarts_on_failure() -> None:
    settings = unit_settings(SYSTEMD / "vcop.service")
    command = exec_start(SYSTEMD / "vcop.service")
    assert command[1] == "serve"
    assert option_value(command, "--host") == "127.0.0.1"
    assert one(settings, "Service.Restart") == "on-failure"
    assert one(settings, "Install.WantedBy") == "multi-user.target"


def test_the_refresh_is_a_daily_oneshot_of_vcop_refresh() -> None:
    settings = unit_settings(SYSTEMD / "vcop-refresh.service")
    command = exec_start(SYSTEMD / "vcop-refresh.service")
    assert one(settings, "Service.Type") == "oneshot"
    assert command[1] == "refresh"
    assert option_value(command, "--from") == "/var/lib/vcop/incoming"
    timer = unit_settings(SYSTEMD / "vcop-refresh.timer")
    assert one(timer, "Timer.OnCalendar") == "*-*-* 06:00:00"
    assert one(timer, "Timer.Persistent") == "true"
    assert "Timer.RandomizedDelaySec" in timer


def test_the_backup_is_a_daily_vcop_backup_with_its_folder_writable() -> None:
    settings = unit_settings(SYSTEMD / "vcop-backup.service")
    command = exec_start(SYSTEMD / "vcop-backup.service")
    assert one(settings, "Service.Type") == "oneshot"
    assert command[1] == "backup"
    out = option_value(command, "--out")
    assert out == "/var/backups/vcop"
    assert out in " ".join(settings["Service.ReadWritePaths"]).split()
    timer = unit_settings(SYSTEMD / "vcop-backup.timer")
    assert one(timer, "Timer.OnCalendar").endswith(":00")
    assert one(timer, "Timer.Persistent") == "true"


@pytest.mark.parametrize("timer", [p for p in UNITS if p.suffix == ".timer"], ids=lambda p: p.name)
def test_each_timer_starts_a_shipped_service(timer: Path) -> None:
    settings = unit_settings(timer)
    target = settings.get("Timer.Unit", [timer.with_suffix(".service").name])[0]
    assert (SYSTEMD / target).exists(), target
    assert one(settings, "Install.WantedBy") == "timers.target"


# -- every vcop command and option named exists --------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    where: str
    words: tuple[str, ...]  # the tokens after `vcop`


#: A command of vcop's command line as click (typer's own copy of it) sees it.
Command = Any


def cli() -> Command:
    return typer.main.get_command(app)


def is_group(command: Command) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


def resolve(invocation: Invocation) -> tuple[list[str], Command, list[str]]:
    """The command path an invocation names, its click command, and the tokens after it."""
    command = cli()
    path: list[str] = []
    rest = list(invocation.words)
    while is_group(command) and rest:
        name = rest.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, (
            f"{invocation.where}: `vcop {' '.join([*path, name])}` is not a vcop command "
            f"(`vcop {' '.join(path)}` has: {', '.join(sorted(command.commands))})"
        )
        path.append(name)
        command = sub
    assert not (is_group(command) and option_tokens(rest)), (
        f"{invocation.where}: `vcop {' '.join(path)}` names a group, which takes no options"
    )
    return path, command, rest


def long_options(command: Command) -> set[str]:
    names = {"--help"}
    for param in command.params:
        names.update(o for o in [*param.opts, *param.secondary_opts] if o.startswith("--"))
    return names


#: Where a shell command ends: the rest of the line is another command or a comment.
_ENDS = {"|", "||", "&&", ";", ">", ">>", "2>&1", "#"}


def option_tokens(tokens: list[str]) -> list[str]:
    found = []
    for token in tokens:
        if token in _ENDS or token.startswith("#"):
            break
        token = token.strip("[](),;:`'\"")
        if token.startswith("--"):
            found.append(token.split("=", 1)[0])
    return found


def unit_invocations() -> list[Invocation]:
    return [Invocation(f"{s.name} ExecStart", tuple(exec_start(s)[1:])) for s in SERVICES]


def code_in(markdown: str) -> tuple[list[str], list[str]]:
    """The lines of fenced code blocks, and the inline code spans of the prose."""
    blocks = re.findall(r"^ *```[^\n]*\n(.*?)^ *```", markdown, flags=re.S | re.M)
    prose = re.sub(r"^ *```[^\n]*\n.*?^ *```", "", markdown, flags=re.S | re.M)
    lines = [line for block in blocks for line in block.splitlines()]
    spans = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]
    return lines, spans


#: `vcop` (or `…/bin/vcop`) followed by a word: the program and its command (not `vcop.toml`,
#: `/var/lib/vcop`, …).
_VCOP = re.compile(r"(?:(?<![\w/.-])|(?<=/bin/))vcop[ \t]+(?=[a-z])")


def invocations_in(text: str, where: str) -> list[Invocation]:
    found = []
    for match in _VCOP.finditer(text):
        before = text[: match.start()].split()
        if before and before[-1].startswith("-"):
            continue  # the value of an option: `sudo -u vcop …`, `install -o vcop …` (the user)
        command = text[match.end() :].split("`")[0]  # a span quoted in a code block ends here
        found.append(Invocation(where, tuple(command.split())))
    return found


def doc_invocations() -> list[Invocation]:
    lines, spans = code_in(OPERATIONS.read_text("utf-8"))
    found = []
    for line in lines:
        found += invocations_in(line, f"docs/operations.md code: {line.strip()!r}")
    for span in spans:
        found += invocations_in(span, f"docs/operations.md `{span}`")
    return found


def test_the_guide_names_vcop_commands() -> None:
    named = {tuple(resolve(i)[0]) for i in doc_invocations()}
    for command in [
        ("refresh",),
        ("status",),
        ("backup",),
        ("restore",),
        ("serve",),
        ("access-log", "verify"),
        ("access-log", "export"),
    ]:
        assert command in named, command


@pytest.mark.parametrize(
    "invocation",
    [*unit_invocations(), *doc_invocations()],
    ids=lambda i: f"vcop {' '.join(i.words)}"[:60],
)
def test_every_named_command_and_option_exists(invocation: Invocation) -> None:
    path, command, rest = resolve(invocation)
    options = long_options(command)
    for option in option_tokens(rest):
        assert option in options, (
            f"{invocation.where}: `vcop {' '.join(path)}` has no option {option} "
            f"(it has {', '.join(sorted(options))})"
        )


#: Options the guide names that belong to other programs (uv sync).
OTHER_PROGRAMS_OPTIONS = {"--frozen", "--no-dev"}


def test_every_option_named_alone_in_the_guide_is_a_vcop_option() -> None:
    every = set()
    stack = [cli()]
    while stack:
        command = stack.pop()
        if is_group(command):
            stack.extend(command.commands.values())
        else:
            every |= long_options(command)
    _, spans = code_in(OPERATIONS.read_text("utf-8"))
    alone = [s.split()[0].split("=")[0] for s in spans if s.startswith("--")]
    assert alone
    unknown = sorted(set(alone) - every - OTHER_PROGRAMS_OPTIONS)
    assert not unknown, f"docs/operations.md names options no vcop command has: {unknown}"


def command_paths() -> list[tuple[str, ...]]:
    """The command paths the units and the guide name (those that resolve; the test above fails
    on the others)."""
    paths = set()
    for invocation in [*unit_invocations(), *doc_invocations()]:
        try:
            paths.add(tuple(resolve(invocation)[0]))
        except AssertionError:
            continue
    return sorted(paths)


@pytest.mark.parametrize("words", command_paths(), ids=" ".join)
def test_help_of_every_named_command_works(words: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*words, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


#: Inline code like `vcop.toml` is a file, not a setting.
_FILE_SUFFIXES = {"toml", "env", "md", "duckdb", "sqlite", "yaml", "conf", "service", "timer"}
_FILE_SUFFIXES |= {"lock", "staging", "json", "csv", "pem", "key", "web"}


def test_every_setting_named_in_the_guide_exists() -> None:
    text = OPERATIONS.read_text("utf-8")
    # the ingest summary's section lists JSON fields (totals.rows_read, …), not settings
    summary = text.index("## Ingest summary (--summary json)")
    after = text.find("\n## ", summary + 1)
    _, spans = code_in(text[:summary] + (text[after:] if after >= 0 else ""))
    named = {
        s
        for s in spans
        if re.fullmatch(r"[a-z_]+\.(?:[a-z_]+|\*)", s) and s.split(".")[1] not in _FILE_SUFFIXES
    }
    assert {"retention.backups_keep", "server.root_path"} <= named
    for name in named:
        section, key = name.split(".")
        assert section in SECTIONS, f"docs/operations.md names `{name}`: no section {section}"
        assert key == "*" or key in SECTIONS[section], f"docs/operations.md: no setting `{name}`"


def test_the_guide_links_to_files_that_exist() -> None:
    text = OPERATIONS.read_text("utf-8")
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert "../deploy/nginx/vcop.conf" in links
    for link in links:
        if "://" not in link:
            assert (OPERATIONS.parent / link).exists(), link
    for unit in UNITS:
        assert unit.name in text, f"docs/operations.md does not name {unit.name}"
    assert INSTALLED_VCOP in text
    assert "uv sync --frozen" in text


# -- the nginx example ---------------------------------------------------------------------------


def nginx_text() -> str:
    """The example without its comments."""
    return "\n".join(line.split("#", 1)[0] for line in NGINX.read_text("utf-8").splitlines())


def served_at() -> tuple[str, int, str]:
    """The address, port and path prefix the dashboard's unit serves."""
    command = exec_start(SYSTEMD / "vcop.service")
    host, port, root = (option_value(command, o) for o in ("--host", "--port", "--root-path"))
    assert host and port and root, command
    return host, int(port), root


def test_nginx_proxies_to_the_address_port_and_prefix_of_the_dashboard() -> None:
    host, port, root = served_at()
    text = nginx_text()
    upstreams = dict(re.findall(r"upstream\s+(\w+)\s*\{[^}]*?server\s+([^;\s]+);", text))
    # The prefix's location passes requests on with the prefix stripped (proxy_pass ending in /).
    block = re.search(
        rf"location\s+{re.escape(root)}/\s*\{{[^}}]*?proxy_pass\s+http://([^/;\s]+)/;", text
    )
    assert block, f"no `location {root}/` with a proxy_pass ending in / in {NGINX}"
    target = upstreams.get(block.group(1), block.group(1))
    assert target == f"{host}:{port}"
    ready = re.search(rf"location\s+=\s+{re.escape(root)}/readyz\s*\{{([^}}]*)\}}", text)
    assert ready, "no location for /readyz"
    assert re.search(r"\ballow\s+\S+;", ready.group(1)) and "deny all;" in ready.group(1)
    assert f"proxy_pass http://{block.group(1)}/readyz;" in ready.group(1)
    # The guide names the same.
    guide = OPERATIONS.read_text("utf-8")
    assert f"{host}:{port}" in guide
    assert f"--root-path {root}" in guide


def test_nginx_terminates_tls_and_forwards_the_headers_vcop_reads() -> None:
    text = nginx_text()
    assert re.search(r"listen\s+443\s+ssl;", text)
    assert re.search(r"ssl_certificate\s+\S*CHANGE-ME\S*;", text)
    assert re.search(r"ssl_certificate_key\s+\S*CHANGE-ME\S*;", text)
    assert re.search(r'add_header\s+Strict-Transport-Security\s+"max-age=\d+[^"]*"\s+always;', text)
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Request-ID"):
        assert re.search(rf"proxy_set_header\s+{header}\s+\$\w+;", text), header
    assert "X-Forwarded-Proto $scheme;" in text
    raw = NGINX.read_text("utf-8")
    assert "auth_request" in raw and "ssl_verify_client" in raw  # the optional sign-in, shown
    assert "OPTIONAL" in raw


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_nginx_accepts_the_example(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed, to make a test certificate")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=vcop.force.example", "-keyout", str(tmp_path / "key.pem"),
         "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    # Only what a test cannot have: the certificate, writable logs, free unprivileged ports.
    text = NGINX.read_text("utf-8")
    text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {tmp_path / 'cert.pem'};", text)
    text = re.sub(
        r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {tmp_path / 'key.pem'};", text
    )
    text = re.sub(r"access_log\s+\S+", f"access_log {tmp_path / 'vcop.access.log'}", text)
    text = re.sub(r"listen\s+443\s+ssl;", f"listen 127.0.0.1:{free_port()} ssl;", text)
    text = re.sub(r"listen\s+80;", f"listen 127.0.0.1:{free_port()};", text)
    (tmp_path / "vcop.conf").write_text(text)
    temp = " ".join(
        f"{kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\n access_log {tmp_path / 'access.log'};\n {temp}\n"
        f" include {tmp_path / 'vcop.conf'};\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-q", "-c", str(tmp_path / "nginx.conf"), "-p", f"{tmp_path}/"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
