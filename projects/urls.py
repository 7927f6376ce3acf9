from django.urls import path

from . import views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("projects/<int:project_id>/", views.project_home, name="home"),
    path("projects/<int:project_id>/members/", views.member_list, name="members"),
    path("projects/<int:project_id>/members/invite/", views.member_invite, name="member_invite"),
    path(
        "projects/<int:project_id>/members/<int:membership_id>/role/",
        views.member_role,
        name="member_role",
    ),
    path(
        "projects/<int:project_id>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
]
