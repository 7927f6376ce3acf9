"""The disagreement queue of a report, one disagreement side by side, and its settling and talk."""

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Least, Substr
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from config.htmx import render_page
from fieldnotes.models import Fieldnote
from projects.access import can, get_disagreement_for, get_report_for

from . import adjudication
from .models import Code, CodingRound, Disagreement, DisagreementComment

PAGE_SIZE = 50
SNIPPET = 160  # characters of each span shown in the queue
CONTEXT = 240  # characters of text shown either side of the spans
WORD_REACH = 30  # how far a cut moves to fall between words
QUEUE_ORDER = (
    "fieldnote__meeting__starts_at",
    "fieldnote__title",
    "fieldnote_id",
    "first_start",
    "first_end",
    "pk",
)
STATUSES = {"open": "Open", "settled": "Settled", "all": "All"}


def _number(value):
    return int(value) if value and value.isdecimal() else None


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters, read from the address and carried from one disagreement to the next."""

    code: int | None = None
    fieldnote: int | None = None
    coder: int | None = None
    status: str = "open"

    @classmethod
    def from_query(cls, data):
        status = data.get("status", "open")
        return cls(
            code=_number(data.get("code")),
            fieldnote=_number(data.get("fieldnote")),
            coder=_number(data.get("coder")),
            status=status if status in STATUSES else "open",
        )

    def apply(self, disagreements):
        """Every filter but the status, which the counts need left out."""
        if self.code is not None:
            disagreements = disagreements.filter(code_id=self.code)
        if self.fieldnote is not None:
            disagreements = disagreements.filter(fieldnote_id=self.fieldnote)
        if self.coder is not None:
            disagreements = disagreements.filter(
                Q(first_coder_id=self.coder) | Q(second_coder_id=self.coder)
            )
        return disagreements

    def with_status(self, disagreements):
        if self.status == "open":
            return disagreements.filter(resolution="")
        if self.status == "settled":
            return disagreements.exclude(resolution="")
        return disagreements

    def query(self) -> str:
        pairs = [(name, getattr(self, name)) for name in ("code", "fieldnote", "coder")]
        pairs = [(name, value) for name, value in pairs if value is not None]
        if self.status != "open":
            pairs.append(("status", self.status))
        return urlencode(pairs)


def _hidden_fieldnotes(project):
    return CodingRound.objects.filter(
        project=project, blind=True, state=CodingRound.State.OPEN, fieldnotes__isnull=False
    ).values("fieldnotes")


def _visible(report, user):
    """The report's disagreements `user` may discuss: all for a PI; for a coder, their own, and
    none on a fieldnote a blind round still hides."""
    disagreements = Disagreement.objects.filter(report=report)
    if report.project.role == "pi":
        return disagreements
    return disagreements.filter(Q(first_coder=user) | Q(second_coder=user)).exclude(
        fieldnote__in=_hidden_fieldnotes(report.project)
    )


def _queue_report(request, project_id, report_id):
    report = get_report_for(request.user, project_id, report_id, need="discuss_disagreements")
    if report.project.role != "pi" and report.coding_round and report.coding_round.hides_work:
        raise PermissionDenied(
            "This round is blind until the PI reveals it, so its disagreements stay hidden."
        )
    return report


def _snippet(start, end):
    return Substr("fieldnote__text", F(start) + 1, Least(F(end) - F(start), Value(SNIPPET)))


def _rows(disagreements):
    comments = (
        DisagreementComment.objects.filter(disagreement=OuterRef("pk"))
        .values("disagreement")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        disagreements.select_related(
            "fieldnote__observer", "code", "first_coder", "second_coder", "resolved_by"
        )
        # A fieldnote's text can run to a book's length: the queue reads only the spans.
        .defer("fieldnote__text")
        .annotate(
            first_text=_snippet("first_start", "first_end"),
            second_text=_snippet("second_start", "second_end"),
            comment_count=Coalesce(Subquery(comments, output_field=IntegerField()), 0),
        )
        .order_by(*QUEUE_ORDER)
    )


def _choices(disagreements):
    User = get_user_model()
    coders = User.objects.filter(
        Q(pk__in=disagreements.values("first_coder_id"))
        | Q(pk__in=disagreements.values("second_coder_id"))
    ).order_by("first_name", "last_name", "username")
    fieldnotes = (
        Fieldnote.objects.filter(pk__in=disagreements.values("fieldnote_id"))
        .select_related("observer")
        .only("pk", "title", "version", "observer__name")
        .order_by("meeting__starts_at", "title", "pk")
    )
    codes = Code.objects.filter(pk__in=disagreements.values("code_id")).order_by("name", "pk")
    return {
        "codes": [(code.pk, code.name) for code in codes],
        "fieldnotes": [(each.pk, f"{each.title} · {each.observer.name}") for each in fieldnotes],
        "coders": [(user.pk, person(user)) for user in coders],
    }


def _page(disagreements, number):
    page = Paginator(_rows(disagreements), PAGE_SIZE).get_page(number)
    page.object_list = list(page.object_list)
    for item in page.object_list:
        item.first_cut = item.first_end - item.first_start > SNIPPET
        item.second_cut = (
            item.second_start is not None and item.second_end - item.second_start > SNIPPET
        )
    return page


def person(user) -> str:
    if user is None:
        return "A former member"
    return user.get_full_name() or user.username


@require_GET
def queue(request, project_id, report_id):
    report = _queue_report(request, project_id, report_id)
    filters = QueueFilters.from_query(request.GET)
    filtered = filters.apply(_visible(report, request.user))
    counts = filtered.aggregate(
        open=Count("pk", filter=Q(resolution="")), settled=Count("pk", filter=~Q(resolution=""))
    )
    context = {
        "project": report.project,
        "section": "home",
        "report": report,
        "filters": filters,
        "statuses": STATUSES,
        "counts": counts,
        "choices": _choices(_visible(report, request.user)),
        "page": _page(filters.with_status(filtered), request.GET.get("page")),
        "is_pi": report.project.role == "pi",
    }
    return render_page(request, "coding/adjudication/queue.html", context, fragment="queue")


@dataclass
class Panel:
    """The stretch of text around both spans, with one coder's span marked."""

    label: str
    coder: str
    start: int
    end: int
    before: str
    marked: str
    after: str
    cut_before: bool
    cut_after: bool


