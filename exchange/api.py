"""The read-only JSON API, with its tokens.

A token is 32 random bytes (url-safe), shown to its member once; only its SHA-256 is stored. It
opens one project's API and acts as the member who made it, with their role at the time of each
request: a member removed, or moved to a role without `export_data`, loses access at once. The API
authenticates by `Authorization: Bearer <token>` only, never by the session cookie, so a page a
member has open in their browser cannot be made to read it; it is therefore exempt from the login
requirement and from CSRF checks (it answers GET only, anything else is 405).

Every endpoint reads through `exchange.tidy`, so it serves exactly the rows of the downloads, and
through `Excerpt.objects.visible_to`, so blind rounds hold here too.
"""

import secrets
import uuid
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, JsonResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from coding.models import Code, Excerpt
from fieldnotes.models import Fieldnote
from projects.access import PI, get_project_for
from projects.models import Membership

from . import tidy
from .models import ApiToken

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# last_used_at is written at most this often, so a script paging quickly does not write each time.
LAST_USED_EVERY = timedelta(minutes=1)
REALM = "Triangulate"
MAX_LABEL = 200


# ---------------------------------------------------------------------------------------------
# Tokens


@transaction.atomic
def create_token(*, project, user, label: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for `user` in `project`; returns it with the raw key, which is never stored."""
    # NUL cannot be stored in a PostgreSQL text column, and nobody types it.
    label = label.replace("\x00", "").strip()
    if not label:
        raise ValidationError("Give the token a label, such as “R scripts on my laptop”.")
    if len(label) > MAX_LABEL:
        raise ValidationError(f"Keep the label to {MAX_LABEL} characters.")
    raw = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        project=project,
        user=user,
        label=label,
        token_hash=ApiToken.hash(raw),
        prefix=raw[:8],
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    return token, raw


def revoke_token(*, token: ApiToken) -> bool:
    """Switch the token off; False when it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return True


def tokens_for(*, user, project):
    """The tokens `user` may list and revoke: a PI sees everyone's in the project, others their
    own."""
    tokens = ApiToken.objects.filter(project=project).select_related("user")
    return tokens if project.role == PI else tokens.filter(user=user)


def get_token_for(user, project_id: int, token_id: int) -> ApiToken:
    """A token the user may revoke. A coder asking for someone else's gets 404: they are not
    shown other members' tokens, so they need not learn that one exists."""
    project = get_project_for(user, project_id, need="export_data")
    token = tokens_for(user=user, project=project).filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    token.project = project
    return token


# ---------------------------------------------------------------------------------------------
# Authentication


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str):
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail

    def response(self) -> JsonResponse:
        response = JsonResponse({"error": self.error, "detail": self.detail}, status=self.status)
        if self.status == 401:
            challenge = f'Bearer realm="{REALM}"'
            if self.error != "no_token":
                challenge += f', error="invalid_token", error_description="{self.detail}"'
            response["WWW-Authenticate"] = challenge
        return response


