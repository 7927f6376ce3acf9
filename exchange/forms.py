from django import forms
from django.conf import settings

from projects.forms import PlainLabelsMixin
from projects.models import Membership, Role


class ImportForm(PlainLabelsMixin, forms.Form):
    archive = forms.FileField(
        label="REFI-QDA project (.qdpx)",
        help_text="Exported from ATLAS.ti, MAXQDA, NVivo, QualCoder, Taguette or Triangulate.",
        widget=forms.ClearableFileInput(attrs={"accept": ".qdpx,application/zip"}),
    )
    name = forms.CharField(
        label="Name of the new project",
        max_length=200,
        required=False,
        help_text="Leave empty to use the name in the file.",
    )

    def clean_archive(self):
        archive = self.cleaned_data["archive"]
        if archive.size > settings.IMPORT_MAX_BYTES:
            limit = settings.IMPORT_MAX_BYTES // 1_048_576
            raise forms.ValidationError(
                f"{archive.name} is {archive.size / 1_048_576:.1f} MB; the limit is {limit} MB "
                "(IMPORT_MAX_MB)."
            )
        return archive


class MapPlaceholderForm(PlainLabelsMixin, forms.Form):
    """Whose coding an imported coder's excerpts become."""

    target = forms.ModelChoiceField(
        label="Their coding becomes", queryset=Membership.objects.none()
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = (
            Membership.objects.filter(
                project=project, role__in=(Role.PI, Role.CODER), is_placeholder=False
            )
            .select_related("user")
            .order_by("user__username")
        )
        self.fields["target"].label_from_instance = _member_label


def _member_label(membership) -> str:
    name = membership.user.get_full_name() or membership.user.username
    return f"{name} ({membership.get_role_display().lower()})"
