"""vcop's settings: one typed object, declared once, with defaults and help text.

Every setting lives in a section of one TOML settings file, ``vcop.toml`` beside the database (or
the file named by the environment variable ``VCOP_SETTINGS``), and can be overridden by an
environment variable ``VCOP_<SECTION>_<KEY>``. Precedence, highest first: a command-line option,
an environment variable, the settings file, the default. :func:`load_settings` reads them all and
remembers where each value came from (``vcop settings show`` prints it); a value of the wrong type,
or a section or key the file should not have, is a :class:`SettingsError` that names the file or
the variable, the key and what was expected, so a typo never passes silently.

Relative paths in the settings file are relative to the folder the file is in; relative paths in
an environment variable or on the command line are relative to the current directory.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_type_hints

if TYPE_CHECKING:
    from vcop.spec.code import LocalStandards

#: The settings file's name when it sits beside the database.
SETTINGS_FILE = "vcop.toml"
#: The environment variable naming a settings file to use instead.
SETTINGS_ENV = "VCOP_SETTINGS"
#: The database when nothing else names one.
DEFAULT_DB_PATH = Path("var/vcop.duckdb")
#: The targets file's name when it sits beside the database.
TARGETS_FILE = "targets.yaml"


def _default_db() -> Path:
    """The database path, for commands' ``--db`` default: ``VCOP_DATABASE_PATH`` or the older
    ``VCOP_DB`` when set, else ``[database] path`` of the settings file named by
    ``VCOP_SETTINGS`` (a file found beside the database cannot say where the database is), else
    ``var/vcop.duckdb``."""
    named = os.environ.get("VCOP_DATABASE_PATH") or os.environ.get("VCOP_DB")
    if named:
        return Path(named)
    settings_file = os.environ.get("VCOP_SETTINGS")
    if settings_file:
        try:
            with open(settings_file, "rb") as f:
                path = tomllib.load(f).get("database", {}).get("path")
        except (OSError, tomllib.TOMLDecodeError):
            path = None  # load_settings() reports the problem when a command reads the file
        if isinstance(path, str) and path:
            found = Path(path)
            return found if found.is_absolute() else Path(settings_file).parent / found
    return DEFAULT_DB_PATH


#: The database a command uses when ``--db`` is not given (see :func:`_default_db`).
DEFAULT_DB = _default_db()


class SettingsError(Exception):
    """A settings file or environment variable that cannot be used; the message says which,
    which setting and what was expected."""


Check = Callable[[Any], str | None]


def about(
    help: str,
    *,
    legacy_env: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    check: Check | None = None,
) -> dict[str, Any]:
    """A setting's metadata: its help text, an older environment variable that still works
    (``legacy_env``), and the values it allows."""
    return {
        "help": help,
        "legacy_env": legacy_env,
        "minimum": minimum,
        "maximum": maximum,
        "check": check,
    }


def _root_path(value: str) -> str | None:
    if value and (not value.startswith("/") or value.endswith("/")):
        return "must be empty or a path that starts with / and does not end with / (e.g. /vcop)"
    return None


def _base_url(value: str) -> str | None:
    if value and not value.startswith(("http://", "https://")):
        return "must be empty or a URL starting with https:// (or http://)"
    return None


def _not_blank(value: str) -> str | None:
    return "must not be empty" if not value.strip() else None


def _trusted_ips(value: str) -> str | None:
    for item in (i.strip() for i in value.split(",")):
        if not item or item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return (
                "must be IP addresses or networks separated by commas, or * "
                f"({json.dumps(item)} is not an IP address or network)"
            )
    return None


# -- the sections --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseSettings:
    """Where vcop keeps its data."""

    path: Path = field(
        default=DEFAULT_DB_PATH,
        metadata=about(
            "The DuckDB database (the build: canonical tables, ledger, what the pages read).",
            legacy_env="VCOP_DB",
            check=lambda p: "must not be empty" if str(p) in ("", ".") else None,
        ),
    )
    ops: Path | None = field(
        default=None,
        metadata=about(
            "The operational SQLite store (accounts, sessions, access log, refresh record). "
            "Empty: beside the database, named after it (for var/vcop.duckdb, var/vcop.ops.sqlite)."
        ),
    )
    memory_limit: str = field(
        default="",
        metadata=about(
            "DuckDB's memory limit when a command builds the database (e.g. 16GB); past it DuckDB "
            "spills to temp_directory. Empty: DuckDB's default, 80% of the machine's memory."
        ),
    )
    temp_directory: Path | None = field(
        default=None,
        metadata=about(
            "Where DuckDB spills what does not fit in memory_limit. Empty: DuckDB's default, "
            "a folder named after the database with .tmp beside it."
        ),
    )


@dataclass(frozen=True)
class ServerSettings:
    """How `vcop serve` listens."""

    host: str = field(
        default="127.0.0.1",
        metadata=about(
            "Address the dashboard listens on (loopback: only this machine).",
            legacy_env="VCOP_HOST",
            check=_not_blank,
        ),
    )
    port: int = field(
        default=8000,
        metadata=about(
            "Port the dashboard listens on.", legacy_env="VCOP_PORT", minimum=1, maximum=65535
        ),
    )
    root_path: str = field(
        default="",
        metadata=about(
            "Path prefix the dashboard is served under behind a reverse proxy (e.g. /vcop).",
            check=_root_path,
        ),
    )
    forwarded_allow_ips: str = field(
        default="127.0.0.1",
        metadata=about(
            "Proxies whose X-Forwarded-For and X-Forwarded-Proto headers are trusted: IP addresses "
            "or networks separated by commas, * for any, empty for none.",
            check=_trusted_ips,
        ),
    )
    workers: int = field(
        default=0,
        metadata=about(
            "Processes serving the dashboard (each renders one page at a time and keeps its own "
            "cache); 0: one per core, at most 8.",
            minimum=0,
            maximum=64,
        ),
    )
    public_base_url: str = field(
        default="",
        metadata=about(
            "The address users reach the dashboard at (e.g. https://vcop.force.police.uk/vcop), "
            "for links vcop writes outside a request. Empty: not known.",
            check=_base_url,
        ),
    )


@dataclass(frozen=True)
class PublicationSettings:
    """What partners and the public may see."""

    suppression_threshold: int = field(
        default=10,
        metadata=about(
            "Counts and shortfalls from 1 up to one below this are hidden ([c]) in what partners see.",
            legacy_env="VCOP_SUPPRESSION_THRESHOLD",
            minimum=1,
        ),
    )


@dataclass(frozen=True)
class StandardsSettings:
    """Local standards the force sets for itself (`vcop evaluate` options)."""

    needs_assessment_days: int = field(
        default=1,
        metadata=about(
            "Working days after a crime is recorded by which the victim's needs assessment should "
            "be complete (1 = by the end of the next working day).",
            minimum=1,
        ),
    )
    care_contract_days: int = field(
        default=5,
        metadata=about(
            "Working days after a crime is reported by which a victim care contract should be agreed.",
            minimum=1,
        ),
    )
    crime_recording_hours: int = field(
        default=24,
        metadata=about(
            "Hours after a crime is reported by which it should be recorded (Right 2; 24 is the "
            "National Crime Recording Standard practice commonly cited).",
            minimum=1,
        ),
    )
    wcu_needs_assessment_days: int = field(
        default=1,
        metadata=about(
            "Working days after a not-guilty plea by which the Witness Care Unit should have "
            "assessed the victim's needs.",
            minimum=1,
        ),
    )
    police_vrr_days: int = field(
        default=30,
        metadata=about(
            "Working days after a Victims' Right to Review request by which the police review "
            "should be complete.",
            minimum=1,
        ),
    )
    cps_vrr_days: int = field(
        default=30,
        metadata=about(
            "Working days after a Victims' Right to Review request by which the CPS review "
            "should be complete.",
            minimum=1,
        ),
    )
    appeal_information_days: int = field(
        default=1,
        metadata=about(
            "Working days after an appeal is lodged or decided by which the Witness Care Unit "
            "should tell the victim.",
            minimum=1,
        ),
    )

    def local_standards(self, **given: int | None) -> LocalStandards:
        """These settings as the rules take them; ``given`` (by setting name) overrides one where
        it is not None (an option on the command line)."""
        from vcop.spec.code import LocalStandards

        chosen = {f.name: getattr(self, f.name) for f in fields(self)}
        chosen.update({k: v for k, v in given.items() if v is not None})
        return LocalStandards(
            needs_assessment_working_days=chosen["needs_assessment_days"],
            care_contract_working_days=chosen["care_contract_days"],
            crime_recording_hours=chosen["crime_recording_hours"],
            wcu_needs_assessment_working_days=chosen["wcu_needs_assessment_days"],
            police_vrr_working_days=chosen["police_vrr_days"],
            cps_vrr_working_days=chosen["cps_vrr_days"],
            appeal_information_working_days=chosen["appeal_information_days"],
        )


#: What ``metrics.dashboard_figures`` may say (see :mod:`vcop.metrics.precompute`).
DASHBOARD_FIGURES = ("all", "periods", "none")


def _dashboard_figures(value: str) -> str | None:
    if value not in DASHBOARD_FIGURES:
        return f"must be one of {', '.join(DASHBOARD_FIGURES)}"
    return None


@dataclass(frozen=True)
class MetricsSettings:
    """Where the force's own targets are, and which of the dashboard's figures are computed when
    the ledger is evaluated."""

    targets_file: Path | None = field(
        default=None,
        metadata=about(
            "The force's adopted targets (targets.yaml). Empty: targets.yaml beside the database.",
            legacy_env="VCOP_TARGETS_FILE",
        ),
    )
    dashboard_figures: str = field(
        default="all",
        metadata=about(
            "Which of the dashboard's figures vcop evaluate, refresh and demo compute and store "
            "after the ledger, so that no page's first view waits for them: all (every period, "
            "overall and by the splits the pages offer), periods (every period, overall only), "
            "or none (every figure is computed on its first view instead).",
            check=_dashboard_figures,
        ),
    )


@dataclass(frozen=True)
class RetentionSettings:
    """How long vcop keeps what it holds."""

    finalised_crime_years: int = field(
        default=6,
        metadata=about(
            "Years a finalised crime's records are kept after it is finalised.", minimum=1
        ),
    )
    access_log_years: int = field(
        default=6, metadata=about("Years access-log entries are kept.", minimum=1)
    )
    backups_keep: int = field(
        default=14, metadata=about("Backups kept; older ones are deleted.", minimum=1)
    )


@dataclass(frozen=True)
class SessionsSettings:
    """How long a dashboard sign-in lasts."""

    idle_minutes: int = field(
        default=30,
        metadata=about("Minutes without a request after which a session ends.", minimum=1),
    )
    max_hours: int = field(
        default=8, metadata=about("Hours after signing in at which a session ends.", minimum=1)
    )

    @property
    def idle_timeout(self) -> timedelta:
        return timedelta(minutes=self.idle_minutes)

    @property
    def max_age(self) -> timedelta:
        return timedelta(hours=self.max_hours)


@dataclass(frozen=True)
class RefreshSettings:
    """When `vcop refresh` warns about a load."""

    max_reject_share: float = field(
        default=0.10,
        metadata=about(
            "Share of rows rejected (0 to 1) above which a refresh publishes nothing and exits 1.",
            minimum=0.0,
            maximum=1.0,
        ),
    )
    max_retire_share: float = field(
        default=0.10,
        metadata=about(
            "Share of a table's rows (0 to 1) a full extract may retire; past it a refresh "
            "publishes nothing and exits 1 unless run with --confirm-retire.",
            minimum=0.0,
            maximum=1.0,
        ),
    )


def _invite_when(value: str) -> str | None:
    if value not in INVITE_WHEN:
        return f"must be one of {', '.join(INVITE_WHEN)}"
    return None


#: When a victim is due a Victim Voice questionnaire (setting ``survey.invite_when``).
INVITE_WHEN = ("reached_or_finalised", "reached", "finalised")


@dataclass(frozen=True)
class SurveySettings:
    """Victim Voice: the questionnaire victims reach by a one-time link (`vcop survey invite`)."""

    public_base_url: str = field(
        default="",
        metadata=about(
            "The public address of the questionnaire (`vcop serve --public` behind the force's "
            "public web proxy, e.g. https://voice.force.police.uk); links are "
            "{public_base_url}/voice/{token}. Empty: `vcop survey invite` refuses to write links.",
            check=_base_url,
        ),
    )
    link_days: int = field(
        default=28,
        metadata=about("Days an invitation link works for before it expires.", minimum=1),
    )
    invite_after_months: int = field(
        default=2,
        metadata=about(
            "Calendar months after the crime was reported at which its victims are due the "
            "questionnaire.",
            minimum=1,
        ),
    )
    invite_within_days: int = field(
        default=31,
        metadata=about(
            "A victim is invited only when the day they became due falls within this many days "
            "up to the as-of date (so a first run does not invite the victims of crimes long "
            "past; no victim is invited twice for a crime, so runs may overlap).",
            minimum=1,
        ),
    )
    feedback_min_answers: int = field(
        default=10,
        metadata=about(
            "Officer and unit feedback (/feedback) shows satisfaction for an officer or unit only "
            "when at least this many victims answered; fewer are shown as too few answers.",
            minimum=1,
        ),
    )
    invite_when: str = field(
        default="reached_or_finalised",
        metadata=about(
            "What makes a victim due: reached (the crime reached invite_after_months), finalised "
            "(the crime has an outcome), or reached_or_finalised (whichever comes first).",
            check=_invite_when,
        ),
    )


# -- the settings object -------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Every setting, by section (``settings.server.port``), and where each came from.

    Use :func:`load_settings`. ``Settings()`` with no arguments holds the defaults overridden by
    the environment (no settings file), as the flat ``Settings().host`` of older callers did.
    """

    database: DatabaseSettings = field(default_factory=lambda: _from_env(DatabaseSettings))
    server: ServerSettings = field(default_factory=lambda: _from_env(ServerSettings))
    publication: PublicationSettings = field(default_factory=lambda: _from_env(PublicationSettings))
    standards: StandardsSettings = field(default_factory=lambda: _from_env(StandardsSettings))
    metrics: MetricsSettings = field(default_factory=lambda: _from_env(MetricsSettings))
    retention: RetentionSettings = field(default_factory=lambda: _from_env(RetentionSettings))
    sessions: SessionsSettings = field(default_factory=lambda: _from_env(SessionsSettings))
    refresh: RefreshSettings = field(default_factory=lambda: _from_env(RefreshSettings))
    survey: SurveySettings = field(default_factory=lambda: _from_env(SurveySettings))
    #: The settings file that was read (None when there was none).
    file: Path | None = None
    #: Where each value came from, by ``"section.key"``.
    sources: Mapping[str, str] = field(
        default_factory=lambda: _environment_sources(), repr=False, compare=False
    )

    def value(self, section: str, key: str) -> Any:
        """The value of one setting."""
        spec = spec_for(section, key)
        return getattr(getattr(self, spec.section), spec.key)

    def source(self, section: str, key: str) -> str:
        """Where a setting's value came from: ``default``, ``file PATH``, ``env VCOP_X`` or
        ``command line``."""
        spec = spec_for(section, key)
        return self.sources.get(spec.name, "default")

    def items(self) -> Iterator[tuple[SettingSpec, Any, str]]:
        """Every setting in declaration order, with its value and source."""
        for spec in SETTINGS:
            yield spec, self.value(spec.section, spec.key), self.source(spec.section, spec.key)

    def with_options(self, options: Mapping[str, Any]) -> Settings:
        """These settings with command-line options on top: ``{"server.port": 9000}``. A value of
        None is an option that was not given and changes nothing."""
        values: dict[str, Any] = {}
        sources = dict(self.sources)
        for name, raw in options.items():
            if raw is None:
                continue
            section, _, key = name.partition(".")
            spec = spec_for(section, key)
            values[spec.name] = spec.coerce(raw, f"command-line option for {spec.name}")
            sources[spec.name] = "command line"
        return _build(values, sources, self.file, base=self)

    @property
    def ops_path(self) -> Path:
        """The operational store: ``database.ops``, else ``<db stem>.ops.sqlite`` beside the
        database."""
        db = self.database.path
        return self.database.ops or db.with_name(f"{db.stem}.ops.sqlite")

    @property
    def targets_path(self) -> Path:
        """The targets file: ``metrics.targets_file``, else ``targets.yaml`` beside the database."""
        return self.metrics.targets_file or self.database.path.resolve().parent / TARGETS_FILE

    # The flat names older callers use.
    @property
    def db(self) -> Path:
        return self.database.path

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def suppression_threshold(self) -> int:
        return self.publication.suppression_threshold