def _panels(disagreement) -> list[Panel]:
    text = disagreement.fieldnote.text
    spans = [("A", disagreement.first_coder, disagreement.first_start, disagreement.first_end)]
    if disagreement.second_start is not None:
        spans.append(
            ("B", disagreement.second_coder, disagreement.second_start, disagreement.second_end)
        )
    lo = _word_start(text, max(0, min(s for _, _, s, _ in spans) - CONTEXT))
    hi = _word_end(text, min(len(text), max(e for _, _, _, e in spans) + CONTEXT))
    return [
        Panel(
            label=label,
            coder=person(coder),
            start=start,
            end=end,
            before=text[lo:start],
            marked=text[start:end],
            after=text[end:hi],
            cut_before=lo > 0,
            cut_after=hi < len(text),
        )
        for label, coder, start, end in spans
    ]


def _word_start(text, at):
    """Moves a cut back to the start of its word, so context never opens mid-word; a script
    written without spaces is cut where it is."""
    cut = at
    while at > 0 and cut - at < WORD_REACH and not text[at - 1].isspace():
        at -= 1
    return at if at == 0 or text[at - 1].isspace() else cut


def _word_end(text, at):
    cut = at
    while at < len(text) and at - cut < WORD_REACH and not text[at].isspace():
        at += 1
    return at if at == len(text) or text[at].isspace() else cut


@dataclass
class Choice:
    value: str
    label: str
    span: tuple[int, int] | None = None
    text: str = ""
    refused: str = ""


def _decisions(disagreement) -> list[Choice]:
    """Each decision with the span it would give, or why it cannot be taken here."""
    text = disagreement.fieldnote.text
    choices = []
    for value, label in Disagreement.Resolution.choices:
        choice = Choice(value, "Edit the span" if value == Disagreement.Resolution.EDIT else label)
        if value != Disagreement.Resolution.EDIT:
            try:
                choice.span = adjudication.span_for(disagreement, value)
            except ValidationError as error:
                choice.refused = error.messages[0]
            if choice.span:
                choice.text = text[choice.span[0] : choice.span[1]]
        choices.append(choice)
    return choices


@dataclass
class Neighbours:
    previous: int | None = None
    next: int | None = None
    position: int | None = None
    open_count: int = 0
    ids: list = field(default_factory=list)


def _neighbours(disagreement, user, filters) -> Neighbours:
    """The open disagreements before and after this one in the queue as it was filtered."""
    rows = list(
        filters.apply(_visible(disagreement.report, user))
        .order_by(*QUEUE_ORDER)
        .values_list("pk", "resolution")
    )
    found = Neighbours(open_count=sum(1 for _, resolution in rows if not resolution))
    ids = [pk for pk, _ in rows]
    if disagreement.pk not in ids:
        return found
    here = ids.index(disagreement.pk)
    before = [pk for pk, resolution in rows[:here] if not resolution]
    after = [pk for pk, resolution in rows[here + 1 :] if not resolution]
    found.previous = before[-1] if before else None
    found.next = after[0] if after else None
    found.position = here + 1
    return found


