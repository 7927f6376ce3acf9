from django import forms

from .models import Project, Role


class PlainLabelsMixin:
    """Labels without Django's trailing colon: the layout already sets them apart."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ProjectForm(PlainLabelsMixin, forms.ModelForm):
    starter = forms.ChoiceField(
        label="Start the codebook with", choices=(), initial="empty", required=False
    )

    def __init__(self, *args, **kwargs):
        from coding.codebook import STARTERS

        super().__init__(*args, **kwargs)
        self.fields["starter"].choices = [("empty", STARTERS["empty"])] + [
            (key, label) for key, label in STARTERS.items() if key != "empty"
        ]

    def clean_starter(self):
        return self.cleaned_data["starter"] or "empty"

    class Meta:
        model = Project
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class InviteForm(PlainLabelsMixin, forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.CODER)


class RoleForm(PlainLabelsMixin, forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
