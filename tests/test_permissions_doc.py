import re
from pathlib import Path

from projects.access import PERMISSIONS

DOC = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"
ROLES = ["pi", "coder", "observer", "lay"]


def _doc_table():
    table = {}
    for line in DOC.read_text().splitlines():
        match = re.match(r"\| `(\w+)` \|(.*)\|$", line)
        if match:
            cells = [cell.strip() for cell in match.group(2).split("|")]
            table[match.group(1)] = frozenset(
                role for role, cell in zip(ROLES, cells, strict=True) if cell == "yes"
            )
    return table


def test_permissions_doc_matches_the_code():
    assert _doc_table() == PERMISSIONS
