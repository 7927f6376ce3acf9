"""Workflows on a project's codebook: editing, moving, archiving, merging, splitting, versions,
starter templates, and exchange. Each is one transaction and leaves a CodeChange behind."""

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from .models import Code, CodebookVersion, CodeChange, ExcerptCode

STARTERS_DIR = Path(__file__).resolve().parent / "starters"
STARTERS = {
    "what-meetings-do": "What meetings do (the demo study's codebook)",
    "empty": "Empty",
}
EDITABLE_FIELDS = [
    "name",
    "definition",
    "inclusion",
    "exclusion",
    "example",
    "colour",
    "shortcut",
    "is_codable",
]
CSV_COLUMNS = ["path", "name", "definition", "inclusion", "exclusion", "example", "colour", "guid"]
# Colours with at least 3:1 contrast against white (WCAG 2.1 for graphics), distinct in hue.
PALETTE = [
    "#1d5c8a",
    "#1e6b3a",
    "#b35c00",
    "#a4262c",
    "#00758f",
    "#5b4fb0",
    "#2f6f62",
    "#8e3b8e",
    "#4a5a8a",
    "#7a4a2a",
    "#6b5b00",
    "#55606e",
]


def _state(code: Code) -> dict:
    return {
        "name": code.name,
        "parent": str(code.parent.guid) if code.parent_id else None,
        "definition": code.definition,
        "inclusion": code.inclusion,
        "exclusion": code.exclusion,
        "example": code.example,
        "colour": code.colour,
        "shortcut": code.shortcut,
        "is_codable": code.is_codable,
        "archived": code.archived,
        "position": code.position,
    }


def _record(*, code, user, action, summary, before=None, after=None, codebook=None):
    return CodeChange.objects.create(
        codebook=codebook or code.codebook,
        code=code,
        user=user,
        action=action,
        summary=summary[:500],
        before=before,
        after=after,
    )


def _next_position(codebook, parent) -> int:
    siblings = Code.objects.filter(codebook=codebook, parent=parent)
    return (siblings.aggregate(top=Max("position"))["top"] or 0) + 1 if siblings.exists() else 0


def _check_shortcut(codebook, shortcut: str, code: Code | None = None) -> None:
    if not shortcut:
        return
    clash = Code.objects.filter(codebook=codebook, shortcut=shortcut, archived=False)
    if code is not None:
        clash = clash.exclude(pk=code.pk)
    other = clash.first()
    if other:
        raise ValidationError(
            {"shortcut": f"The shortcut {shortcut} already belongs to {other.name!r}."}
        )


def _check_name(codebook, parent: Code | None, name: str, code: Code | None = None) -> None:
    twins = Code.objects.filter(codebook=codebook, parent=parent, name__iexact=name, archived=False)
    if code is not None:
        twins = twins.exclude(pk=code.pk)
    if twins.exists():
        where = f"under {parent.name!r}" if parent else "at the top level"
        raise ValidationError({"name": f"There is already a code called {name!r} {where}."})


def _check_parent(codebook, parent: Code | None, code: Code | None = None) -> None:
    if parent is None:
        return
    if parent.codebook_id != codebook.pk:
        raise ValidationError({"parent": "The parent code belongs to another codebook."})
    ancestor = parent
    while ancestor is not None:
        if code is not None and ancestor.pk == code.pk:
            raise ValidationError(
                {"parent": "A code cannot sit inside itself or its own child codes."}
            )
        ancestor = ancestor.parent


@transaction.atomic
def add_code(*, codebook, user, name: str, parent: Code | None = None, **fields) -> Code:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the code a name."})
    _check_parent(codebook, parent)
    _check_name(codebook, parent, name, None)
    _check_shortcut(codebook, fields.get("shortcut", ""))
    if "colour" not in fields:
        fields["colour"] = PALETTE[codebook.codes.count() % len(PALETTE)]
    code = Code(
        codebook=codebook,
        parent=parent,
        name=name,
        position=_next_position(codebook, parent),
        **fields,
    )
    code.full_clean()
    code.save()
    _record(
        code=code,
        user=user,
        action=CodeChange.Action.CREATED,
        summary=f"Added {code.name!r}",
        after=_state(code),
    )
    return code


