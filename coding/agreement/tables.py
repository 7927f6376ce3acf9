"""Agreement of two coders from a square contingency table (rows: coder A, columns: coder B).

All four coefficients share the form (p_o - p_e) / (1 - p_e) and differ only in the agreement
they expect by chance, p_e:
- Cohen (1960): from each coder's own marginal distribution;
- Gwet's AC1 (2008): from the pooled category shares pi_k, p_e = sum pi_k (1 - pi_k) / (q - 1);
- Brennan and Prediger (1981): uniform chance over the q categories, p_e = 1 / q.
"""

import numpy as np


def _square(table) -> np.ndarray:
    matrix = np.asarray(table, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            f"A contingency table must be square (one row and one column per category); "
            f"got shape {matrix.shape}."
        )
    if (matrix < 0).any():
        raise ValueError("A contingency table cannot hold negative counts.")
    if not np.isfinite(matrix).all():
        raise ValueError("A contingency table holds only finite counts.")
    return matrix


def _observed(matrix: np.ndarray) -> float | None:
    total = matrix.sum()
    return None if total == 0 else float(np.trace(matrix) / total)


def _chance_corrected(observed: float | None, expected: float) -> float | None:
    if observed is None or expected >= 1:
        return None
    return float((observed - expected) / (1 - expected))


def percent_agreement(table) -> float | None:
    """The share of units both coders put in the same category; None for an empty table."""
    return _observed(_square(table))


def cohen_kappa(table) -> float | None:
    """Cohen's kappa; None when chance agreement is already perfect (both coders used one and
    the same category throughout) or the table is empty."""
    matrix = _square(table)
    total = matrix.sum()
    if total == 0:
        return None
    expected = float((matrix.sum(axis=1) * matrix.sum(axis=0)).sum() / total**2)
    return _chance_corrected(_observed(matrix), expected)


def gwet_ac1(table) -> float | None:
    """Gwet's AC1 for two coders; None for fewer than two categories or an empty table."""
    matrix = _square(table)
    total, categories = matrix.sum(), matrix.shape[0]
    if total == 0 or categories < 2:
        return None
    shares = (matrix.sum(axis=1) + matrix.sum(axis=0)) / (2 * total)
    expected = float((shares * (1 - shares)).sum() / (categories - 1))
    return _chance_corrected(_observed(matrix), expected)


def brennan_prediger(table) -> float | None:
    """Brennan and Prediger's coefficient (uniform chance agreement); None for fewer than two
    categories or an empty table."""
    matrix = _square(table)
    categories = matrix.shape[0]
    if categories < 2:
        return None
    return _chance_corrected(_observed(matrix), 1 / categories)
