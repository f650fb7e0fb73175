"""Small geometry helpers shared by the registry and the map analyses."""

from __future__ import annotations

import math

METRES_PER_DEGREE_LAT = 110_574.0


def degrees_for(metres: float, *, latitude: float) -> float:
    """An upper bound, in degrees, of `metres` at this latitude (for the && / ST_DWithin index prefilter)."""
    return metres / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(abs(latitude) + 1)), 0.01))