@transaction.atomic
def update_code(*, code: Code, user, **fields) -> Code:
    """Changes the given fields; records what each was before and after."""
    code = Code.objects.select_for_update().get(pk=code.pk)
    before = _state(code)
    if "name" in fields:
        fields["name"] = fields["name"].strip()
        _check_name(code.codebook, code.parent, fields["name"], code)
    if "shortcut" in fields:
        _check_shortcut(code.codebook, fields["shortcut"], code)
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"{name} cannot be edited this way")
        setattr(code, name, value)
    code.full_clean()
    after = _state(code)
    changed = {key for key in after if after[key] != before[key]}
    if not changed:
        return code
    code.save()
    _record(
        code=code,
        user=user,
        action=CodeChange.Action.UPDATED,
        summary=f"Edited {code.name!r}: {', '.join(sorted(changed))}",
        before={key: before[key] for key in sorted(changed)},
        after={key: after[key] for key in sorted(changed)},
    )
    return code


@transaction.atomic
def move_code(*, code: Code, user, parent: Code | None, position: int | None = None) -> Code:
    """Puts a code under `parent` (None: at the top) at `position` among its new siblings."""
    code = Code.objects.select_for_update().get(pk=code.pk)
    _check_parent(code.codebook, parent, code)
    if parent != code.parent:
        _check_name(code.codebook, parent, code.name, code)
    before = _state(code)
    siblings = list(
        Code.objects.filter(codebook=code.codebook, parent=parent)
        .exclude(pk=code.pk)
        .order_by("position", "name", "pk")
    )
    index = len(siblings) if position is None else max(0, min(position, len(siblings)))
    siblings.insert(index, code)
    code.parent = parent
    for number, sibling in enumerate(siblings):
        sibling.position = number
    Code.objects.bulk_update(siblings, ["position"])
    code.save(update_fields=["parent", "position", "updated_at"])
    where = f"under {parent.name!r}" if parent else "to the top level"
    _record(
        code=code,
        user=user,
        action=CodeChange.Action.MOVED,
        summary=f"Moved {code.name!r} {where}, position {index + 1}",
        before={"parent": before["parent"], "position": before["position"]},
        after={"parent": str(parent.guid) if parent else None, "position": index},
    )
    return code


def move_by(*, code: Code, user, step: int) -> Code:
    """Up (-1) or down (+1) among its siblings: the keyboard-friendly way to reorder."""
    siblings = list(
        Code.objects.filter(codebook=code.codebook, parent=code.parent_id).order_by(
            "position", "name", "pk"
        )
    )
    index = [s.pk for s in siblings].index(code.pk)
    return move_code(code=code, user=user, parent=code.parent, position=index + step)


@transaction.atomic
def set_archived(*, code: Code, user, archived: bool) -> Code:
    code = Code.objects.select_for_update().get(pk=code.pk)
    if code.archived == archived:
        return code
    if not archived:
        _check_shortcut(code.codebook, code.shortcut, code)
    code.archived = archived
    code.save(update_fields=["archived", "updated_at"])
    _record(
        code=code,
        user=user,
        action=CodeChange.Action.ARCHIVED if archived else CodeChange.Action.RESTORED,
        summary=f"{'Archived' if archived else 'Restored'} {code.name!r}",
        before={"archived": not archived},
        after={"archived": archived},
    )
    return code


@dataclass
class MergePreview:
    moves: int  # excerpts that will carry the target instead of the source
    both: int  # excerpts that already carry both: the source is simply removed from them
    children: int  # child codes that move under the target


def merge_preview(source: Code, target: Code) -> MergePreview:
    _check_merge(source, target)
    source_excerpts = set(
        ExcerptCode.objects.filter(code=source).values_list("excerpt_id", flat=True)
    )
    target_excerpts = set(
        ExcerptCode.objects.filter(code=target).values_list("excerpt_id", flat=True)
    )
    both = len(source_excerpts & target_excerpts)
    return MergePreview(
        moves=len(source_excerpts) - both, both=both, children=source.children.count()
    )


