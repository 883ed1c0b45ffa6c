"""Derive the national generator's table of force sizes and peer groups, once.

Reads, from the shared open data (``../shared/data``, each folder described in its ``SOURCE.md``):

- the 43 territorial forces of England and Wales, by the names in
  ``cchi-derived/cchi_weights_by_force_category.csv``;
- the national total of police recorded crime, year ending March 2025, as the sum of
  ``national_count_2024_25`` in ``cchi-derived/cchi_weights.csv`` (Home Office, Police recorded crime
  PFA open data tables, OGL v3.0);
- Cambridgeshire's own volume: the street-level crimes (every row but anti-social behaviour) of its
  2024 data.police.uk files in ``cambs-2024/street``.

No other force's volume can be read here, so the other 42 sizes are *synthetic*: drawn (seeded)
from a log-normal, the largest draw given to the Metropolitan Police and the smallest to the City
of London (the largest and smallest forces), and scaled so that the 43 sizes add up to the national
total. Each row says which it is in ``size_source``.

Peer groups are derived from this table, not HMICFRS's most similar forces (which could not be
read here): each force's peers are the forces nearest to it in log size.

Writes ``src/vcop/definitions/synth/forces.yaml``. Run from the repository root::

    uv run python scripts/derive_force_sizes.py [--data ../shared/data] [--out PATH]
"""

from __future__ import annotations

import argparse
import csv
import math
import random
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
DEFAULT_OUT = ROOT / "src" / "vcop" / "definitions" / "synth" / "forces.yaml"
SEED = 20250331
PEERS = 7
LARGEST, SMALLEST, REAL = "Metropolitan Police", "City of London", "Cambridgeshire"

#: The id prefix of each force's records (ids are unique nationally by this prefix).
CODES = {
    "Avon and Somerset": "AVS", "Bedfordshire": "BDS", "Cambridgeshire": "CAM",
    "Cheshire": "CHS", "City of London": "COL", "Cleveland": "CLV", "Cumbria": "CUM",
    "Derbyshire": "DBY", "Devon and Cornwall": "DVC", "Dorset": "DOR", "Durham": "DUR",
    "Dyfed-Powys": "DYP", "Essex": "ESX", "Gloucestershire": "GLO",
    "Greater Manchester": "GMP", "Gwent": "GWT", "Hampshire": "HAM", "Hertfordshire": "HRT",
    "Humberside": "HUM", "Kent": "KNT", "Lancashire": "LAN", "Leicestershire": "LEI",
    "Lincolnshire": "LIN", "Merseyside": "MER", "Metropolitan Police": "MET", "Norfolk": "NFK",
    "North Wales": "NWA", "North Yorkshire": "NYK", "Northamptonshire": "NTH",
    "Northumbria": "NBR", "Nottinghamshire": "NTT", "South Wales": "SWA",
    "South Yorkshire": "SYK", "Staffordshire": "STF", "Suffolk": "SFK", "Surrey": "SRY",
    "Sussex": "SSX", "Thames Valley": "TVP", "Warwickshire": "WAR", "West Mercia": "WMC",
    "West Midlands": "WMP", "West Yorkshire": "WYK", "Wiltshire": "WIL",
}  # fmt: skip


def read_inputs(data: Path) -> tuple[list[str], int, int]:
    with (data / "cchi-derived" / "cchi_weights_by_force_category.csv").open() as fh:
        names = sorted({row["force"] for row in csv.DictReader(fh)})
    with (data / "cchi-derived" / "cchi_weights.csv").open() as fh:
        total = sum(int(row["national_count_2024_25"]) for row in csv.DictReader(fh))
    cambs = 0
    for path in sorted((data / "cambs-2024" / "street").glob("*.csv")):
        with path.open(encoding="utf-8-sig") as fh:
            cambs += sum(
                1 for row in csv.DictReader(fh) if row["Crime type"] != "Anti-social behaviour"
            )
    return names, total, cambs


def sizes(names: list[str], total: int, cambs: int) -> dict[str, int]:
    r = random.Random(SEED)
    others = [n for n in names if n != REAL]
    draws = sorted(math.exp(r.gauss(0.0, 0.7)) for _ in others)
    middle = [n for n in others if n not in (LARGEST, SMALLEST)]
    r.shuffle(middle)
    order = [SMALLEST, *middle, LARGEST]
    rest = total - cambs
    scale = rest / sum(draws)
    out = {n: round(d * scale) for n, d in zip(order, draws, strict=True)}
    out[LARGEST] += rest - sum(out.values())  # the rounding, so the total holds exactly
    out[REAL] = cambs
    return out


def peers(size: dict[str, int]) -> dict[str, list[str]]:
    log = {n: math.log(v) for n, v in size.items()}
    return {
        n: sorted((m for m in size if m != n), key=lambda m: (abs(log[m] - log[n]), m))[:PEERS]
        for n in size
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    names, total, cambs = read_inputs(args.data)
    if sorted(CODES) != names:
        raise SystemExit(
            f"force names differ from the codes table: {sorted(set(names) ^ set(CODES))}"
        )
    size = sizes(names, total, cambs)
    near = peers(size)
    doc = {
        "version": 1,
        "source": {
            "forces": "the 43 territorial forces of England and Wales, named as in "
            "../shared/data/cchi-derived/cchi_weights_by_force_category.csv",
            "national_total": f"{total}: Home Office, Police recorded crime, PFA open data tables, "
            "year ending March 2025 (sum of national_count_2024_25 in "
            "../shared/data/cchi-derived/cchi_weights.csv); Open Government Licence v3.0",
            "real": f"{REAL}: data.police.uk street-level crimes, January-December 2024 "
            "(../shared/data/cambs-2024, every row but anti-social behaviour); Open Government "
            "Licence v3.0",
            "synthetic": "every other size: a seeded log-normal draw (sigma 0.7), the largest "
            f"given to {LARGEST} and the smallest to {SMALLEST}, scaled so the 43 sizes add up "
            "to the national total; NOT a real force's volume",
            "peers": f"the {PEERS} forces nearest in log size in this table; derived, NOT the "
            "HMICFRS most similar forces groups (which could not be read here)",
            "generated_by": "scripts/derive_force_sizes.py",
        },
        "national_total": total,
        "forces": [
            {
                "force": n,
                "code": CODES[n],
                "crimes_per_year": size[n],
                "size_source": "real" if n == REAL else "synthetic",
                "peers": [CODES[m] for m in near[n]],
            }
            for n in names
        ],
    }
    header = (
        "# The national synthetic year's forces: id prefix, crimes a year and peer group.\n"
        "# GENERATED by scripts/derive_force_sizes.py -- do not edit by hand. See `source` for\n"
        "# where each figure comes from: only Cambridgeshire's size is real.\n"
    )
    args.out.write_text(header + yaml.safe_dump(doc, sort_keys=False, width=100), "utf-8")
    print(f"wrote {args.out}: {len(names)} forces, {total:,} crimes ({REAL} real: {cambs:,})")


if __name__ == "__main__":
    main()
