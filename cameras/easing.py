"""Easing curves: progress through a move as a function of normalised time t in [0, 1]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import CameraError

# CSS Easing Functions Level 1 keywords, as control points of cubic_bezier(x1, y1, x2, y2).
BEZIER_KEYWORDS = {
    "ease_in": (0.42, 0.0, 1.0, 1.0),
    "ease_out": (0.0, 0.0, 0.58, 1.0),
    "ease_in_out": (0.42, 0.0, 0.58, 1.0),
}
EASING_NAMES = ("linear", *BEZIER_KEYWORDS, "hold", "cubic_bezier")
_BEZIER_SAMPLES = 2049  # the curve is tabulated this finely, then inverted by interpolation


def cubic_bezier(t: np.ndarray, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    """CSS cubic-bezier timing function (W3C CSS Easing Level 1): y at x = t on the curve (0,0), P1, P2, (1,1)."""
    s = np.linspace(0.0, 1.0, _BEZIER_SAMPLES)
    x = 3 * (1 - s) ** 2 * s * x1 + 3 * (1 - s) * s**2 * x2 + s**3
    y = 3 * (1 - s) ** 2 * s * y1 + 3 * (1 - s) * s**2 * y2 + s**3
    return np.interp(t, x, y)  # x(s) is monotonic because x1, x2 lie in [0, 1]


@dataclass(frozen=True)
class Easing:
    """A named easing curve; call it on normalised times in [0, 1]."""

    name: str = "linear"
    params: tuple[float, ...] = ()

    def __post_init__(self):
        if self.name not in EASING_NAMES:
            raise CameraError(f"easing {self.name!r} is unknown; allowed: {', '.join(EASING_NAMES)}")
        if self.name == "cubic_bezier":
            if len(self.params) != 4:
                raise CameraError(f"easing cubic_bezier takes 4 numbers (x1, y1, x2, y2), got {len(self.params)}")
            x1, _, x2, _ = self.params
            if not (0 <= x1 <= 1 and 0 <= x2 <= 1):
                raise CameraError(f"easing cubic_bezier x1={x1:g}, x2={x2:g}: both must lie in [0, 1]")
        elif self.params:
            raise CameraError(f"easing {self.name} takes no parameters, got {len(self.params)}")

    def __call__(self, t) -> np.ndarray:
        t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
        if self.name == "linear":
            return t
        if self.name == "hold":
            return (t >= 1.0).astype(np.float64)
        return cubic_bezier(t, *(self.params or BEZIER_KEYWORDS[self.name]))

    def __str__(self) -> str:
        if self.name == "cubic_bezier":
            return f"cubic_bezier({','.join(f'{p:g}' for p in self.params)})"
        return self.name


LINEAR = Easing()
