"""Write ``tests/fixtures/niche_export``: a small synthetic export in a foreign (Niche-style)
layout, and the same data as a vcop standard extract.

The data are a slice of the seeded synthetic force (:mod:`vcop.synth`): the crimes reported in
the first half of 2025, their victims, contacts and needs assessments. They are written twice:

* ``export/`` — as a records-management system might export them: its own headers and file
  names (dated), UK dates (``dd/mm/yyyy HH:MM``), its own codes (2021 Census ethnicity codes, sex
  ``M``/``F``/``U``, Home Office outcome numbers, contact methods ``TEL``, ``EML``…), one people
  file holding victims, suspects and witnesses with a ``Role`` column (and an older dated copy of
  it), a workbook with a cover sheet and a data sheet whose header is on row 3, crime references
  with thousands separators (``2,500,123``), CSV files in Windows' cp1252, a column of fake
  street addresses (which must never load), columns vcop has no use for, and three genuinely bad
  rows: a crime with an impossible date, a victim with no crime reference and a victim whose
  crime is not in the export;
* ``standard/`` — the same rows as the vcop standard extract (canonical names and codes, ISO
  dates), so a test can check that loading the export through its profile gives the same figures.

Every id is made up and every address is a placeholder ("12 Example Street"): nothing here is
about a real person. The same seed gives the same files, byte for byte. Run from the repository
root::

    uv run python scripts/make_niche_export.py [--out tests/fixtures/niche_export]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from vcop.synth import generate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "niche_export"
SEED = 20
SCALE = 0.004
END = dt.date(2025, 6, 30)
#: Crimes reported from this day on are in the slice.
FROM = "2025-01-01"
#: The older copy of the people file holds the crimes reported before this day.
OLDER_COPY = "2025-05-31"
#: A fixed time for everything a workbook records about when it was made.
MADE = dt.datetime(2025, 6, 30, 6, 0)

CRIME_COLUMNS = (
    "crime_id", "reported_at", "recorded_at", "crime_type", "offence_code", "domestic_abuse",
    "hate_crime", "area", "district", "unit", "officer_id", "lsoa_code", "outcome_code",
    "outcome_at",
)  # fmt: skip
VICTIM_COLUMNS = (
    "victim_id", "crime_id", "age_at_report", "vulnerable", "intimidated", "persistently_targeted",
    "bereaved_relative", "updates_opt_out", "sex", "ethnicity", "disability",
)  # fmt: skip
CONTACT_COLUMNS = (
    "contact_id", "victim_id", "crime_id", "contact_at", "purpose", "successful", "channel",
    "officer_id",
)  # fmt: skip
ASSESSMENT_COLUMNS = (
    "assessment_id", "victim_id", "crime_id", "completed_at", "enhanced_rights_identified",
    "support_needed", "questions_answered",
)  # fmt: skip

#: 2021 Census ethnicity codes (as police systems write them) by the schema's high-level group,
#: with weights for the synthetic draw.
CENSUS_CODES = {
    "white": (("W1", 80), ("W2", 3), ("W3", 1), ("W4", 1), ("W9", 10)),
    "mixed": (("M1", 3), ("M2", 2), ("M3", 3), ("M9", 2)),
    "asian": (("A1", 4), ("A2", 4), ("A3", 2), ("A4", 2), ("A9", 2)),
    "black": (("B1", 2), ("B2", 3), ("B9", 1)),
    "other": (("O1", 1), ("O9", 2)),
    "not_stated": (("NS", 1),),
}
#: A code the Census list does not know (a legacy "unknown"): with `unmapped: blank` it blanks
#: the victim's ethnicity rather than rejecting the victim.
LEGACY_ETHNICITY = "99"
SEX_CODES = {"female": "F", "male": "M", "not_stated": "U", "other": "U", "": ""}
CHANNEL_CODES = {
    "phone": "TEL", "email": "EML", "in_person": "F2F", "letter": "LTR", "sms": "TXT",
    "portal": "WEB", "video": "VID", "other": "OTH",
}  # fmt: skip
FLAG = {"true": "Y", "false": "N", "": ""}
YES_NO = {"true": "Yes", "false": "No", "": ""}
STATUSES = ("Open", "Filed – Undetected", "Filed – Detected", "Awaiting Outcome")
STREETS = ("Example", "Sample", "Placeholder", "Fictional", "Madeup", "Nowhere")
STREET_KINDS = ("Street", "Road", "Avenue", "Lane", "Close", "Way")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _number(demo_id: str) -> int:
    return int(demo_id.rsplit("-", 1)[1])


def _uk(iso: str) -> str:
    """An ISO datetime as dd/mm/yyyy HH:MM (blank stays blank)."""
    return dt.datetime.fromisoformat(iso).strftime("%d/%m/%Y %H:%M") if iso else ""


def _ref(crime_id: str) -> str:
    """A crime reference as the export writes it: with thousands separators."""
    return f"{int(crime_id):,}" if crime_id.isdigit() else crime_id


def _draw(rng: random.Random, options: Sequence[tuple[str, int]]) -> str:
    codes, weights = zip(*options, strict=True)
    return rng.choices(codes, weights)[0]


def canonical(demo: dict[str, list[dict[str, str]]]) -> dict[str, list[dict[str, str]]]:
    """The slice, with made-up references, as canonical rows (what both layouts hold)."""
    crimes = [c for c in demo["crimes"] if c["reported_at"] >= FROM]
    crime_ids = {c["crime_id"]: str(2_500_000 + _number(c["crime_id"])) for c in crimes}
    victims = [v for v in demo["victims"] if v["crime_id"] in crime_ids]
    victim_ids = {v["victim_id"]: f"N{1_000_000 + _number(v['victim_id'])}" for v in victims}

    def renamed(row: dict[str, str], columns: Sequence[str]) -> dict[str, str]:
        out = {c: row.get(c, "") for c in columns}
        if "crime_id" in out:
            out["crime_id"] = crime_ids[out["crime_id"]]
        if "victim_id" in out:
            out["victim_id"] = victim_ids[out["victim_id"]]
        return out

    keep = {(v["victim_id"], v["crime_id"]) for v in victims}
    contacts = [
        renamed(c, CONTACT_COLUMNS) | {"contact_id": f"C{5_000_000 + _number(c['contact_id'])}"}
        for c in demo["contacts"]
        if (c["victim_id"], c["crime_id"]) in keep
    ]
    assessments = [
        renamed(a, ASSESSMENT_COLUMNS) | {"assessment_id": f"VNA{_number(a['assessment_id']):06d}"}
        for a in demo["needs_assessments"]
        if (a["victim_id"], a["crime_id"]) in keep
    ]
    out_victims = []
    for v in victims:
        row = renamed(v, VICTIM_COLUMNS)
        row["sex"] = {"other": "not_stated"}.get(row["sex"], row["sex"])  # the export has no code
        out_victims.append(row)
    return {
        "crimes": [renamed(c, CRIME_COLUMNS) for c in crimes],
        "victims": out_victims,
        "contacts": contacts,
        "needs_assessments": assessments,
    }


def add_bad_rows(data: dict[str, list[dict[str, str]]]) -> None:
    """The three genuinely bad rows, in both layouts (each is a reject, and nothing hangs on it)."""
    crime = dict(data["crimes"][0])
    crime |= {"crime_id": "2599999", "reported_at": "2025-02-31T09:15:00", "recorded_at": ""}
    crime |= {"outcome_code": "", "outcome_at": ""}
    data["crimes"].append(crime)  # 31 February: an impossible date
    victim = dict(data["victims"][0])
    data["victims"].append(victim | {"victim_id": "N1999001", "crime_id": ""})  # no crime ref
    data["victims"].append(victim | {"victim_id": "N1999002", "crime_id": "9999999"})  # unknown


def write_standard(folder: Path, data: dict[str, list[dict[str, str]]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    columns = {
        "crimes": CRIME_COLUMNS,
        "victims": VICTIM_COLUMNS,
        "contacts": CONTACT_COLUMNS,
        "needs_assessments": ASSESSMENT_COLUMNS,
    }
    for table, rows in data.items():
        _write_csv(
            folder / f"{table}.csv",
            columns[table],
            ([r[c] for c in columns[table]] for r in rows),
            "utf-8",
        )


def _write_csv(
    path: Path, header: Sequence[str], rows: Iterable[Sequence[str]], encoding: str
) -> None:
    with path.open("w", newline="", encoding=encoding) as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_export(folder: Path, data: dict[str, list[dict[str, str]]], rng: random.Random) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _occurrences(folder, data["crimes"], rng)
    people = _people(data["victims"], data["crimes"], rng)
    header = list(people[0])
    _write_csv(folder / "People_20250630.csv", header, (list(p.values()) for p in people), "cp1252")
    reported = {c["crime_id"]: c["reported_at"] for c in data["crimes"]}
    older = [
        p for p in people if reported.get(p["Occurrence Ref"].replace(",", ""), "") < OLDER_COPY
    ]
    _write_csv(folder / "People_20250531.csv", header, (list(p.values()) for p in older), "cp1252")
    _contacts(folder, data["contacts"])
    _assessments(folder / "VNA_Export_20250630.xlsx", data["needs_assessments"])


def _occurrences(folder: Path, crimes: list[dict[str, str]], rng: random.Random) -> None:
    header = (
        "Occurrence Ref", "Date Reported", "Date Recorded", "Crime Category", "HO Offence Code",
        "DA Flag", "Hate Flg", "LPA", "District", "OIC Team", "OIC Ref", "LSOA", "HO Outcome",
        "Outcome Date", "Location Address", "Occurrence Status", "Beat",
    )  # fmt: skip
    rows = []
    for c in crimes:
        impossible = c["reported_at"].startswith("2025-02-31")
        address = ""
        if rng.random() < 0.8:
            address = f"{rng.randint(1, 240)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"
        rows.append([
            _ref(c["crime_id"]),
            "31/02/2025 09:15" if impossible else _uk(c["reported_at"]),
            _uk(c["recorded_at"]), c["crime_type"].upper(), c["offence_code"],
            FLAG[c["domestic_abuse"]], FLAG[c["hate_crime"]], c["area"], c["district"], c["unit"],
            c["officer_id"], c["lsoa_code"], c["outcome_code"], _uk(c["outcome_at"]), address,
            rng.choice(STATUSES), f"{c['district'][:2].upper()}{rng.randint(1, 9):02d}",
        ])  # fmt: skip
    _write_csv(folder / "Occurrences_20250630.csv", header, rows, "cp1252")


def _person(
    role: str, nominal: str, crime: str, age: str, sex: str, ethnicity: str
) -> dict[str, str]:
    return {
        "Role": role, "Nominal Ref": nominal, "Occurrence Ref": _ref(crime), "Age": age,
        "Gender": sex, "Ethnicity": ethnicity, "Vulnerable": "", "Intimidated": "",
        "Persistently Targeted": "", "Bereaved": "", "No Updates": "", "Disabled": "",
    }  # fmt: skip


def _people(
    victims: list[dict[str, str]], crimes: list[dict[str, str]], rng: random.Random
) -> list[dict[str, str]]:
    people = []
    legacy = set(rng.sample(range(len(victims) - 2), 3))  # not the two bad rows at the end
    for i, v in enumerate(victims):
        if v["ethnicity"] and i in legacy:
            ethnicity, v["ethnicity"] = LEGACY_ETHNICITY, ""  # blanked by `unmapped: blank`
        elif v["ethnicity"]:
            ethnicity = _draw(rng, CENSUS_CODES[v["ethnicity"]])
        else:
            ethnicity = ""
        person = _person(
            "Victim", v["victim_id"], v["crime_id"], v["age_at_report"], SEX_CODES[v["sex"]], ethnicity
        )  # fmt: skip
        person |= {
            "Vulnerable": FLAG[v["vulnerable"]], "Intimidated": FLAG[v["intimidated"]],
            "Persistently Targeted": FLAG[v["persistently_targeted"]],
            "Bereaved": FLAG[v["bereaved_relative"]], "No Updates": YES_NO[v["updates_opt_out"]],
            "Disabled": FLAG[v["disability"]],
        }  # fmt: skip
        people.append(person)
    nominal = 2_000_000
    for c in crimes:
        if c["crime_id"] == "2599999":
            continue
        for role, share in (("Suspect", 0.45), ("Witness", 0.15)):
            if rng.random() < share:
                nominal += 1
                group = rng.choice(list(CENSUS_CODES))
                people.append(
                    _person(
                        role, f"N{nominal}", c["crime_id"], str(rng.randint(14, 70)),
                        rng.choice("MFU"), _draw(rng, CENSUS_CODES[group]),
                    )
                )  # fmt: skip
    people.sort(
        key=lambda p: (p["Occurrence Ref"].replace(",", "").zfill(8), p["Role"] != "Victim")
    )
    return people


def _contacts(folder: Path, contacts: list[dict[str, str]]) -> None:
    header = (
        "Contact Ref", "Nominal Ref", "Occurrence Ref", "Contact Date", "Reason", "Contact Made",
        "Method", "Officer Ref",
    )  # fmt: skip
    rows = [
        [
            c["contact_id"], c["victim_id"], _ref(c["crime_id"]), _uk(c["contact_at"]),
            c["purpose"].replace("_", " ").title().replace("Vcc", "VCC").replace("Vps", "VPS"),
            FLAG[c["successful"]], CHANNEL_CODES.get(c["channel"], ""), c["officer_id"],
        ]
        for c in contacts
    ]  # fmt: skip
    _write_csv(folder / "Victim_Contacts_20250630.csv", header, rows, "cp1252")


def _assessments(path: Path, assessments: list[dict[str, str]]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    cover = wb.active
    assert cover is not None
    cover.title = "Cover"
    for line in (
        ("Victim Needs Assessments",),
        ("Produced", "30/06/2025 06:00"),
        ("Classification", "OFFICIAL-SENSITIVE (synthetic test data)"),
        ("Made by", "scripts/make_niche_export.py — every value is made up"),
    ):
        cover.append(line)
    data = wb.create_sheet("Data")
    data.append(("Victim Needs Assessment Report",))
    data.append(("Run 30/06/2025 06:00",))
    data.append((
        "VNA Ref", "Nominal Ref", "Occurrence Ref", "Completed", "Enhanced Rights",
        "Support Wanted", "Questions Answered",
    ))  # fmt: skip
    for a in assessments:
        data.append((
            a["assessment_id"], a["victim_id"], int(a["crime_id"]),
            dt.datetime.fromisoformat(a["completed_at"]) if a["completed_at"] else None,
            FLAG[a["enhanced_rights_identified"]], FLAG[a["support_needed"]],
            int(a["questions_answered"]) if a["questions_answered"] else None,
        ))  # fmt: skip
    wb.properties.creator = "vcop"
    wb.properties.created = wb.properties.modified = MADE
    wb.save(path)
    _fix_zip_times(path)


def _fix_zip_times(path: Path) -> None:
    """Rewrite the workbook with fixed timestamps, so the same seed gives the same bytes."""
    with zipfile.ZipFile(path) as z:
        parts = [(info.filename, z.read(info.filename)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts:
            if name == "docProps/core.xml":
                content = _fixed_core(content)
            info = zipfile.ZipInfo(name, date_time=MADE.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, content)


def _fixed_core(content: bytes) -> bytes:
    import re

    stamp = MADE.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, content)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    out: Path = args.out
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), seed=SEED, years=1, end=END, scale=SCALE)
        demo = {
            t: _read(Path(tmp) / f"{t}.csv")
            for t in ("crimes", "victims", "contacts", "needs_assessments")
        }
    data = canonical(demo)
    add_bad_rows(data)
    rng = random.Random(SEED)
    for sub in ("export", "standard"):
        shutil.rmtree(out / sub, ignore_errors=True)
    write_export(out / "export", data, rng)  # blanks the legacy-coded ethnicities in ``data``
    write_standard(out / "standard", data)
    counts = ", ".join(f"{t} {len(rows)}" for t, rows in data.items())
    print(f"wrote {out}: {counts}")


if __name__ == "__main__":
    main()