def _check_merge(source: Code, target: Code) -> None:
    if source.pk == target.pk:
        raise ValidationError("Choose a different code to merge into.")
    if source.codebook_id != target.codebook_id:
        raise ValidationError("Codes can be merged only within one codebook.")
    if target.archived:
        raise ValidationError(f"{target.name!r} is archived; restore it before merging into it.")
    ancestor = target.parent
    while ancestor is not None:
        if ancestor.pk == source.pk:
            raise ValidationError(
                f"{target.name!r} sits inside {source.name!r}; it cannot absorb its own parent."
            )
        ancestor = ancestor.parent


@transaction.atomic
def merge_codes(*, source: Code, target: Code, user) -> MergePreview:
    """Moves every excerpt of `source` to `target`, without duplicates; `source` is archived and
    remembers where it went, its child codes move under `target`."""
    source = Code.objects.select_for_update().get(pk=source.pk)
    target = Code.objects.select_for_update().get(pk=target.pk)
    preview = merge_preview(source, target)
    target_excerpts = ExcerptCode.objects.filter(code=target).values("excerpt_id")
    ExcerptCode.objects.filter(code=source, excerpt_id__in=target_excerpts).delete()
    ExcerptCode.objects.filter(code=source).update(code=target)
    for child in source.children.order_by("position", "pk"):
        child.parent = target
        child.position = _next_position(target.codebook, target)
        child.save(update_fields=["parent", "position", "updated_at"])
    source.archived = True
    source.merged_into = target
    source.shortcut = ""
    source.save(update_fields=["archived", "merged_into", "shortcut", "updated_at"])
    _record(
        code=source,
        user=user,
        action=CodeChange.Action.MERGED,
        summary=(
            f"Merged {source.name!r} into {target.name!r}: moved {preview.moves} excerpts; "
            f"{preview.both} already carried both"
        ),
        before={"code": str(source.guid), "excerpts": preview.moves + preview.both},
        after={"merged_into": str(target.guid), "moved": preview.moves, "both": preview.both},
    )
    return preview


@transaction.atomic
def split_code(*, code: Code, user, names: list[str]) -> list[Code]:
    """Creates child codes under `code`; its excerpts stay on it until recoded."""
    names = [name.strip() for name in names if name.strip()]
    if len(names) < 2:
        raise ValidationError("Give at least two names, one per line, for the codes to split into.")
    if len(set(n.lower() for n in names)) != len(names):
        raise ValidationError("The new codes need different names.")
    children = [
        add_code(codebook=code.codebook, user=user, name=name, parent=code) for name in names
    ]
    _record(
        code=code,
        user=user,
        action=CodeChange.Action.SPLIT,
        summary=f"Split {code.name!r} into {', '.join(repr(c.name) for c in children)}",
        after={"children": [str(c.guid) for c in children]},
    )
    return children


@transaction.atomic
def recode_excerpts(
    *, code: Code, user, assignments: dict[int, list[Code]], keep_parent: bool
) -> int:
    """After a split: gives each excerpt of `code` the chosen child codes. Unless `keep_parent`,
    the parent code is taken off every excerpt that received a child code."""
    allowed = {child.pk for child in code.children.all()}
    recoded = 0
    for excerpt_id, children in assignments.items():
        if not children:
            continue
        if any(child.pk not in allowed for child in children):
            raise ValidationError(
                "Excerpts can be recoded only with the split code's own child codes."
            )
        if not ExcerptCode.objects.filter(code=code, excerpt_id=excerpt_id).exists():
            raise ValidationError("That excerpt does not carry the code being split.")
        for child in children:
            ExcerptCode.objects.get_or_create(excerpt_id=excerpt_id, code=child)
        if not keep_parent:
            ExcerptCode.objects.filter(code=code, excerpt_id=excerpt_id).delete()
        recoded += 1
    if recoded:
        _record(
            code=code,
            user=user,
            action=CodeChange.Action.RECODED,
            summary=f"Recoded {recoded} excerpts of {code.name!r} with its child codes",
            after={
                "excerpts": sorted(k for k, v in assignments.items() if v),
                "kept_parent": keep_parent,
            },
        )
    return recoded


def snapshot(codebook) -> list[dict]:
    """Every code, archived ones included, as plain data."""
    return [
        {
            "guid": str(code.guid),
            "id": code.pk,
            "depth": code.depth,
            "merged_into": str(code.merged_into.guid) if code.merged_into_id else None,
            **_state(code),
        }
        for code in codebook.tree(include_archived=True)
    ]


