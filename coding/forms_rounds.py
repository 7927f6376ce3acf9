from django import forms

from projects.forms import PlainLabelsMixin

from .rounds import eligible_coders, eligible_fieldnotes


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class RoundForm(PlainLabelsMixin, forms.Form):
    """A new round, or changes to one (`coding_round`): blindness is chosen once, at the start,
    because turning it on or off halfway would change what coders have already seen."""

    name = forms.CharField(max_length=200, help_text="For example “Pilot round, March”.")
    blind = forms.BooleanField(
        label="Blind round",
        required=False,
        initial=True,
        help_text="Coders do not see each other's coding of these fieldnotes until you reveal "
        "the round.",
    )
    due_date = forms.DateField(label="Due date", required=False, widget=DateInput())
    fieldnotes = forms.ModelMultipleChoiceField(
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one fieldnote."},
    )
    coders = forms.ModelMultipleChoiceField(
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one coder."},
    )

    def __init__(self, *args, project, coding_round=None, **kwargs):
        if coding_round is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": coding_round.name,
                    "due_date": coding_round.due_date,
                    "fieldnotes": [f.pk for f in coding_round.fieldnotes.all()],
                    "coders": [u.pk for u in coding_round.coders.all()],
                },
            )
        super().__init__(*args, **kwargs)
        if coding_round is not None:
            del self.fields["blind"]
        self.fields["fieldnotes"].queryset = eligible_fieldnotes(project, coding_round=coding_round)
        self.fields["coders"].queryset = eligible_coders(project, coding_round=coding_round)

    def _chosen(self, name) -> set[str]:
        value = self[name].value() or []
        return {str(getattr(v, "pk", v)) for v in value}

    def fieldnote_groups(self):
        """[(meeting, [(fieldnote, checked), ...]), ...] in meeting order, for one fieldset per
        meeting."""
        chosen = self._chosen("fieldnotes")
        groups = []
        for fieldnote in self.fields["fieldnotes"].queryset:
            if not groups or groups[-1][0].pk != fieldnote.meeting_id:
                groups.append((fieldnote.meeting, []))
            groups[-1][1].append((fieldnote, str(fieldnote.pk) in chosen))
        return groups

    def coder_choices(self):
        chosen = self._chosen("coders")
        return [(user, str(user.pk) in chosen) for user in self.fields["coders"].queryset]
