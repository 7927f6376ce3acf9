from django import forms

from .models import Project, Role


class PlainLabelsMixin:
    """Labels without Django's trailing colon: the layout already sets them apart."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ProjectForm(PlainLabelsMixin, forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class InviteForm(PlainLabelsMixin, forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.CODER)


class RoleForm(PlainLabelsMixin, forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
