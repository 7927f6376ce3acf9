"""Search across a project, and the project's memos."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from config.htmx import render_page
from projects.access import can, get_project_for
from projects.forms import PlainLabelsMixin
from projects.models import Role

from .models import ProjectMemo
from .search import QueryTooLong, search_project

# Memos are for researchers, like the fieldnotes they discuss; lay members are refused.
MEMOS = "read_fieldnotes"
CONFLICT = (
    "Someone saved this memo after you opened it. Their version is shown below and your text "
    "is still in the form: combine the two, then save again."
)


class MemoForm(PlainLabelsMixin, forms.ModelForm):
    class Meta:
        model = ProjectMemo
        fields = ["title", "text"]
        labels = {"text": "Memo"}
        widgets = {"text": forms.Textarea(attrs={"rows": 12})}


@require_GET
def search(request, project_id):
    project = get_project_for(request.user, project_id, need="read_fieldnotes")
    query = request.GET.get("q", "").strip()
    context = {"project": project, "section": "search", "query": query, "results": None}
    status = 200
    if query:
        try:
            context["results"] = search_project(project=project, user=request.user, query=query)
        except QueryTooLong as error:
            context["error"] = str(error)
            status = 400
    return render_page(request, "coding/search.html", context, fragment="results", status=status)


def _get_memo_for(user, project_id, memo_id):
    project = get_project_for(user, project_id)
    memo = ProjectMemo.objects.select_related("author").filter(project=project, pk=memo_id).first()
    if memo is None:
        raise Http404("No such memo.")
    if not can(project.role, MEMOS):
        raise PermissionDenied("Memos are for the research team.")
    memo.project = project
    memo.editable = memo.author_id == user.pk or project.role == Role.PI
    return memo


def _go(request, url):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_http_methods(["GET", "POST"])
def memos(request, project_id):
    project = get_project_for(request.user, project_id, need=MEMOS)
    form = MemoForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        memo = form.save(commit=False)
        memo.project = project
        memo.author = request.user
        memo.save()
        messages.success(request, f"Saved the memo “{memo.title}”.")
        return _go(request, f"{reverse('search:memos', args=[project.pk])}#memo-{memo.pk}")
    context = {
        "project": project,
        "section": "memos",
        "memos": project.memos.select_related("author"),
        "form": form,
    }
    status = 400 if request.method == "POST" else 200
    return render_page(request, "coding/memos.html", context, status=status)


@require_http_methods(["GET", "POST"])
def memo(request, project_id, memo_id):
    memo = _get_memo_for(request.user, project_id, memo_id)
    if request.method == "GET":
        form = MemoForm(instance=memo) if memo.editable else None
        return _memo_page(request, memo, form)
    if not memo.editable:
        raise PermissionDenied("Only the memo's author or a PI may change it.")
    form = MemoForm(request.POST, instance=ProjectMemo.objects.get(pk=memo.pk))
    # The form carries the version it was opened on; a later save by someone else is not
    # overwritten unseen.
    seen = request.POST.get("seen")
    if seen and seen != memo.updated_at.isoformat():
        form.is_valid()
        form.add_error(None, CONFLICT)
        return _memo_page(request, memo, form, status=409, conflict=True)
    if form.is_valid():
        form.save()
        messages.success(request, "Saved.")
        return _go(request, reverse("search:memo", args=[project_id, memo.pk]))
    return _memo_page(request, memo, form, status=400)


def _memo_page(request, memo, form, *, status=200, conflict=False):
    context = {
        "project": memo.project,
        "section": "memos",
        "memo": memo,
        "form": form,
        "conflict": conflict,
    }
    return render_page(request, "coding/memo.html", context, status=status)


@require_POST
def memo_delete(request, project_id, memo_id):
    memo = _get_memo_for(request.user, project_id, memo_id)
    if not memo.editable:
        raise PermissionDenied("Only the memo's author or a PI may delete it.")
    memo.delete()
    messages.success(request, f"Deleted the memo “{memo.title}”.")
    return _go(request, reverse("search:memos", args=[project_id]))
