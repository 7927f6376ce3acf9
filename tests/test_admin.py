"""The admin is for staff accounts; project roles give no access to it."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import UserFactory


def test_admin_sends_project_members_to_the_admin_login(client, users):
    client.force_login(users["pi"])
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize(
    "model",
    sorted(
        f"{model._meta.app_label}_{model._meta.model_name}"
        for model in admin.site._registry
        if model._meta.app_label in {"projects", "meetings", "fieldnotes", "coding", "panel"}
    ),
)
def test_every_model_has_a_working_admin_list_and_add_page(client, excerpt, model):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    changelist = client.get(reverse(f"admin:{model}_changelist"))
    assert changelist.status_code == 200
    assert client.get(reverse(f"admin:{model}_add")).status_code == 200


def test_all_domain_models_are_registered():
    registered = {m._meta.label for m in admin.site._registry}
    assert {
        "projects.Project",
        "projects.Membership",
        "meetings.Meeting",
        "fieldnotes.Observer",
        "fieldnotes.Fieldnote",
        "coding.Codebook",
        "coding.Code",
        "coding.Excerpt",
        "coding.CodingRound",
        "coding.AgreementReport",
        "coding.Assignment",
        "coding.Disagreement",
    } <= registered