# -- the declared settings, as data --------------------------------------------------------------

_KINDS: dict[Any, tuple[type, bool]] = {
    int: (int, False),
    float: (float, False),
    str: (str, False),
    Path: (Path, False),
    Path | None: (Path, True),
}
_EXPECTED = {int: "an integer", float: "a number", str: "a string", Path: "a file path"}


@dataclass(frozen=True)
class SettingSpec:
    """One declared setting: where it lives, its type, default and help, and its variables."""

    section: str
    key: str
    kind: type
    #: An empty value means "the default place" (the value is then None).
    optional: bool
    default: Any
    help: str
    legacy_env: str | None
    minimum: float | None
    maximum: float | None
    check: Check | None

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def env(self) -> str:
        return f"VCOP_{self.section.upper()}_{self.key.upper()}"

    @property
    def expected(self) -> str:
        text = _EXPECTED[self.kind]
        if self.minimum is not None and self.maximum is not None:
            text += f" from {_number(self.minimum)} to {_number(self.maximum)}"
        elif self.minimum is not None:
            text += f" of at least {_number(self.minimum)}"
        return text

    def toml(self, value: Any) -> str:
        """``value`` written as a TOML value."""
        if value is None:
            return '""'
        if isinstance(value, Path | str):
            return json.dumps(str(value), ensure_ascii=False)
        return repr(value)

    def coerce(self, raw: Any, origin: str, *, variable: str | None = None) -> Any:
        """``raw`` (a TOML value, a command-line value, or the text of the environment variable
        ``variable``) as this setting's type, or a :class:`SettingsError` naming ``origin``."""
        from_text = variable is not None and self.kind in (int, float)
        try:
            value = self._typed(raw.strip() if from_text else raw, from_text)
        except (TypeError, ValueError):
            example = (
                f"{variable}={'' if self.default is None else self.default}"
                if variable
                else f"{self.key} = {self.toml(self.default)}"
            )
            raise SettingsError(
                f"{origin}: {self.name} must be {self.expected} (e.g. {example}), not {_shown(raw)}"
            ) from None
        problem = self._problem(value)
        if problem:
            raise SettingsError(f"{origin}: {self.name} {problem}, not {_shown(raw)}")
        return value

    def _typed(self, raw: Any, from_text: bool) -> Any:
        if isinstance(raw, bool):
            raise TypeError
        if self.kind is int:
            if from_text:
                return int(raw)
            if not isinstance(raw, int):
                raise TypeError
            return raw
        if self.kind is float:
            value = float(raw) if from_text else raw
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError
            return float(value)
        if isinstance(raw, Path) and self.kind is Path:
            raw = str(raw)
        if not isinstance(raw, str):
            raise TypeError
        if self.kind is Path:
            return None if self.optional and raw == "" else Path(raw)
        return raw

    def _problem(self, value: Any) -> str | None:
        if value is None:
            return None
        if self.minimum is not None and value < self.minimum:
            return f"must be {self.expected}"
        if self.maximum is not None and value > self.maximum:
            return f"must be {self.expected}"
        return self.check(value) if self.check else None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _shown(raw: Any) -> str:
    return json.dumps(raw, ensure_ascii=False) if isinstance(raw, str) else repr(raw)


