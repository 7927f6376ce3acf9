from django.views.decorators.http import require_GET

from config.htmx import render_page
from projects.access import get_project_for


@require_GET
def codebook_detail(request, project_id):
    project = get_project_for(request.user, project_id, need="view_codebook")
    context = {"project": project, "codes": project.codebook.tree(), "section": "codebook"}
    return render_page(request, "coding/codebook.html", context)
