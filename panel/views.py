from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.htmx import render_page
from projects.access import get_meeting_for

from . import services
from .forms import InvitationForm, PromptsForm, answers_from
from .models import LayDraft, LayInvitation

# The research team's side: links, questions, and closing the meeting for changes.


def _manage_context(meeting, **extra):
    return {
        "project": meeting.project,
        "meeting": meeting,
        "invitations": meeting.lay_invitations.select_related("observer", "draft__fieldnote"),
        "invite_form": InvitationForm(),
        "prompts_form": PromptsForm(initial={"prompts": "\n".join(meeting.prompts)}),
        "prompts": meeting.prompts,
        "section": "home",
        **extra,
    }


@require_GET
def manage(request, project_id, meeting_id):
    meeting = get_meeting_for(request.user, project_id, meeting_id, need="manage_lay_panel")
    return render_page(request, "panel/manage.html", _manage_context(meeting))


@require_POST
def invite(request, project_id, meeting_id):
    meeting = get_meeting_for(request.user, project_id, meeting_id, need="manage_lay_panel")
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return render_page(
            request, "panel/manage.html", _manage_context(meeting, invite_form=form), status=400
        )
    invitation, token = services.create_invitation(
        meeting=meeting,
        label=form.cleaned_data["label"],
        days=form.cleaned_data["days"],
        created_by=request.user,
    )
    return _show_new_link(request, meeting, invitation, token)


def _show_new_link(request, meeting, invitation, token):
    link = request.build_absolute_uri(f"/lay/{token}/")
    context = _manage_context(meeting, new_link=link, new_invitation=invitation)
    return render_page(request, "panel/manage.html", context)


def _get_invitation_for(user, project_id, invitation_id):
    invitation = LayInvitation.objects.filter(pk=invitation_id).select_related("meeting").first()
    if invitation is None or invitation.meeting.project_id != project_id:
        raise Http404("No such link.")
    meeting = get_meeting_for(user, project_id, invitation.meeting_id, need="manage_lay_panel")
    invitation.meeting = meeting
    return invitation


@require_POST
def revoke(request, project_id, invitation_id):
    invitation = _get_invitation_for(request.user, project_id, invitation_id)
    services.revoke_invitation(invitation=invitation)
    messages.success(request, f"The link for {invitation.label} no longer works.")
    return redirect("panel:manage", project_id, invitation.meeting_id)


@require_POST
def reissue(request, project_id, invitation_id):
    invitation = _get_invitation_for(request.user, project_id, invitation_id)
    token = services.reissue_invitation(invitation=invitation)
    return _show_new_link(request, invitation.meeting, invitation, token)


@require_POST
def prompts(request, project_id, meeting_id):
    meeting = get_meeting_for(request.user, project_id, meeting_id, need="manage_lay_panel")
    form = PromptsForm(request.POST)
    if form.is_valid():
        try:
            services.set_prompts(meeting=meeting, prompts=form.cleaned_data["prompts"])
        except ValidationError as error:
            form.add_error("prompts", error)
        else:
            messages.success(request, "Saved the questions.")
            return redirect("panel:manage", project_id, meeting_id)
    return render_page(
        request, "panel/manage.html", _manage_context(meeting, prompts_form=form), status=400
    )


@require_POST
def lock(request, project_id, meeting_id):
    meeting = get_meeting_for(request.user, project_id, meeting_id, need="manage_lay_panel")
    locked = request.POST.get("locked") == "1"
    services.set_locked(meeting=meeting, locked=locked)
    messages.success(
        request,
        "Closed: lay panel members can no longer change what they sent."
        if locked
        else "Reopened: lay panel members can change what they sent.",
    )
    return redirect("panel:manage", project_id, meeting_id)


# The lay member's side: no account, the link's token is the credential. These views are exempt
# from CSRF checks because the token travels in the address, not in a cookie a forged request could
# borrow; and a draft must save even when the browser's cookies have gone. Nothing is cached, as
# the pages hold a person's own words.


def _invitation_or_message(request, key):
    try:
        return services.invitation_for_token(key), None
    except services.LinkUnavailable as problem:
        return None, render_page(
            request, "panel/unavailable.html", {"message": str(problem)}, status=404
        )


def _form_context(invitation, draft, **extra):
    meeting = invitation.meeting
    answers = draft.answers if draft else {}
    return {
        "invitation": invitation,
        "meeting": meeting,
        "draft": draft,
        "name": draft.name if draft else "",
        "questions": [
            (index, prompt, answers.get(prompt, "")) for index, prompt in enumerate(meeting.prompts)
        ],
        "locked": meeting.lay_locked,
        **extra,
    }


@login_not_required
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def lay_form(request, key):
    invitation, unavailable = _invitation_or_message(request, key)
    if unavailable:
        return unavailable
    draft = LayDraft.objects.filter(invitation=invitation).select_related("fieldnote").first()
    if request.method == "POST":
        try:
            draft = services.save_draft(
                invitation=invitation,
                name=request.POST.get("name", ""),
                answers=answers_from(request.POST, invitation.meeting.prompts),
            )
            services.submit_draft(invitation=invitation)
        except ValidationError as error:
            context = _form_context(invitation, draft, error=" ".join(error.messages))
            return render_page(request, "panel/form.html", context, status=400)
        return redirect("panel:sent", key)
    if draft and draft.submitted_at and request.GET.get("edit") != "1":
        return redirect("panel:sent", key)
    return render_page(request, "panel/form.html", _form_context(invitation, draft))


@login_not_required
@csrf_exempt
@never_cache
@require_POST
def lay_draft(request, key):
    """Autosave: called as the person types, on leaving a box, and on leaving the page."""
    try:
        invitation = services.invitation_for_token(key)
        draft = services.save_draft(
            invitation=invitation,
            name=request.POST.get("name", ""),
            answers=answers_from(request.POST, invitation.meeting.prompts),
        )
    except services.LinkUnavailable as problem:
        return JsonResponse({"saved": False, "error": str(problem)}, status=410)
    except ValidationError as error:
        return JsonResponse({"saved": False, "error": " ".join(error.messages)}, status=409)
    saved = timezone.localtime(draft.updated_at)
    return JsonResponse(
        {"saved": True, "saved_at": saved.isoformat(), "saved_label": saved.strftime("%H:%M")}
    )


@login_not_required
@csrf_exempt
@never_cache
@require_GET
def lay_sent(request, key):
    invitation, unavailable = _invitation_or_message(request, key)
    if unavailable:
        return unavailable
    draft = LayDraft.objects.filter(invitation=invitation, submitted_at__isnull=False).first()
    if draft is None:
        return redirect("panel:form", key)
    fieldnote = services.latest_version(draft.fieldnote)
    context = {
        "invitation": invitation,
        "meeting": invitation.meeting,
        "fieldnote": fieldnote,
        "locked": invitation.meeting.lay_locked,
        "key": key,
    }
    return render_page(request, "panel/sent.html", context)
