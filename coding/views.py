from dataclasses import asdict

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.htmx import render_page
from projects.access import can, get_code_for, get_project_for

from . import codebook as books
from . import qdc
from .forms import CodeForm, ImportForm, MergeForm, SplitForm, VersionForm
from .models import Code, ExcerptCode

PAGE = "coding/codebook.html"
IMPORT_SESSION_KEY = "codebook-import"
IMPORT_MAX_BYTES = 20 * 1_048_576


def _tree_context(request, project, **extra):
    codebook = project.codebook
    query = request.GET.get("q", "").strip()
    show_archived = request.GET.get("archived") == "1"
    codes = codebook.tree(include_archived=show_archived)
    if query:
        matching = set(
            codebook.codes.filter(
                Q(name__icontains=query) | Q(definition__icontains=query)
            ).values_list("pk", flat=True)
        )
        codes = [code for code in codes if code.pk in matching]
    return {
        "project": project,
        "codebook": codebook,
        "codes": codes,
        "query": query,
        "show_archived": show_archived,
        "can_edit": can(project.role, "edit_codebook"),
        "add_form": CodeForm(codebook=codebook, prefix="new"),
        "section": "codebook",
        **extra,
    }


@require_GET
def codebook_detail(request, project_id):
    project = get_project_for(request.user, project_id, need="view_codebook")
    return render_page(request, PAGE, _tree_context(request, project), fragment="code-tree")


def _entry(request, code, *, status=200):
    project = code.codebook.project
    code.depth = len(code.path.split("/")) - 1
    context = {"project": project, "code": code, "can_edit": can(project.role, "edit_codebook")}
    return render_page(request, PAGE, context, fragment="code-entry", status=status)


def _back_to_tree(request, project, code=None):
    url = f"/projects/{project.pk}/codebook/" + (f"#code-{code.pk}" if code else "")
    if request.htmx:
        return render_page(request, PAGE, _tree_context(request, project), fragment="code-tree")
    return redirect(url)