@transaction.atomic
def label_version(*, codebook, user, label: str) -> CodebookVersion:
    label = label.strip()
    if not label:
        raise ValidationError(
            {"label": "Give the version a label, for example “v2 after pilot round”."}
        )
    number = (codebook.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    version = CodebookVersion.objects.create(
        codebook=codebook,
        number=number,
        label=label[:200],
        snapshot=snapshot(codebook),
        created_by=user,
    )
    CodeChange.objects.create(
        codebook=codebook,
        user=user,
        action=CodeChange.Action.VERSION,
        summary=f"Labelled version {number}: {label}",
    )
    return version


@transaction.atomic
def version_for_report(*, codebook, user=None) -> CodebookVersion:
    """The version a report runs on: the latest one if the codebook has not changed since, else a
    new automatic one, so that every report can say exactly which codes it used."""
    latest = codebook.versions.order_by("-number").first()
    current = snapshot(codebook)
    if latest is not None and latest.snapshot == current:
        return latest
    number = (latest.number if latest else 0) + 1
    return CodebookVersion.objects.create(
        codebook=codebook,
        number=number,
        label=f"Automatic, for a report (v{number})",
        snapshot=current,
        created_by=user,
    )


# Starter templates and exchange


@dataclass
class ImportedCode:
    """A code read from a file, before it is in the database."""

    guid: str | None
    name: str
    is_codable: bool = True
    colour: str | None = None
    definition: str = ""
    inclusion: str = ""
    exclusion: str = ""
    example: str = ""
    shortcut: str = ""
    children: list["ImportedCode"] = field(default_factory=list)


@dataclass
class ImportPlan:
    new: list[tuple[str, ImportedCode]]  # (path, code) to add
    existing: list[str]  # paths of codes already in the codebook, kept as they are
    warnings: list[str]

    @property
    def empty(self) -> bool:
        return not self.new


def _walk(codes, prefix=""):
    for code in codes:
        path = f"{prefix}/{code.name}" if prefix else code.name
        yield path, code
        yield from _walk(code.children, path)


def plan_import(*, codebook, codes: list[ImportedCode], warnings=()) -> ImportPlan:
    """What importing `codes` would do: add new codes, keep existing ones (matched by GUID, else by
    their path of names)."""
    by_guid = {str(guid) for guid in codebook.codes.values_list("guid", flat=True)}
    by_path = {code.path.lower() for code in codebook.codes.select_related("parent")}
    new, existing = [], []
    for path, code in _walk(codes):
        if (code.guid and code.guid in by_guid) or path.lower() in by_path:
            existing.append(path)
        else:
            new.append((path, code))
    return ImportPlan(new=new, existing=existing, warnings=list(warnings))


@transaction.atomic
def apply_import(*, codebook, codes: list[ImportedCode], user, source: str) -> ImportPlan:
    """Adds the new codes of `codes`, keeping every existing code as it is. One transaction."""
    plan = plan_import(codebook=codebook, codes=codes)
    new_paths = {path for path, _ in plan.new}
    used_shortcuts = set(
        codebook.codes.filter(archived=False)
        .exclude(shortcut="")
        .values_list("shortcut", flat=True)
    )
    existing_by_guid = {str(c.guid): c for c in codebook.codes.all()}
    existing_by_path = {c.path.lower(): c for c in codebook.codes.select_related("parent")}

    def place(items, parent, prefix=""):
        for item in items:
            path = f"{prefix}/{item.name}" if prefix else item.name
            if path in new_paths:
                shortcut = (
                    item.shortcut if item.shortcut and item.shortcut not in used_shortcuts else ""
                )
                used_shortcuts.add(shortcut)
                code = Code(
                    codebook=codebook,
                    parent=parent,
                    name=item.name[:200],
                    is_codable=item.is_codable,
                    colour=item.colour or PALETTE[codebook.codes.count() % len(PALETTE)],
                    definition=item.definition,
                    inclusion=item.inclusion,
                    exclusion=item.exclusion,
                    example=item.example,
                    shortcut=shortcut,
                    position=_next_position(codebook, parent),
                )
                if item.guid and item.guid not in existing_by_guid:
                    code.guid = item.guid
                code.full_clean()
                code.save()
            else:
                code = existing_by_guid.get(item.guid or "") or existing_by_path[path.lower()]
            place(item.children, code, path)

    place(codes, None)
    if plan.new:
        CodeChange.objects.create(
            codebook=codebook,
            user=user,
            action=CodeChange.Action.IMPORTED,
            summary=(
                f"Imported {len(plan.new)} codes from {source}; kept {len(plan.existing)} existing"
            ),
            after={"added": [path for path, _ in plan.new], "kept": plan.existing},
        )
    return plan


def load_starter(name: str) -> list[ImportedCode]:
    if name not in STARTERS:
        raise ValidationError(f"There is no starter codebook called {name!r}.")
    if name == "empty":
        return []
    data = json.loads((STARTERS_DIR / f"{name}.json").read_text(encoding="utf-8"))

    def build(entry):
        return ImportedCode(
            guid=entry.get("guid"),
            name=entry["name"],
            is_codable=entry.get("is_codable", True),
            colour=entry.get("colour"),
            definition=entry.get("definition", ""),
            inclusion=entry.get("inclusion", ""),
            exclusion=entry.get("exclusion", ""),
            example=entry.get("example", ""),
            shortcut=entry.get("shortcut", ""),
            children=[build(child) for child in entry.get("children", [])],
        )

    return [build(entry) for entry in data["codes"]]


def apply_starter(*, codebook, name: str, user) -> ImportPlan:
    return apply_import(
        codebook=codebook,
        codes=load_starter(name),
        user=user,
        source=f"the starter {STARTERS[name]!r}",
    )


def export_csv(codebook) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for code in codebook.tree(include_archived=False):
        writer.writerow(
            [
                code.path,
                code.name,
                code.definition,
                code.inclusion,
                code.exclusion,
                code.example,
                code.colour,
                str(code.guid),
            ]
        )
    return buffer.getvalue()


def read_csv(data: bytes) -> tuple[list[ImportedCode], list[str]]:
    """Codes from a CSV with the columns of `export_csv` (guid optional); parents from `path`."""
    from .qdc import normalise_colour, normalise_guid

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The CSV file is not UTF-8 text.") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = {"path", "name"} - set(reader.fieldnames or [])
    if missing:
        raise ValidationError(
            f"The CSV file needs the columns {', '.join(CSV_COLUMNS[:7])}; "
            f"it lacks {', '.join(sorted(missing))}."
        )
    roots: list[ImportedCode] = []
    by_path: dict[str, ImportedCode] = {}
    warnings: list[str] = []
    for number, row in enumerate(reader, start=2):
        name = (row.get("name") or "").strip()
        path = (row.get("path") or "").strip().strip("/")
        if not name:
            warnings.append(f"Line {number}: a row without a name was skipped.")
            continue
        parent_path = path.rsplit("/", 1)[0] if "/" in path else ""
        try:
            colour = normalise_colour(row.get("colour"))
        except ValueError:
            warnings.append(
                f"Line {number}: the colour {row.get('colour')!r} of {name!r} "
                "was not readable; left out."
            )
            colour = None
        guid = None
        if (row.get("guid") or "").strip():
            try:
                guid = normalise_guid(row["guid"])
            except ValueError:
                warnings.append(
                    f"Line {number}: the GUID of {name!r} was not readable; a new one is made."
                )
        code = ImportedCode(
            guid=guid,
            name=name,
            colour=colour,
            definition=(row.get("definition") or "").strip(),
            inclusion=(row.get("inclusion") or "").strip(),
            exclusion=(row.get("exclusion") or "").strip(),
            example=(row.get("example") or "").strip(),
        )
        parent = by_path.get(parent_path.lower()) if parent_path else None
        if parent_path and parent is None:
            warnings.append(
                f"Line {number}: the parent {parent_path!r} of {name!r} comes later or not "
                "at all; placed at the top."
            )
        (parent.children if parent else roots).append(code)
        by_path[(f"{parent_path}/{name}" if parent else name).lower()] = code
    return roots, warnings
