"""Krippendorff's alpha for reliability data with any number of coders and missing values.

Follows Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011): the values of each
unit are paired within the unit into a coincidence matrix o_ck (a unit with m_u values adds each
ordered pair of its values with weight 1 / (m_u - 1); units with fewer than two values are not
pairable and drop out), and

    alpha = 1 - (n - 1) * sum o_ck delta2(c, k) / sum n_c n_k delta2(c, k)

with n_c the marginals of the matrix and n the number of pairable values.
"""

import math

import numpy as np

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _differences(level: str, values: list, marginals: np.ndarray) -> np.ndarray:
    """delta squared between every two of the (sorted, distinct) values."""
    if level == "nominal":
        return 1.0 - np.eye(len(values))
    numbers = np.asarray(values, dtype=float)
    if level == "interval":
        return (numbers[:, None] - numbers[None, :]) ** 2
    if level == "ratio":
        sums = numbers[:, None] + numbers[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(sums == 0, 0.0, (numbers[:, None] - numbers[None, :]) / sums)
        return ratio**2
    # ordinal: the values between c and k, counting c and k by half, measure their distance.
    below = np.cumsum(marginals)
    span = below[None, :] - below[:, None] + (marginals[:, None] - marginals[None, :]) / 2
    return span**2


def krippendorff_alpha(reliability_data, level: str = "nominal") -> float | None:
    """`reliability_data[coder][unit]`, None (or NaN) for a missing value. Nominal values may be
    any hashable; the other levels need numbers (ratio: not negative). None when alpha is
    undefined: no pairable values, or no variation at all (expected disagreement zero)."""
    if level not in LEVELS:
        raise ValueError(f"Unknown level of measurement {level!r}; choose one of {LEVELS}.")
    rows = [list(row) for row in reliability_data]
    if not rows:
        return None
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise ValueError(
            "Every coder's row must list the same units (use None for a missing value)."
        )
    present = [
        (unit, value) for row in rows for unit, value in enumerate(row) if not _missing(value)
    ]
    if not present:
        return None
    if level == "nominal":
        values = list(dict.fromkeys(value for _, value in present))
    else:
        for _, value in present:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{level.capitalize()} data must be numbers; got {value!r}.")
            if level == "ratio" and value < 0:
                raise ValueError(f"Ratio data cannot be negative; got {value!r}.")
        values = sorted(set(value for _, value in present))
    index = {value: i for i, value in enumerate(values)}
    by_unit = np.zeros((width, len(values)))
    np.add.at(
        by_unit,
        (np.array([u for u, _ in present]), np.array([index[v] for _, v in present])),
        1.0,
    )
    pairable = by_unit.sum(axis=1)
    by_unit, pairable = by_unit[pairable >= 2], pairable[pairable >= 2]
    if len(pairable) == 0:
        return None
    weighted = by_unit / (pairable - 1)[:, None]
    coincidences = weighted.T @ by_unit - np.diag(weighted.sum(axis=0))
    marginals = coincidences.sum(axis=0)
    n = marginals.sum()
    delta2 = _differences(level, values, marginals)
    expected = float((np.outer(marginals, marginals) * delta2).sum())
    if expected <= 0:
        return None
    observed = float((coincidences * delta2).sum())
    return 1.0 - (n - 1) * observed / expected
