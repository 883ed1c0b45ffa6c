"""The seeded synthetic force, "Demoshire": a whole standard extract for demos, docs and tests.

``generate(out, seed=..., years=..., end=...)`` writes one CSV per canonical table. The volumes,
crime mix, seasonality and outcomes are calibrated on real open data (see
``definitions/synth/demoshire.yaml``); every id is pseudonymous and no file holds a name, an
address or a phone number.
"""

from vcop.synth.generate import DEFAULT_END, Progress, generate

__all__ = ["DEFAULT_END", "Progress", "generate"]
