from django import forms
from django.utils import timezone

from projects.forms import PlainLabelsMixin

NEW_OBSERVER = "new"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files at once. Empty files pass here so that the preview can name them."""

    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class UploadForm(PlainLabelsMixin, forms.Form):
    files = MultipleFileField(
        label="Files",
        required=False,
        help_text=".txt, .md, .docx, .odt, .html, .rtf or .pdf with a text layer; several at once.",
    )
    pasted_text = forms.CharField(
        label="Or paste the text",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
    )
    pasted_name = forms.CharField(label="Title of the pasted text", required=False, max_length=200)

    def clean(self):
        data = super().clean()
        if not data.get("files") and not (data.get("pasted_text") or "").strip():
            raise forms.ValidationError("Choose at least one file, or paste some text.")
        return data


class ReviseForm(PlainLabelsMixin, forms.Form):
    file = forms.FileField(label="The revised file", required=False, allow_empty_file=True)
    pasted_text = forms.CharField(
        label="Or paste the revised text",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
    )

    def clean(self):
        data = super().clean()
        if not data.get("file") and not (data.get("pasted_text") or "").strip():
            raise forms.ValidationError("Choose the revised file, or paste the revised text.")
        return data


def observer_choices(project, *, include_members=True):
    choices = [(f"o:{o.pk}", o.name) for o in project.observers.all()]
    if include_members:
        with_observer = set(project.observers.exclude(user=None).values_list("user_id", flat=True))
        people = project.memberships.filter(is_consensus=False).select_related("user")
        for membership in people.order_by("user__first_name"):
            if membership.user_id not in with_observer:
                user = membership.user
                choices.append((f"u:{user.pk}", user.get_full_name() or user.username))
    choices.append((NEW_OBSERVER, "Someone else (give the name below)"))
    return choices


class PendingForm(PlainLabelsMixin, forms.Form):
    """Who wrote one previewed file, and its title."""

    observer = forms.ChoiceField(label="Observer")
    new_observer_name = forms.CharField(label="New observer's name", required=False, max_length=200)
    title = forms.CharField(label="Title", max_length=200)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["observer"].choices = observer_choices(project)

    def clean(self):
        data = super().clean()
        if (
            data.get("observer") == NEW_OBSERVER
            and not (data.get("new_observer_name") or "").strip()
        ):
            self.add_error("new_observer_name", "Give the name of the observer who wrote this.")
        return data


class MarkerForm(PlainLabelsMixin, forms.Form):
    include = forms.BooleanField(label="Keep", required=False)
    moment = forms.DateTimeField(
        label="Moment",
        required=False,
        # Seconds matter for elapsed-time markers ("[00:12:31]").
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
        ),
        input_formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def clean(self):
        data = super().clean()
        if data.get("include") and not data.get("moment"):
            self.add_error("moment", "Give the moment, or untick Keep.")
        return data


def marker_forms(suggestions, *, prefix, data=None):
    forms_ = []
    for index, anchored in enumerate(suggestions):
        initial = {
            "include": anchored.moment is not None,
            "moment": timezone.localtime(anchored.moment) if anchored.moment else None,
        }
        form = MarkerForm(data, prefix=f"{prefix}-m{index}", initial=initial)
        form.anchored = anchored
        forms_.append(form)
    return forms_