@require_POST
def code_add(request, project_id):
    project = get_project_for(request.user, project_id, need="edit_codebook")
    form = CodeForm(request.POST, codebook=project.codebook, prefix="new")
    if form.is_valid():
        try:
            code = books.add_code(
                codebook=project.codebook,
                user=request.user,
                parent=form.cleaned_data["parent"],
                **form.code_fields(),
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Added the code {code.name}.")
            return _back_to_tree(request, project, code)
    context = _tree_context(request, project, add_form=form)
    return render_page(request, PAGE, context, fragment="add-form", status=400)


def _add_errors(form, error):
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@require_GET
def code_entry(request, project_id, code_id):
    code = get_code_for(request.user, project_id, code_id, need="view_codebook")
    if not request.htmx:
        return redirect(f"/projects/{project_id}/codebook/#code-{code.pk}")
    return _entry(request, code)


@require_http_methods(["GET", "POST"])
def code_edit(request, project_id, code_id):
    code = get_code_for(request.user, project_id, code_id)
    codebook = code.codebook
    form = CodeForm(
        request.POST if request.method == "POST" else None,
        instance=Code.objects.get(pk=code.pk),
        codebook=codebook,
        initial={"parent": code.parent},
    )
    if request.method == "POST" and form.is_valid():
        try:
            new_parent = form.cleaned_data["parent"]
            if new_parent != code.parent:
                books.move_code(code=code, user=request.user, parent=new_parent)
            code = books.update_code(code=code, user=request.user, **form.code_fields())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            if request.htmx:
                code = get_code_for(request.user, project_id, code_id, need="view_codebook")
                return _entry(request, code)
            messages.success(request, f"Saved {code.name}.")
            return redirect(f"/projects/{project_id}/codebook/#code-{code.pk}")
    context = {"project": codebook.project, "code": code, "form": form, "section": "codebook"}
    status = 400 if request.method == "POST" else 200
    return render_page(
        request, "coding/code_edit.html", context, fragment="code-form", status=status
    )


@require_POST
def code_move(request, project_id, code_id):
    code = get_code_for(request.user, project_id, code_id)
    step = -1 if request.POST.get("direction") == "up" else 1
    books.move_by(code=code, user=request.user, step=step)
    return _back_to_tree(request, code.codebook.project, code)


@require_POST
def code_archive(request, project_id, code_id):
    code = get_code_for(request.user, project_id, code_id)
    archived = request.POST.get("archived", "1") == "1"
    try:
        books.set_archived(code=code, user=request.user, archived=archived)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{'Archived' if archived else 'Restored'} {code.name}.")
    return _back_to_tree(request, code.codebook.project, code)


@require_http_methods(["GET", "POST"])
def code_merge(request, project_id, code_id):
    code = get_code_for(request.user, project_id, code_id)
    data = (
        request.POST
        if request.method == "POST"
        else (request.GET if "into" in request.GET else None)
    )
    form = MergeForm(data, source=code)
    preview = None
    if data is not None and form.is_valid():
        target = form.cleaned_data["into"]
        try:
            if request.method == "POST" and request.POST.get("confirm") == "1":
                done = books.merge_codes(source=code, target=target, user=request.user)
                messages.success(
                    request,
                    f"Merged {code.name} into {target.name}: moved {done.moves} excerpts; "
                    f"{done.both} already carried both.",
                )
                return redirect(f"/projects/{project_id}/codebook/#code-{target.pk}")
            preview = books.merge_preview(code, target)
        except ValidationError as error:
            form.add_error("into", error)
    context = {
        "project": code.codebook.project,
        "code": code,
        "form": form,
        "preview": preview,
        "section": "codebook",
    }
    return render_page(
        request, "coding/code_merge.html", context, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
def code_split(request, project_id, code_id):
    code = get_code_for(request.user, project_id, code_id)
    form = SplitForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            children = books.split_code(
                code=code, user=request.user, names=form.cleaned_data["names"]
            )
        except ValidationError as error:
            form.add_error("names", error)
        else:
            messages.success(
                request, f"Split {code.name} into {', '.join(c.name for c in children)}."
            )
            return redirect("coding:code_recode", project_id, code.pk)
    context = {"project": code.codebook.project, "code": code, "form": form, "section": "codebook"}
    return render_page(
        request, "coding/code_split.html", context, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
def code_recode(request, project_id, code_id):
    """After a split: each excerpt of the parent code, with a choice of the new child codes."""
    code = get_code_for(request.user, project_id, code_id)
    children = list(code.children.filter(archived=False).order_by("position", "pk"))
    links = (
        ExcerptCode.objects.filter(code=code)
        .select_related("excerpt__fieldnote__observer", "excerpt__coder")
        .order_by("excerpt__fieldnote_id", "excerpt__start")
    )
    excerpts = [link.excerpt for link in links]
    if request.method == "POST":
        by_pk = {child.pk: child for child in children}
        assignments = {
            excerpt.pk: [
                by_pk[int(v)]
                for v in request.POST.getlist(f"e{excerpt.pk}")
                if v.isdecimal() and int(v) in by_pk
            ]
            for excerpt in excerpts
        }
        try:
            count = books.recode_excerpts(
                code=code,
                user=request.user,
                assignments=assignments,
                keep_parent=request.POST.get("keep") == "1",
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Recoded {count} excerpts.")
            return redirect(f"/projects/{project_id}/codebook/#code-{code.pk}")
    context = {
        "project": code.codebook.project,
        "code": code,
        "children": children,
        "excerpts": excerpts,
        "section": "codebook",
    }
    return render_page(request, "coding/code_recode.html", context)


@require_http_methods(["GET", "POST"])
def history(request, project_id):
    project = get_project_for(request.user, project_id, need="view_codebook")
    codebook = project.codebook
    form = VersionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        project = get_project_for(request.user, project_id, need="edit_codebook")
        if form.is_valid():
            version = books.label_version(
                codebook=codebook, user=request.user, label=form.cleaned_data["label"]
            )
            messages.success(request, f"Labelled version {version.number}: {version.label}.")
            return redirect("coding:history", project_id)
    context = {
        "project": project,
        "changes": codebook.changes.select_related("user", "code")[:300],
        "versions": codebook.versions.select_related("created_by"),
        "form": form,
        "can_edit": can(project.role, "edit_codebook"),
        "section": "codebook",
    }
    return render_page(request, "coding/history.html", context, status=400 if form.errors else 200)


def _imported_from_qdc(codes):
    return [
        books.ImportedCode(
            guid=code.guid,
            name=code.name,
            is_codable=code.is_codable,
            colour=code.colour,
            definition=code.definition,
            inclusion=code.inclusion,
            exclusion=code.exclusion,
            example=code.example,
            children=_imported_from_qdc(code.children),
        )
        for code in codes
    ]


def _read_import(form) -> tuple[list, list[str], str]:
    upload = form.cleaned_data.get("file")
    if upload is None:
        name = form.cleaned_data["starter"]
        return books.load_starter(name), [], f"the starter {books.STARTERS[name]!r}"
    if upload.size and upload.size > IMPORT_MAX_BYTES:
        raise ValidationError(f"{upload.name}: the codebook file is larger than 20 MB.")
    data = upload.read()
    if upload.name.lower().endswith(".csv"):
        codes, warnings = books.read_csv(data)
        return codes, warnings, upload.name
    try:
        parsed = qdc.read_qdc(data)
    except qdc.QdcError as error:
        raise ValidationError(f"{upload.name}: {error}") from None
    return _imported_from_qdc(parsed.codes), parsed.warnings, upload.name


def _codes_from_session(items):
    return [
        books.ImportedCode(**{**item, "children": _codes_from_session(item["children"])})
        for item in items
    ]


@require_http_methods(["GET", "POST"])
def import_codes(request, project_id):
    project = get_project_for(request.user, project_id, need="edit_codebook")
    posted = request.method == "POST"
    form = ImportForm(request.POST if posted else None, request.FILES if posted else None)
    plan = None
    if request.method == "POST":
        if request.POST.get("confirm") == "1" and IMPORT_SESSION_KEY in request.session:
            stored = request.session.pop(IMPORT_SESSION_KEY)
            plan = books.apply_import(
                codebook=project.codebook,
                codes=_codes_from_session(stored["codes"]),
                user=request.user,
                source=stored["source"],
            )
            messages.success(
                request,
                f"Added {len(plan.new)} codes; kept {len(plan.existing)} that were already there.",
            )
            return redirect("coding:codebook", project_id)
        if form.is_valid():
            try:
                codes, warnings, source = _read_import(form)
            except ValidationError as error:
                form.add_error("file", error)
            else:
                plan = books.plan_import(codebook=project.codebook, codes=codes, warnings=warnings)
                request.session[IMPORT_SESSION_KEY] = {
                    "source": source,
                    "codes": [asdict(code) for code in codes],
                }
    context = {"project": project, "form": form, "plan": plan, "section": "codebook"}
    return render_page(request, "coding/import.html", context, status=400 if form.errors else 200)


@require_GET
def export_qdc(request, project_id):
    project = get_project_for(request.user, project_id, need="view_codebook")

    def build(code, children):
        return qdc.QdcCode(
            guid=str(code.guid),
            name=code.name,
            is_codable=code.is_codable,
            colour=code.colour,
            definition=code.definition,
            inclusion=code.inclusion,
            exclusion=code.exclusion,
            example=code.example,
            children=children,
        )

    codes = _nest(project.codebook, build)
    if not codes:
        # REFI-QDA needs at least one code in a codebook file.
        messages.error(request, "The codebook is empty, so there is nothing to export yet.")
        return redirect("coding:codebook", project_id)
    data = qdc.write_qdc(codes)
    return _download(data, f"{slugify(project.name) or 'codebook'}.qdc", "application/xml")


def _nest(codebook, build):
    """The live (not archived) codes as a tree of whatever `build(code, children)` makes."""
    codes = codebook.tree()
    children: dict = {}
    for code in codes:
        children.setdefault(code.parent_id, []).append(code)

    def make(parent_id):
        return [build(code, make(code.pk)) for code in children.get(parent_id, [])]

    return make(None)


@require_GET
def export_csv(request, project_id):
    project = get_project_for(request.user, project_id, need="view_codebook")
    data = books.export_csv(project.codebook).encode("utf-8")
    return _download(
        data, f"{slugify(project.name) or 'codebook'}-codebook.csv", "text/csv; charset=utf-8"
    )


def _download(data: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