def _declared() -> tuple[tuple[str, type[Any]], ...]:
    """The sections of :class:`Settings`: its fields that are dataclasses, with their classes."""
    hints = get_type_hints(Settings)
    return tuple((f.name, hints[f.name]) for f in fields(Settings) if is_dataclass(hints[f.name]))


def _specs() -> tuple[SettingSpec, ...]:
    specs = []
    for section, cls in _declared():
        hints = get_type_hints(cls)
        for f in fields(cls):
            kind, optional = _KINDS[hints[f.name]]
            specs.append(
                SettingSpec(
                    section=section,
                    key=f.name,
                    kind=kind,
                    optional=optional,
                    default=f.default,
                    help=f.metadata["help"],
                    legacy_env=f.metadata["legacy_env"],
                    minimum=f.metadata["minimum"],
                    maximum=f.metadata["maximum"],
                    check=f.metadata["check"],
                )
            )
    return tuple(specs)


#: Every setting, in the order the sections and keys are declared.
SETTINGS: tuple[SettingSpec, ...] = _specs()
#: The section names, in order, with the keys each holds.
SECTIONS: dict[str, tuple[str, ...]] = {
    section: tuple(s.key for s in SETTINGS if s.section == section) for section, _ in _declared()
}


def spec_for(section: str, key: str) -> SettingSpec:
    """The declared setting ``section.key``; a :class:`SettingsError` when there is none."""
    for spec in SETTINGS:
        if spec.section == section and spec.key == key:
            return spec
    raise SettingsError(f"there is no setting {section}.{key}")


