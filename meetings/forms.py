from django import forms
from django.core.exceptions import ValidationError

from projects.forms import PlainLabelsMixin

from .models import AgendaItem, Meeting

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=DATETIME_LOCAL)


def _datetime_field(label):
    return forms.DateTimeField(
        label=label, widget=DateTimeLocalInput(), input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"]
    )


class MeetingForm(PlainLabelsMixin, forms.ModelForm):
    starts_at = _datetime_field("Starts")
    ends_at = _datetime_field("Ends")

    class Meta:
        model = Meeting
        fields = ["title", "place", "starts_at", "ends_at", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class AgendaItemForm(PlainLabelsMixin, forms.ModelForm):
    starts_at = _datetime_field("Starts")
    ends_at = _datetime_field("Ends")

    class Meta:
        model = AgendaItem
        fields = ["title", "starts_at", "ends_at"]


class BaseAgendaFormSet(forms.BaseInlineFormSet):
    """Agenda items must each lie inside the meeting's span, whatever the meeting form says."""

    default_error_messages = {
        "too_many_forms": "A meeting can have at most %(num)d agenda items.",
    }

    def __init__(self, *args, meeting_form=None, **kwargs):
        self.meeting_form = meeting_form
        super().__init__(*args, **kwargs)

    def clean(self):
        super().clean()
        if self.meeting_form is None or not self.meeting_form.is_valid():
            return
        start = self.meeting_form.cleaned_data["starts_at"]
        end = self.meeting_form.cleaned_data["ends_at"]
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if (
                not data
                or data.get("DELETE")
                or not data.get("starts_at")
                or not data.get("ends_at")
            ):
                continue
            if data["ends_at"] <= data["starts_at"]:
                form.add_error("ends_at", "The agenda item must end after it starts.")
            elif data["starts_at"] < start or data["ends_at"] > end:
                form.add_error(None, "This agenda item lies outside the meeting's start and end.")
        if any(form.errors for form in self.forms):
            raise ValidationError("Some agenda items need correcting.")


# A posted form count is believed only up to this: Django's own ceiling, 2,000, let one post
# build and render 2,000 forms (9 seconds, a 3 MB page). No real agenda comes near it.
MAX_AGENDA_ITEMS = 100

AgendaFormSet = forms.inlineformset_factory(
    Meeting,
    AgendaItem,
    form=AgendaItemForm,
    formset=BaseAgendaFormSet,
    extra=2,
    can_delete=True,
    max_num=MAX_AGENDA_ITEMS,
    absolute_max=MAX_AGENDA_ITEMS,
    validate_max=True,
)
