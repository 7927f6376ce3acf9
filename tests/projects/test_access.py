import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from projects.access import PERMISSIONS, can, get_fieldnote_for, get_meeting_for, get_project_for
from tests.factories import MeetingFactory


def test_project_helper_sets_role(project, users):
    assert get_project_for(users["coder"], project.pk).role == "coder"


def test_outsider_gets_404_not_403(project, users):
    with pytest.raises(Http404):
        get_project_for(users["outsider"], project.pk, need="manage_members")


def test_wrong_role_gets_403(project, users):
    with pytest.raises(PermissionDenied):
        get_project_for(users["coder"], project.pk, need="manage_members")


def test_meeting_of_another_project_is_404_even_for_its_pi(project, users):
    foreign = MeetingFactory()
    with pytest.raises(Http404):
        get_meeting_for(users["pi"], project.pk, foreign.pk)


def test_lay_member_reads_own_fieldnote_only(users, fieldnote, lay_fieldnote):
    project_id = fieldnote.meeting.project_id
    assert get_fieldnote_for(users["lay"], project_id, lay_fieldnote.pk) == lay_fieldnote
    with pytest.raises(PermissionDenied):
        get_fieldnote_for(users["lay"], project_id, fieldnote.pk)


def test_permission_table_shape():
    assert can("pi", "manage_members") and not can("coder", "manage_members")
    assert not can(None, "view_project")
    assert all(roles <= {"pi", "coder", "observer", "lay"} for roles in PERMISSIONS.values())