# -- loading -------------------------------------------------------------------------------------


def settings_path(db: Path | None = None, *, env: Mapping[str, str] | None = None) -> Path:
    """The settings file vcop reads (it may not exist): ``VCOP_SETTINGS``, else ``vcop.toml``
    beside ``db`` (the database given on the command line), else beside the database the
    environment names, else beside ``var/vcop.duckdb``."""
    env = os.environ if env is None else env
    named = env.get(SETTINGS_ENV)
    if named:
        return Path(named)
    if db is None:
        values, _ = _read_environment(env, [spec_for("database", "path")])
        db = values.get("database.path", DEFAULT_DB_PATH)
    return Path(db).parent / SETTINGS_FILE


def load_settings(db: Path | None = None, *, env: Mapping[str, str] | None = None) -> Settings:
    """The settings in effect: ``db`` (the database given on the command line, if any), then the
    environment (``os.environ`` unless ``env`` is given), then the settings file, then the
    defaults. Raises :class:`SettingsError` for a value or name that cannot be used."""
    env = os.environ if env is None else env
    path = settings_path(db, env=env)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    file: Path | None = None
    if path.is_file():
        file = path
        values.update(_read_file(path))
        sources.update(dict.fromkeys(values, f"file {path}"))
    elif env.get(SETTINGS_ENV):
        raise SettingsError(f"{SETTINGS_ENV} names {path}, which is not a file")
    env_values, env_sources = _read_environment(env, SETTINGS)
    values.update(env_values)
    sources.update(env_sources)
    if db is not None:
        values["database.path"] = Path(db)
        sources["database.path"] = "command line"
    return _build(values, sources, file)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise SettingsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not a valid TOML file: {exc}") from None
    values: dict[str, Any] = {}
    for section, table in data.items():
        if section not in SECTIONS:
            raise SettingsError(
                f"{path}: unknown section [{section}] (the sections are "
                f"{', '.join(f'[{s}]' for s in SECTIONS)})"
            )
        if not isinstance(table, dict):
            raise SettingsError(f"{path}: {section} must be a section [{section}], not a value")
        for key, raw in table.items():
            if key not in SECTIONS[section]:
                raise SettingsError(
                    f"{path}: unknown setting {key!r} in [{section}] (its settings are "
                    f"{', '.join(SECTIONS[section])})"
                )
            spec = spec_for(section, key)
            value = spec.coerce(raw, str(path))
            if isinstance(value, Path) and not value.is_absolute():
                value = path.parent / value
            values[spec.name] = value
    return values


