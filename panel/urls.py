from django.urls import path

from . import views

app_name = "panel"

urlpatterns = [
    path(
        "projects/<int:project_id>/meetings/<int:meeting_id>/lay-panel/",
        views.manage,
        name="manage",
    ),
    path(
        "projects/<int:project_id>/meetings/<int:meeting_id>/lay-panel/invite/",
        views.invite,
        name="invite",
    ),
    path(
        "projects/<int:project_id>/meetings/<int:meeting_id>/lay-panel/prompts/",
        views.prompts,
        name="prompts",
    ),
    path(
        "projects/<int:project_id>/meetings/<int:meeting_id>/lay-panel/lock/",
        views.lock,
        name="lock",
    ),
    path(
        "projects/<int:project_id>/lay-links/<int:invitation_id>/revoke/",
        views.revoke,
        name="revoke",
    ),
    path(
        "projects/<int:project_id>/lay-links/<int:invitation_id>/reissue/",
        views.reissue,
        name="reissue",
    ),
    path("lay/<str:key>/", views.lay_form, name="form"),
    path("lay/<str:key>/draft/", views.lay_draft, name="draft"),
    path("lay/<str:key>/sent/", views.lay_sent, name="sent"),
]