def _get_disagreement(request, project_id, disagreement_id, need="discuss_disagreements"):
    # The helper applies the blind-round rule, for this round and any other holding the note.
    return get_disagreement_for(request.user, project_id, disagreement_id, need=need)


def _disagreement_page(request, disagreement, *, status=200, form=None, comment=None):
    project = disagreement.report.project
    filters = QueueFilters.from_query(request.GET if request.method == "GET" else request.POST)
    # The edit fields start from the union, or from the span an earlier edit chose.
    start, end = adjudication.span_for(disagreement, Disagreement.Resolution.UNION)
    made = disagreement.consensus_excerpt
    if disagreement.resolution == Disagreement.Resolution.EDIT and made is not None:
        start, end = made.start, made.end
    context = {
        "project": project,
        "section": "home",
        "report": disagreement.report,
        "disagreement": disagreement,
        "code": disagreement.code,
        "panels": _panels(disagreement),
        "decisions": _decisions(disagreement),
        "decision_by": person(disagreement.resolved_by),
        "consensus_excerpt": disagreement.consensus_excerpt,
        "can_adjudicate": can(project.role, "adjudicate"),
        "filters": filters,
        "neighbours": _neighbours(disagreement, request.user, filters),
        "comments": disagreement.comments.select_related("author"),
        "form": form or {"resolution": disagreement.resolution, "start": start, "end": end},
        "comment": comment or {},
        "max_comment": adjudication.COMMENT_MAX_LENGTH,
    }
    return render_page(request, "coding/adjudication/disagreement.html", context, status=status)


@require_GET
def disagreement(request, project_id, disagreement_id):
    found = _get_disagreement(request, project_id, disagreement_id)
    return _disagreement_page(request, found)


def _go(request, url):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _here(disagreement, filters, pk=None):
    url = reverse(
        "adjudication:disagreement", args=[disagreement.report.project_id, pk or disagreement.pk]
    )
    query = filters.query()
    return f"{url}?{query}" if query else url


@require_POST
def resolve(request, project_id, disagreement_id):
    found = _get_disagreement(request, project_id, disagreement_id, need="adjudicate")
    data = request.POST
    form = {key: data.get(key, "") for key in ("resolution", "start", "end", "note")}
    try:
        start, end = _offset(form["start"], "start"), _offset(form["end"], "end")
        settled = adjudication.resolve(
            disagreement=found,
            resolution=form["resolution"],
            user=request.user,
            start=start if form["resolution"] == "edit" else None,
            end=end if form["resolution"] == "edit" else None,
            note=form["note"],
        )
    except ValidationError as error:
        form["error"] = error.messages[0]
        return _disagreement_page(request, found, status=400, form=form)
    messages.success(request, f"Settled: {settled.get_resolution_display()}.")
    filters = QueueFilters.from_query(data)
    following = _neighbours(found, request.user, filters).next
    if data.get("then") == "next" and following:
        return _go(request, _here(settled, filters, following))
    return _go(request, _here(settled, filters))


def _offset(value, name):
    value = value.strip()
    if not value:
        return None
    if not value.isdecimal():
        raise ValidationError(f"The {name} must be a whole number of characters, like 120.")
    return int(value)


@require_POST
def reopen(request, project_id, disagreement_id):
    found = _get_disagreement(request, project_id, disagreement_id, need="adjudicate")
    try:
        adjudication.reopen(disagreement=found, user=request.user)
    except ValidationError as error:
        messages.info(request, error.messages[0])
    else:
        messages.success(request, "Reopened. The consensus coding it made has been taken back.")
    return _go(request, _here(found, QueueFilters.from_query(request.POST)))


@require_POST
def comment(request, project_id, disagreement_id):
    found = _get_disagreement(request, project_id, disagreement_id)
    text = request.POST.get("text", "")
    try:
        adjudication.add_comment(disagreement=found, user=request.user, text=text)
    except ValidationError as error:
        entered = {"text": text, "error": error.messages[0]}
        if request.htmx:
            return _thread(request, found, entered, status=400)
        return _disagreement_page(request, found, status=400, comment=entered)
    if request.htmx:
        return _thread(request, found, {})
    return redirect(f"{_here(found, QueueFilters.from_query(request.POST))}#discussion")


def _thread(request, disagreement, comment, status=200):
    context = {
        "project": disagreement.report.project,
        "disagreement": disagreement,
        "comments": disagreement.comments.select_related("author"),
        "comment": comment,
        "filters": QueueFilters.from_query(request.POST),
        "max_comment": adjudication.COMMENT_MAX_LENGTH,
    }
    return render_page(
        request,
        "coding/adjudication/disagreement.html",
        context,
        fragment="discussion",
        status=status,
    )
