"""Harm: weighting crimes by how much harm they do (ONS Crime Severity Score and the Cambridge
Crime Harm Index), per crime, per place and month, and per victim over a rolling year."""

from vcop.harm.compute import (
    HARM_INDICES,
    concentration,
    harm_by_area,
    register_crime_harm,
    victims_by_harm,
)
from vcop.harm.weights import HarmWeights, load_weights

__all__ = [
    "HARM_INDICES",
    "HarmWeights",
    "concentration",
    "harm_by_area",
    "load_weights",
    "register_crime_harm",
    "victims_by_harm",
]
