"""Inter-coder agreement statistics: a plain package with no Django imports.

Contingency-table coefficients (`tables`), Fleiss' kappa (`fleiss`), Krippendorff's alpha for
reliability data (`alpha`), his unitizing alpha over a continuum (`unitizing`), character-level
agreement from span boundaries (`characters`) and MAXQDA-style segment matching (`segments`).

An undefined coefficient (no variation, one coder, nothing coded) is `None`, never NaN and never
an exception; bad input (a zero-length or out-of-range span, a table that is not square) raises
`ValueError` naming the problem.
"""

from .alpha import krippendorff_alpha
from .characters import CharacterResult, character_agreement
from .fleiss import fleiss_kappa
from .segments import SegmentResult, segment_agreement
from .tables import brennan_prediger, cohen_kappa, gwet_ac1, percent_agreement
from .unitizing import UnitizingResult, unitizing_alpha

__all__ = [
    "CharacterResult",
    "SegmentResult",
    "UnitizingResult",
    "brennan_prediger",
    "character_agreement",
    "cohen_kappa",
    "fleiss_kappa",
    "gwet_ac1",
    "krippendorff_alpha",
    "percent_agreement",
    "segment_agreement",
    "unitizing_alpha",
]