def _read_environment(
    env: Mapping[str, str], specs: tuple[SettingSpec, ...] | list[SettingSpec]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings ``env`` sets (``VCOP_<SECTION>_<KEY>``, else an older name), and their
    sources. A variable that looks like a setting of a known section but is not one is an error."""
    known = {s.env for s in SETTINGS}
    for name in env:
        for section, keys in SECTIONS.items():
            if name.startswith(f"VCOP_{section.upper()}_") and name not in known:
                raise SettingsError(
                    f"environment variable {name} is not a vcop setting "
                    f"(the [{section}] variables are "
                    f"{', '.join(spec_for(section, k).env for k in keys)})"
                )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in specs:
        for variable in (spec.env, spec.legacy_env):
            if variable and variable in env:
                values[spec.name] = spec.coerce(
                    env[variable], f"environment variable {variable}", variable=variable
                )
                sources[spec.name] = f"env {variable}"
                break
    return values, sources


def _build(
    values: Mapping[str, Any],
    sources: Mapping[str, str],
    file: Path | None,
    *,
    base: Settings | None = None,
) -> Settings:
    sections: dict[str, Any] = {}
    for section, cls in _declared():
        given = {
            key: values[f"{section}.{key}"]
            for key in SECTIONS[section]
            if f"{section}.{key}" in values
        }
        sections[section] = replace(getattr(base, section), **given) if base else cls(**given)
    return Settings(**sections, file=file, sources=dict(sources))


def _from_env(cls: type[Any]) -> Any:
    section = next(name for name, c in _declared() if c is cls)
    specs = [s for s in SETTINGS if s.section == section]
    values, _ = _read_environment(os.environ, specs)
    return cls(**{s.key: values[s.name] for s in specs if s.name in values})


def _environment_sources() -> dict[str, str]:
    return _read_environment(os.environ, SETTINGS)[1]
