from django import forms

from projects.forms import PlainLabelsMixin

from .services import DEFAULT_DAYS


class InvitationForm(PlainLabelsMixin, forms.Form):
    label = forms.CharField(
        label="Who is the link for?",
        max_length=200,
        help_text="A name or note for the team; the lay member does not see it.",
    )
    days = forms.IntegerField(
        label="Link works for (days)", min_value=1, max_value=365, initial=DEFAULT_DAYS
    )


class PromptsForm(PlainLabelsMixin, forms.Form):
    prompts = forms.CharField(
        label="Questions, one per line",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Leave it empty to go back to the four standard questions.",
        required=False,
    )

    def clean_prompts(self):
        return [line.strip() for line in self.cleaned_data["prompts"].splitlines() if line.strip()]


def answers_from(data, prompts) -> dict[str, str]:
    """Answers posted as answer-0, answer-1, … in the order of the prompts on the page."""
    return {prompt: data.get(f"answer-{index}", "") for index, prompt in enumerate(prompts)}
