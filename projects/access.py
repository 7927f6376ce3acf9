"""Who may do what. The one table of permissions, and one fetch helper per model.

Each helper returns the object when the user may act on it, raises Http404 when the user is not a
member of its project (outsiders must not learn that it exists), and raises PermissionDenied when
the user is a member whose role does not allow the action. docs/permissions.md shows this table;
tests/test_permissions_doc.py keeps the two the same.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Project, Role

PI, CODER, OBSERVER, LAY = Role.PI, Role.CODER, Role.OBSERVER, Role.LAY
RESEARCHERS = frozenset({PI, CODER, OBSERVER})

PERMISSIONS: dict[str, frozenset[str]] = {
    "view_project": frozenset({PI, CODER, OBSERVER, LAY}),
    "view_meetings": RESEARCHERS,
    "read_fieldnotes": RESEARCHERS,
    "read_own_fieldnotes": frozenset({PI, CODER, OBSERVER, LAY}),
    "view_codebook": RESEARCHERS,
    "edit_codebook": frozenset({PI}),
    "view_members": RESEARCHERS,
    "manage_members": frozenset({PI}),
    "manage_meetings": frozenset({PI}),
    "code": frozenset({PI, CODER}),
    "upload_fieldnotes": RESEARCHERS,
    "revise_own_fieldnotes": RESEARCHERS,
    "revise_any_fieldnote": frozenset({PI}),
    "manage_lay_panel": frozenset({PI}),
    "manage_rounds": frozenset({PI}),
    "work_on_assignments": frozenset({PI, CODER}),
    "run_reports": frozenset({PI}),
    "adjudicate": frozenset({PI}),
    "discuss_disagreements": frozenset({PI, CODER}),
    "exchange_project": frozenset({PI}),
    "export_data": frozenset({PI, CODER}),
}


def can(role: str | None, action: str) -> bool:
    return role in PERMISSIONS[action]


def _require(role: str, action: str) -> None:
    if not can(role, action):
        raise PermissionDenied(f"Your role in this project does not allow this ({action}).")


def get_project_for(user, project_id: int, need: str = "view_project") -> Project:
    """The project with `role` set to the user's role in it."""
    project = Project.objects.for_user(user).filter(pk=project_id).first()
    if project is None:
        raise Http404("No such project.")
    _require(project.role, need)
    return project


def get_meeting_for(user, project_id: int, meeting_id: int, need: str = "view_meetings"):
    from meetings.models import Meeting

    project = get_project_for(user, project_id)
    meeting = Meeting.objects.filter(project=project, pk=meeting_id).first()
    if meeting is None:
        raise Http404("No such meeting.")
    _require(project.role, need)
    meeting.project = project
    return meeting


def get_fieldnote_for(user, project_id: int, fieldnote_id: int, need: str = "read_fieldnotes"):
    """A fieldnote; lay members may read only the ones they wrote themselves."""
    from fieldnotes.models import Fieldnote

    project = get_project_for(user, project_id)
    fieldnote = (
        Fieldnote.objects.in_project(project)
        .select_related("meeting", "observer")
        .filter(pk=fieldnote_id)
        .first()
    )
    if fieldnote is None:
        raise Http404("No such fieldnote.")
    own = fieldnote.observer.user_id == user.pk
    if need == "read_fieldnotes" and not can(project.role, need):
        if not own:
            raise PermissionDenied("Lay panel members can read only their own observations.")
        need = "read_own_fieldnotes"
    if need == "revise_fieldnote":
        # The observer who wrote it, or a PI, may revise a fieldnote and correct its time markers.
        need = "revise_own_fieldnotes" if own else "revise_any_fieldnote"
    _require(project.role, need)
    fieldnote.meeting.project = project
    return fieldnote


def get_code_for(user, project_id: int, code_id: int, need: str = "edit_codebook"):
    from coding.models import Code

    project = get_project_for(user, project_id)
    code = (
        Code.objects.select_related("parent", "merged_into", "codebook")
        .filter(codebook__project=project, pk=code_id)
        .first()
    )
    if code is None:
        raise Http404("No such code.")
    _require(project.role, need)
    code.codebook.project = project
    return code


def get_membership_for(user, project_id: int, membership_id: int, need: str = "manage_members"):
    project = get_project_for(user, project_id)
    membership = project.memberships.select_related("user").filter(pk=membership_id).first()
    if membership is None:
        raise Http404("No such member.")
    _require(project.role, need)
    membership.project = project
    return membership


def get_round_for(user, project_id: int, round_id: int, need: str = "manage_rounds"):
    """A coding round. With need="work_on_assignments" a coder gets it only when assigned to it
    (others' rounds are 404: a coder need not learn of rounds they are not in)."""
    from coding.models import CodingRound

    project = get_project_for(user, project_id)
    coding_round = CodingRound.objects.filter(project=project, pk=round_id).first()
    if coding_round is None:
        raise Http404("No such coding round.")
    _require(project.role, need)
    if project.role != PI and not coding_round.assignments.filter(coder=user).exists():
        raise Http404("No such coding round.")
    coding_round.project = project
    return coding_round


def get_report_for(user, project_id: int, report_id: int, need: str = "run_reports"):
    from coding.models import AgreementReport

    project = get_project_for(user, project_id)
    report = (
        AgreementReport.objects.select_related("coding_round", "codebook_version", "created_by")
        .filter(project=project, pk=report_id)
        .first()
    )
    if report is None:
        raise Http404("No such report.")
    _require(project.role, need)
    report.project = project
    return report


def get_disagreement_for(
    user, project_id: int, disagreement_id: int, need: str = "discuss_disagreements"
):
    """A disagreement of one of the project's reports. Coders reach it only once no round hides
    coders' work on its fieldnote any more, and only when it is about their own span."""
    from coding.models import Disagreement

    project = get_project_for(user, project_id)
    disagreement = (
        Disagreement.objects.select_related(
            "report__coding_round", "fieldnote", "code", "first_coder", "second_coder"
        )
        .filter(report__project=project, pk=disagreement_id)
        .first()
    )
    if disagreement is None:
        raise Http404("No such disagreement.")
    _require(project.role, need)
    if project.role != PI:
        coding_round = disagreement.report.coding_round
        if coding_round is not None and coding_round.hides_work:
            raise PermissionDenied("This round is blind until the PI reveals it.")
        # Another round, still blind, may hold the same fieldnote.
        from coding.models import CodingRound

        if CodingRound.objects.filter(
            project=project,
            blind=True,
            state=CodingRound.State.OPEN,
            fieldnotes=disagreement.fieldnote_id,
        ).exists():
            raise PermissionDenied(
                "This fieldnote is in a blind round the PI has not revealed, so coders' work on "
                "it stays hidden."
            )
        if user.pk not in (disagreement.first_coder_id, disagreement.second_coder_id):
            raise PermissionDenied("Only the coders whose spans differ, and PIs, discuss this.")
    disagreement.report.project = project
    return disagreement
