from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Excerpt, ExcerptCode


@transaction.atomic
def create_excerpt(
    *, fieldnote, coder, start: int, end: int, codes, memo="", unsure=False
) -> Excerpt:
    """A new excerpt with its codes, all or nothing.

    Offsets are code points of the fieldnote's stored text. Folders (codes that are not codable)
    and archived codes cannot be applied.
    """
    codes = list(codes)
    if not codes:
        raise ValidationError("Choose at least one code for the excerpt.")
    for code in codes:
        if not code.is_codable:
            raise ValidationError(f"{code.name!r} is a folder and cannot be applied to text.")
        if code.archived:
            raise ValidationError(f"{code.name!r} is archived and cannot be applied to text.")
    excerpt = Excerpt(
        fieldnote=fieldnote, coder=coder, start=start, end=end, memo=memo, unsure=unsure
    )
    excerpt.check_invariants(codes=codes)
    excerpt.save()
    ExcerptCode.objects.bulk_create(ExcerptCode(excerpt=excerpt, code=code) for code in codes)
    return excerpt