def _raw_token(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ApiError(
            401,
            "no_token",
            "This API needs a token: send it in an 'Authorization: Bearer <token>' header. "
            "Make one on the project's Data page.",
        )
    return raw.strip()


def authenticate(request, project_id: int):
    """The project (with `role`) that the request's token opens, acting as its member."""
    raw = _raw_token(request)
    token = ApiToken.objects.select_related("user").filter(token_hash=ApiToken.hash(raw)).first()
    now = timezone.now()
    if token is None:
        raise ApiError(
            401, "invalid_token", "This token is not known. Check it, or make a new one."
        )
    if token.revoked_at is not None:
        raise ApiError(
            401,
            "invalid_token",
            f"This token was revoked on {timezone.localtime(token.revoked_at):%Y-%m-%d %H:%M}.",
        )
    if token.expires_at is not None and token.expires_at <= now:
        raise ApiError(
            401,
            "invalid_token",
            f"This token expired on {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}.",
        )
    if not token.user.is_active:
        raise ApiError(401, "invalid_token", "The account this token belongs to is switched off.")
    if token.project_id != project_id:
        raise ApiError(404, "not_found", "No such project for this token.")
    try:
        project = get_project_for(token.user, project_id, need="export_data")
    except Http404:
        raise ApiError(
            403, "forbidden", "The member this token belongs to is no longer in this project."
        ) from None
    except PermissionDenied:
        raise ApiError(
            403,
            "forbidden",
            "The role this token's member now has in the project does not allow data exports.",
        ) from None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return project, token.user


def api_view(view):
    """GET only, token only; errors as JSON bodies naming the problem."""

    @login_not_required
    @csrf_exempt
    @wraps(view)
    def wrapped(request, project_id, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse(
                {"error": "method_not_allowed", "detail": "This API is read-only: use GET."},
                status=405,
            )
            response["Allow"] = "GET, HEAD"
            return response
        try:
            project, user = authenticate(request, project_id)
            response = view(request, project, user, *args, **kwargs)
        except ApiError as problem:
            response = problem.response()
        patch_vary_headers(response, ["Authorization"])
        patch_cache_control(response, private=True, no_store=True)
        return response

    return wrapped


# ---------------------------------------------------------------------------------------------
# Endpoints


def _url(request, name, project) -> str:
    from django.urls import reverse

    return request.build_absolute_uri(reverse(f"api:{name}", args=[project.pk]))


@api_view
def project_summary(request, project, user):
    visible = Excerpt.objects.visible_to(user, project)
    return JsonResponse(
        {
            "id": project.pk,
            "name": project.name,
            "description": project.description,
            "role": project.role,
            "counts": {
                "meetings": project.meetings.count(),
                "fieldnotes": Fieldnote.objects.in_project(project).latest_versions().count(),
                "codes": Code.objects.filter(codebook__project=project).count(),
                "excerpts": visible.filter(fieldnote__next_version__isnull=True).count(),
            },
            "links": {
                name: _url(request, name, project)
                for name in ("codes", "fieldnotes", "excerpts", "matrix")
            },
        }
    )


@api_view
def codes(request, project, user):
    rows = tidy.code_rows(project)
    return JsonResponse(
        {
            "count": len(rows),
            "results": [
                {
                    "guid": code.guid,
                    "name": code.name,
                    "path": code.path,
                    "parent_guid": code.parent_guid,
                    "colour": code.colour,
                    "is_codable": code.is_codable,
                    "archived": code.archived,
                }
                for code in rows
            ],
        }
    )


@api_view
def fieldnotes(request, project, user):
    with_text = request.GET.get("text") == "1"
    notes = (
        Fieldnote.objects.in_project(project)
        .latest_versions()
        .select_related("meeting", "observer")
        .order_by("meeting__starts_at", "meeting_id", "observer__name", "title", "pk")
    )
    results = []
    for note in notes:
        item = {
            "guid": str(note.guid),
            "title": note.title,
            "meeting": note.meeting.title,
            "observer": note.observer.name,
            "version": note.version,
            "length": len(note.text),
        }
        if with_text:
            item["text"] = note.text
        results.append(item)
    return JsonResponse({"count": len(results), "results": results})


def _guids(request, parameter: str, what: str) -> list[uuid.UUID]:
    found = []
    for value in request.GET.getlist(parameter):
        try:
            found.append(uuid.UUID(value.strip().strip("{}")))
        except ValueError:
            raise ApiError(
                400, "bad_request", f"{parameter}={value!r} is not a GUID of {what}."
            ) from None
    return found


def _filters(request, project) -> tidy.Filters:
    """The API's filters (GUIDs and usernames, scoped to the project) as ids."""
    code_guids = _guids(request, "code", "a code")
    note_guids = _guids(request, "fieldnote", "a fieldnote")
    usernames = [name.strip() for name in request.GET.getlist("coder")]
    codes = fieldnotes = coders = ()
    if code_guids:
        found = dict(
            Code.objects.filter(codebook__project=project, guid__in=code_guids).values_list(
                "guid", "pk"
            )
        )
        _all_known(code_guids, found, "code")
        codes = tuple(found.values())
    if note_guids:
        found = dict(
            Fieldnote.objects.in_project(project)
            .filter(guid__in=note_guids)
            .values_list("guid", "pk")
        )
        _all_known(note_guids, found, "fieldnote")
        fieldnotes = tuple(found.values())
    if usernames:
        found = dict(
            Membership.objects.filter(project=project, user__username__in=usernames).values_list(
                "user__username", "user_id"
            )
        )
        _all_known(usernames, found, "member")
        coders = tuple(found.values())
    return tidy.Filters(fieldnotes=fieldnotes, coders=coders, codes=codes)


def _all_known(asked, found, what):
    for key in asked:
        if key not in found:
            raise ApiError(400, "bad_request", f"This project has no {what} {str(key)!r}.")


def _positive(request, parameter: str, default: int) -> int:
    value = request.GET.get(parameter)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ApiError(400, "bad_request", f"{parameter} must be a whole number from 1.")
    return number


@api_view
def excerpts(request, project, user):
    page = _positive(request, "page", 1)
    page_size = _positive(request, "page_size", DEFAULT_PAGE_SIZE)
    if page_size > MAX_PAGE_SIZE:
        raise ApiError(400, "bad_request", f"page_size can be at most {MAX_PAGE_SIZE}.")
    rows = tidy.load(user=user, project=project, filters=_filters(request, project)).rows
    count = len(rows)
    pages = max((count + page_size - 1) // page_size, 1)
    if page > pages:
        raise ApiError(404, "not_found", f"There is no page {page}: the last is page {pages}.")

    def link(number):
        if not 1 <= number <= pages:
            return None
        query = [(key, value) for key, value in request.GET.lists() if key != "page"]
        flat = [(key, value) for key, values in query for value in values] + [("page", number)]
        return request.build_absolute_uri(f"{request.path}?{urlencode(flat)}")

    first = (page - 1) * page_size
    return JsonResponse(
        {
            "count": count,
            "page": page,
            "page_size": page_size,
            "next": link(page + 1),
            "previous": link(page - 1),
            "results": [row.as_json() for row in rows[first : first + page_size]],
        }
    )


@api_view
def matrix(request, project, user):
    measure = request.GET.get("measure", "excerpts")
    if measure not in tidy.MEASURES:
        raise ApiError(400, "bad_request", f"measure must be one of {', '.join(tidy.MEASURES)}.")
    filters = _filters(request, project)
    found = tidy.load(user=user, project=project, filters=filters).matrix(measure)
    return JsonResponse(
        {
            "measure": measure,
            "codes": [{"guid": code.guid, "path": code.path} for code in found.codes],
            "rows": [
                {
                    "meeting": note.meeting,
                    "fieldnote": note.title,
                    "fieldnote_guid": note.guid,
                    "observer": note.observer,
                    "values": values,
                }
                for note, values in found.rows
            ],
        }
    )
