"""Fleiss' kappa (Fleiss 1971) for any fixed number of raters per subject."""

import numpy as np


def fleiss_kappa(counts) -> float | None:
    """`counts[subject][category]` is how many raters put the subject in the category; every
    row must sum to the same number of raters. None when it is undefined: no subjects, fewer
    than two raters, or every rating in one category (no chance disagreement to correct for)."""
    matrix = np.asarray(counts, dtype=float)
    if matrix.size == 0:
        return None
    if matrix.ndim != 2:
        raise ValueError(
            "Fleiss' kappa needs a table: one row per subject, one column per category."
        )
    if (matrix < 0).any() or not np.isfinite(matrix).all():
        raise ValueError("Fleiss' kappa counts must be finite and not negative.")
    raters = matrix.sum(axis=1)
    if not np.all(raters == raters[0]):
        uneven = sorted({int(r) for r in raters})
        raise ValueError(
            f"Every subject must be rated by the same number of raters; rows sum to {uneven}."
        )
    n = raters[0]
    if n < 2:
        return None
    subjects = matrix.shape[0]
    per_subject = ((matrix**2).sum(axis=1) - n) / (n * (n - 1))
    observed = per_subject.mean()
    shares = matrix.sum(axis=0) / (subjects * n)
    expected = float((shares**2).sum())
    if expected >= 1:
        return None
    return float((observed - expected) / (1 - expected))
