from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from config.htmx import render_page
from fieldnotes.models import Fieldnote

from . import services
from .access import can, get_membership_for, get_project_for
from .forms import InviteForm, ProjectForm, RoleForm
from .models import Project, Role


@require_http_methods(["GET", "POST"])
def project_list(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.create_project(created_by=request.user, **form.cleaned_data)
        messages.success(request, f"Created {project.name}. You are its principal investigator.")
        return redirect("projects:home", project.pk)
    projects = Project.objects.for_user(request.user)
    return render_page(request, "projects/list.html", {"projects": projects, "form": form})


@require_GET
def project_home(request, project_id):
    project = get_project_for(request.user, project_id)
    if not can(project.role, "view_meetings"):
        own = (
            Fieldnote.objects.in_project(project).written_by(request.user).select_related("meeting")
        )
        return render_page(
            request,
            "projects/home_lay.html",
            {"project": project, "fieldnotes": own, "section": "home"},
        )
    meetings = project.meetings.all()
    fieldnotes = (
        Fieldnote.objects.in_project(project)
        .latest_versions()
        .select_related("meeting", "observer")
        .order_by("meeting__starts_at", "observer__name", "version")
    )
    context = {
        "project": project,
        "meetings": meetings,
        "fieldnotes": fieldnotes,
        # The consensus coder is an account for settled coding, not a person.
        "memberships": project.memberships.filter(is_consensus=False).select_related("user"),
        "codes": project.codebook.tree(),
        "can_manage_meetings": can(project.role, "manage_meetings"),
        "section": "home",
    }
    return render_page(request, "projects/home.html", context)


def _members_context(project, invite_form=None):
    return {
        "project": project,
        # The consensus coder is not a person: it comes last, after the people.
        "memberships": project.memberships.select_related("user", "invited_by").order_by(
            "is_consensus", "user__username"
        ),
        "invite_form": invite_form or InviteForm(),
        "can_manage": can(project.role, "manage_members"),
        "roles": Role.choices,
        "section": "members",
    }


@require_GET
def member_list(request, project_id):
    project = get_project_for(request.user, project_id, need="view_members")
    if can(project.role, "manage_members"):
        services.queue_unsent_invitations(project)
    return render_page(request, "projects/members.html", _members_context(project))


@require_POST
def member_invite(request, project_id):
    project = get_project_for(request.user, project_id, need="manage_members")
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            membership = services.invite_member(
                project=project, invited_by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error("email", error)
        else:
            messages.success(
                request, f"Invited {membership.user.email} as {membership.get_role_display()}."
            )
            if request.htmx:
                return HttpResponseClientRedirect(request.path.replace("invite/", ""))
            return redirect("projects:members", project.pk)
    return render_page(
        request,
        "projects/members.html",
        _members_context(project, form),
        fragment="invite-form",
        status=400,
    )


@require_POST
def member_role(request, project_id, membership_id):
    membership = get_membership_for(request.user, project_id, membership_id)
    form = RoleForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.change_role(membership=membership, role=form.cleaned_data["role"])
        except ValidationError as exc:
            error = exc.messages[0]
            membership.refresh_from_db()
    else:
        error = "Choose one of the listed roles."
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("projects:members", project_id)
    context = {
        "project": membership.project,
        "membership": membership,
        "can_manage": True,
        "roles": Role.choices,
        "error": error,
    }
    return render_page(
        request,
        "projects/members.html",
        context,
        fragment="member-row",
        status=400 if error else 200,
    )


@require_POST
def member_remove(request, project_id, membership_id):
    membership = get_membership_for(request.user, project_id, membership_id)
    try:
        services.remove_member(membership=membership)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("projects:members", project_id)
    name = membership.user.get_full_name() or membership.user.username
    messages.success(request, f"Removed {name} from {membership.project.name}.")
    if membership.user_id == request.user.pk:
        return redirect("projects:list")
    return redirect("projects:members", project_id)
