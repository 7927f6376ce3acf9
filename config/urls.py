from django.contrib import admin
from django.urls import include, path

from . import login, views

urlpatterns = [
    path("", include("projects.urls")),
    path("projects/<int:project_id>/meetings/", include("meetings.urls")),
    path("projects/<int:project_id>/", include("fieldnotes.urls")),
    path("projects/<int:project_id>/", include("coding.urls")),
    path("projects/<int:project_id>/", include("coding.urls_analysis")),
    path("projects/<int:project_id>/", include("coding.urls_search")),
    path("projects/<int:project_id>/", include("coding.urls_rounds")),
    path("projects/<int:project_id>/", include("coding.urls_reports")),
    path("projects/<int:project_id>/", include("coding.urls_adjudication")),
    path("projects/<int:project_id>/", include("exchange.urls_data")),
    path("", include("exchange.urls")),
    path("api/v1/", include("exchange.urls_api")),
    path("", include("panel.urls")),
    # Before the auth URLs, so the rate-limited log-in answers at their address.
    path("accounts/login/", login.LoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
