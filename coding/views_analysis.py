"""Retrieval (every excerpt of a code, in context) and co-occurrence of codes."""

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from config.htmx import render_page
from fieldnotes.models import Fieldnote
from projects.access import get_code_for, get_project_for

from . import analysis
from .models import Code

PAGE_SIZE = 100


@dataclass
class Retrieval:
    code: Code
    codes: dict[int, Code]
    code_ids: set[int]
    include_children: bool
    filters: analysis.Filters
    hits: list[analysis.Hit]

    @property
    def project(self):
        return self.code.codebook.project

    def paths(self) -> dict[int, str]:
        return analysis.code_paths((c.pk, c.parent_id, c.name) for c in self.codes.values())


def _retrieve(request, project_id, code_id) -> Retrieval:
    code = get_code_for(request.user, project_id, code_id, need="view_codebook")
    codes = {each.pk: each for each in code.codebook.tree(include_archived=True)}
    # A folder carries no excerpts of its own: its page is always about the codes inside it.
    include_children = request.GET.get("children") == "1" or not code.is_codable
    code_ids = {code.pk}
    if include_children:
        code_ids = analysis.subtree({pk: each.parent_id for pk, each in codes.items()}, code.pk)
    filters = analysis.Filters.from_query(request.GET)
    hits = analysis.find_excerpts(
        user=request.user,
        project=code.codebook.project,
        codes=codes,
        code_ids=code_ids,
        filters=filters,
    )
    return Retrieval(code, codes, code_ids, include_children, filters, hits)


@require_GET
def retrieval(request, project_id, code_id):
    found = _retrieve(request, project_id, code_id)
    page = Paginator(found.hits, PAGE_SIZE).get_page(request.GET.get("page"))
    analysis.add_context(page.object_list)
    fieldnote_title = None
    if found.filters.fieldnote is not None:
        fieldnote = Fieldnote.objects.in_project(found.project).filter(pk=found.filters.fieldnote)
        fieldnote_title = fieldnote.values_list("title", flat=True).first()
    context = {
        "project": found.project,
        "section": "codebook",
        "code": found.code,
        "code_path": found.paths()[found.code.pk],
        "include_children": found.include_children,
        "filters": found.filters,
        "with_code": found.codes.get(found.filters.with_code),
        "fieldnote_title": fieldnote_title,
        "choices": analysis.filter_choices(user=request.user, project=found.project),
        "page": page,
        "hits": page.object_list,
    }
    return render_page(request, "coding/retrieval.html", context, fragment="results")


@require_GET
def retrieval_csv(request, project_id, code_id):
    found = _retrieve(request, project_id, code_id)
    analysis.add_context(found.hits, width=0)
    data = analysis.excerpts_csv(found.hits, paths=found.paths(), code_ids=found.code_ids)
    name = slugify(f"{found.project.name} {found.code.name}") or "code"
    response = HttpResponse(data.encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-excerpts.csv"'
    return response


@require_GET
def cooccurrence(request, project_id):
    project = get_project_for(request.user, project_id, need="view_codebook")
    query = analysis.Filters.from_query(request.GET)
    # This page filters by meeting, observer and coder; its cells link to narrower retrievals.
    filters = analysis.Filters(meeting=query.meeting, observer=query.observer, coder=query.coder)
    context = {
        "project": project,
        "section": "codebook",
        "filters": filters,
        "choices": analysis.filter_choices(user=request.user, project=project),
        "result": analysis.cooccurrence(user=request.user, project=project, filters=filters),
    }
    return render_page(request, "coding/cooccurrence.html", context, fragment="results")
