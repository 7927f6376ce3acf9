"""Adjudication services: the consensus coder, the six decisions with their exact spans, settling
again, reopening, refusals, and the discussion thread."""

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.urls import reverse

from coding import adjudication, services
from coding.models import (
    AgreementReport,
    CodingRound,
    Disagreement,
    DisagreementComment,
    Excerpt,
    ExcerptEvent,
)
from fieldnotes.services import create_version
from projects import services as project_services
from projects.models import Membership, Role
from tests.factories import CodeFactory, UserFactory

# The fixture fieldnote's text (76 characters):
# '09:30 The meeting opened.\n\n09:45 Grace said: "We are not here to be marked."'
A = (6, 25)  # "The meeting opened."
B = (10, 38)  # "meeting opened.\n\n09:45 Grace"


@pytest.fixture
def report(project, users, fieldnote):
    coding_round = CodingRound.objects.create(
        project=project, name="Pilot", blind=True, state=CodingRound.State.REVEALED
    )
    coding_round.fieldnotes.add(fieldnote)
    return AgreementReport.objects.create(
        project=project,
        coding_round=coding_round,
        kind=AgreementReport.Kind.CODERS,
        status=AgreementReport.Status.DONE,
        created_by=users["pi"],
    )


def disagree(report, fieldnote, code, first_coder, first, second_coder=None, second=None):
    """A disagreement as the report job writes it: partial with two spans, unmatched with one."""
    return Disagreement.objects.create(
        report=report,
        fieldnote=fieldnote,
        code=code,
        kind=Disagreement.Kind.PARTIAL if second else Disagreement.Kind.UNMATCHED,
        first_coder=first_coder,
        first_start=first[0],
        first_end=first[1],
        second_coder=second_coder,
        second_start=second[0] if second else None,
        second_end=second[1] if second else None,
    )


@pytest.fixture
def partial(report, fieldnote, code, users):
    return disagree(report, fieldnote, code, users["coder"], A, users["pi"], B)


@pytest.fixture
def unmatched(report, fieldnote, code, users):
    return disagree(report, fieldnote, code, users["coder"], A)


def consensus_excerpts(project):
    return [
        (excerpt.start, excerpt.end, excerpt.text, sorted(c.name for c in excerpt.codes.all()))
        for excerpt in Excerpt.objects.filter(
            coder=adjudication.consensus_coder_for(project)
        ).order_by("start", "end")
    ]


# The consensus coder


def test_consensus_coder_is_made_once_as_a_coder_nobody_can_log_in_as(project, users, client):
    first = adjudication.consensus_coder_for(project)
    again = adjudication.consensus_coder_for(project)
    assert first == again
    assert (first.username, first.get_full_name(), first.is_active) == (
        f"consensus-{project.pk}",
        "Consensus",
        False,
    )
    assert first.has_usable_password() is False
    membership = Membership.objects.get(project=project, user=first)
    assert (membership.role, membership.is_consensus) == (Role.CODER, True)
    assert project.memberships.filter(is_consensus=True).count() == 1
    assert project.pi_count() == 1
    assert authenticate(username=first.username, password="") is None
    assert client.login(username=first.username, password="") is False


def test_consensus_coder_takes_another_name_when_its_own_is_taken(project):
    UserFactory(username=f"consensus-{project.pk}")
    assert adjudication.consensus_coder_for(project).username == f"consensus-{project.pk}-2"


def test_consensus_coder_role_cannot_change_nor_be_removed(project, users):
    membership = project.memberships.get(user=adjudication.consensus_coder_for(project))
    with pytest.raises(ValidationError) as error:
        project_services.change_role(membership=membership, role=Role.PI)
    assert error.value.messages == [
        "The consensus coder holds the settled coding: its role cannot change."
    ]
    with pytest.raises(ValidationError) as error:
        project_services.remove_member(membership=membership)
    assert error.value.messages == [
        "The consensus coder holds the settled coding: it cannot be removed."
    ]
    membership.refresh_from_db()
    assert (membership.role, project.pi_count()) == (Role.CODER, 1)


def test_consensus_coder_cannot_be_invited(project, users):
    consensus = adjudication.consensus_coder_for(project)
    consensus.email = "consensus@example.org"
    consensus.save()
    with pytest.raises(ValidationError) as error:
        project_services.invite_member(
            project=project, email="consensus@example.org", role=Role.PI, invited_by=users["pi"]
        )
    assert error.value.messages == [
        "consensus@example.org belongs to a consensus coder, which is not a person and cannot "
        "be invited."
    ]


# The six decisions


@pytest.mark.parametrize(
    ("resolution", "edit", "expected"),
    [
        ("first", None, (6, 25, "The meeting opened.")),
        ("second", None, (10, 38, "meeting opened.\n\n09:45 Grace")),
        ("union", None, (6, 38, "The meeting opened.\n\n09:45 Grace")),
        ("intersection", None, (10, 25, "meeting opened.")),
        ("neither", None, None),
        ("edit", (33, 38), (33, 38, "Grace")),
    ],
)
def test_each_decision_gives_its_exact_span(
    project, users, partial, code, resolution, edit, expected
):
    start, end = edit or (None, None)
    settled = adjudication.resolve(
        disagreement=partial, resolution=resolution, user=users["pi"], start=start, end=end
    )
    assert (settled.resolution, settled.resolved_by) == (resolution, users["pi"])
    assert settled.resolved_at is not None
    if expected is None:
        assert consensus_excerpts(project) == []
        assert settled.consensus_excerpt is None
        return
    assert consensus_excerpts(project) == [(*expected, ["Protest"])]
    made = settled.consensus_excerpt
    assert (made.start, made.end) == expected[:2]
    # The audit trail names the PI who decided, not the consensus account.
    event = ExcerptEvent.objects.get(excerpt_key=made.pk)
    assert (event.action, event.user) == ("created", users["pi"])


def test_unmatched_span_has_no_b_and_no_overlap(project, users, unmatched):
    for resolution, message in (
        ("second", "Only one coder marked this passage, so there is no B to accept."),
        ("intersection", "Only one coder marked this passage, so there is no overlap to keep."),
    ):
        with pytest.raises(ValidationError) as error:
            adjudication.resolve(disagreement=unmatched, resolution=resolution, user=users["pi"])
        assert error.value.messages == [message]
    unmatched.refresh_from_db()
    assert unmatched.resolution == ""
    settled = adjudication.resolve(disagreement=unmatched, resolution="union", user=users["pi"])
    assert (settled.consensus_excerpt.start, settled.consensus_excerpt.end) == A


def test_spans_that_do_not_overlap_have_no_intersection(report, fieldnote, code, users):
    apart = disagree(report, fieldnote, code, users["coder"], (0, 5), users["pi"], (6, 9))
    with pytest.raises(ValidationError) as error:
        adjudication.resolve(disagreement=apart, resolution="intersection", user=users["pi"])
    assert error.value.messages == ["The two spans do not overlap, so there is no overlap to keep."]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (None, 20, "Give both a start and an end for the edited span."),
        (10, None, "Give both a start and an end for the edited span."),
        (20, 20, "The edited span must start before it ends; got start 20 and end 20."),
        (25, 6, "The edited span must start before it ends; got start 25 and end 6."),
        (
            70,
            77,
            "The edited span must lie inside the fieldnote's text, which runs from 0 to 76; "
            "got 70 to 77.",
        ),
        (
            -1,
            5,
            "The edited span must lie inside the fieldnote's text, which runs from 0 to 76; "
            "got -1 to 5.",
        ),
    ],
)
def test_edited_span_is_checked(project, users, partial, start, end, message):
    with pytest.raises(ValidationError) as error:
        adjudication.resolve(
            disagreement=partial, resolution="edit", user=users["pi"], start=start, end=end
        )
    assert error.value.messages == [message]
    partial.refresh_from_db()
    assert (partial.resolution, Excerpt.objects.count()) == ("", 0)


def test_unknown_decision_is_refused(users, partial):
    with pytest.raises(ValidationError) as error:
        adjudication.resolve(disagreement=partial, resolution="maybe", user=users["pi"])
    assert error.value.messages == [
        "Choose one of the decisions: “Accept A”, “Accept B”, “Union”, “Intersection”, "
        "“Neither”, “Edited”."
    ]


# Settling into existing consensus coding, and settling again


def test_same_span_gets_the_code_instead_of_a_second_excerpt(project, users, partial, code):
    consensus = adjudication.consensus_coder_for(project)
    other = CodeFactory(codebook=project.codebook, name="Sense-making")
    existing = services.create_excerpt(
        fieldnote=partial.fieldnote, coder=consensus, start=6, end=25, codes=[other]
    )
    settled = adjudication.resolve(disagreement=partial, resolution="first", user=users["pi"])
    assert settled.consensus_excerpt == existing
    assert consensus_excerpts(project) == [
        (6, 25, "The meeting opened.", ["Protest", "Sense-making"])
    ]
    event = ExcerptEvent.objects.filter(excerpt_key=existing.pk).order_by("pk").last()
    assert (event.action, event.user, event.after["code_names"]) == (
        "changed",
        users["pi"],
        ["Protest", "Sense-making"],
    )
    # Changing one's mind takes back only the code this decision added.
    adjudication.resolve(disagreement=settled, resolution="neither", user=users["pi"])
    assert consensus_excerpts(project) == [(6, 25, "The meeting opened.", ["Sense-making"])]


def test_settling_again_replaces_the_earlier_result(project, users, partial):
    first = adjudication.resolve(disagreement=partial, resolution="first", user=users["pi"])
    earlier = first.consensus_excerpt.pk
    again = adjudication.resolve(disagreement=partial, resolution="union", user=users["pi"])
    assert consensus_excerpts(project) == [
        (6, 38, "The meeting opened.\n\n09:45 Grace", ["Protest"])
    ]
    assert again.resolution == "union"
    assert not Excerpt.objects.filter(pk=earlier).exists()
    deleted = ExcerptEvent.objects.get(excerpt_key=earlier, action="deleted")
    assert deleted.user == users["pi"]
    adjudication.resolve(disagreement=partial, resolution="neither", user=users["pi"])
    assert consensus_excerpts(project) == []
    partial.refresh_from_db()
    assert (partial.resolution, partial.consensus_excerpt) == ("neither", None)


def test_settling_again_on_the_same_span_keeps_the_excerpt(project, users, partial):
    first = adjudication.resolve(disagreement=partial, resolution="first", user=users["pi"])
    events = ExcerptEvent.objects.count()
    again = adjudication.resolve(
        disagreement=partial, resolution="edit", user=users["pi"], start=6, end=25
    )
    assert again.consensus_excerpt == first.consensus_excerpt
    assert (again.resolution, ExcerptEvent.objects.count()) == ("edit", events)


def test_two_decisions_on_one_span_share_it_until_both_are_undone(
    project, users, report, fieldnote, code, partial
):
    other = disagree(report, fieldnote, code, users["observer"], A, users["pi"], (0, 12))
    one = adjudication.resolve(disagreement=partial, resolution="first", user=users["pi"])
    two = adjudication.resolve(disagreement=other, resolution="first", user=users["pi"])
    assert one.consensus_excerpt == two.consensus_excerpt
    assert consensus_excerpts(project) == [(6, 25, "The meeting opened.", ["Protest"])]
    adjudication.reopen(disagreement=one, user=users["pi"])
    assert consensus_excerpts(project) == [(6, 25, "The meeting opened.", ["Protest"])]
    adjudication.reopen(disagreement=two, user=users["pi"])
    assert consensus_excerpts(project) == []


def test_reopen_takes_the_result_back(project, users, partial):
    settled = adjudication.resolve(
        disagreement=partial, resolution="edit", user=users["pi"], start=33, end=38
    )
    made = settled.consensus_excerpt.pk
    reopened = adjudication.reopen(disagreement=settled, user=users["pi"])
    assert (reopened.resolution, reopened.resolved_by, reopened.resolved_at) == ("", None, None)
    assert reopened.consensus_excerpt is None
    assert consensus_excerpts(project) == []
    assert ExcerptEvent.objects.get(excerpt_key=made, action="deleted").user == users["pi"]
    with pytest.raises(ValidationError) as error:
        adjudication.reopen(disagreement=reopened, user=users["pi"])
    assert error.value.messages == ["This disagreement is open already."]


def test_reopen_after_the_excerpt_was_deleted_elsewhere(project, users, partial):
    settled = adjudication.resolve(disagreement=partial, resolution="first", user=users["pi"])
    services.delete_excerpt(excerpt=settled.consensus_excerpt, user=users["pi"])
    reopened = adjudication.reopen(disagreement=partial, user=users["pi"])
    assert (reopened.resolution, consensus_excerpts(project)) == ("", [])


# Refusals that protect the data


def test_revised_fieldnote_is_refused(users, partial, fieldnote):
    create_version(
        fieldnote=fieldnote, text=fieldnote.text + " Later.", source_name="", source_format="paste"
    )
    with pytest.raises(ValidationError) as error:
        adjudication.resolve(disagreement=partial, resolution="first", user=users["pi"])
    assert error.value.messages == [
        "“Observer's notes” has been revised since this report (version 1 is no longer the "
        "latest), so the report's offsets no longer fit its text. Run the report again and "
        "settle the disagreement there."
    ]
    assert Excerpt.objects.count() == 0
    # Deciding that neither span counts needs no offsets.
    assert adjudication.resolve(
        disagreement=partial, resolution="neither", user=users["pi"]
    ).is_resolved


def test_archived_and_merged_codes_are_refused(project, users, partial, code):
    code.archived = True
    code.save()
    with pytest.raises(ValidationError) as error:
        adjudication.resolve(disagreement=partial, resolution="first", user=users["pi"])
    assert error.value.messages == [
        "The code “Protest” has been archived since this report. Restore it in the codebook to "
        "settle the disagreement with it."
    ]
    code.merged_into = CodeFactory(codebook=project.codebook, name="Dissent")
    code.save()
    with pytest.raises(ValidationError) as error:
        adjudication.resolve(disagreement=partial, resolution="first", user=users["pi"])
    assert error.value.messages == [
        "The code “Protest” was merged into “Dissent” after this report. Run the report again "
        "to settle the disagreement with that code."
    ]


# Discussion


def test_comments_are_kept_trimmed(users, partial):
    made = adjudication.add_comment(
        disagreement=partial, user=users["coder"], text="  I read it as the chair's opening.\n "
    )
    assert (made.author, made.text) == (users["coder"], "I read it as the chair's opening.")
    assert adjudication.add_comment(disagreement=partial, user=users["pi"], text="x" * 4000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   \n", "Write something before posting a comment."),
        (
            "x" * 4001,
            "A comment can be at most 4,000 characters; this one has 4,001. Split it into two, "
            "or shorten it.",
        ),
    ],
)
def test_empty_and_overlong_comments_are_refused(users, partial, text, message):
    with pytest.raises(ValidationError) as error:
        adjudication.add_comment(disagreement=partial, user=users["coder"], text=text)
    assert error.value.messages == [message]
    assert DisagreementComment.objects.count() == 0


def test_a_reason_given_when_settling_joins_the_discussion(project, users, partial):
    adjudication.resolve(
        disagreement=partial, resolution="first", user=users["pi"], note="The date is not data."
    )
    assert list(partial.comments.values_list("author__username", "text")) == [
        ("the-pi", "The date is not data.")
    ]


def test_a_refused_reason_leaves_nothing_settled(project, users, partial):
    with pytest.raises(ValidationError):
        adjudication.resolve(
            disagreement=partial, resolution="first", user=users["pi"], note="x" * 4001
        )
    partial.refresh_from_db()
    assert (partial.resolution, Excerpt.objects.count()) == ("", 0)


# The consensus coder behaves as a coder elsewhere


def test_consensus_coding_appears_in_retrieval_and_the_coding_page(
    login, project, users, partial, code, fieldnote
):
    settled = adjudication.resolve(disagreement=partial, resolution="first", user=users["pi"])
    consensus = adjudication.consensus_coder_for(project)
    client = login(users["pi"])
    page = client.get(reverse("analysis:retrieval", args=[project.pk, code.pk]))
    assert [hit.coder for hit in page.context["hits"]] == ["Consensus"]
    assert (consensus.pk, "Consensus") in page.context["choices"].coders
    csv = client.get(reverse("analysis:retrieval_csv", args=[project.pk, code.pk]))
    # Exports name coders by username, a stable key for quantitative colleagues.
    assert csv.content.decode().splitlines()[1] == (
        f"Protest,{settled.consensus_excerpt.pk},Learning event,Observer's notes,The observer,"
        f"consensus-{project.pk},6,25,,The meeting opened.,,false"
    )
    coding = client.get(reverse("coding:coding_page", args=[project.pk, fieldnote.pk]))
    assert consensus in coding.context["coders"]
    assert f"id=excerpt-{settled.consensus_excerpt.pk} " in coding.content.decode()


def test_members_page_shows_the_consensus_coder_without_controls(login, project, users):
    consensus = adjudication.consensus_coder_for(project)
    membership = project.memberships.get(user=consensus)
    content = login(users["pi"]).get(reverse("projects:members", args=[project.pk]))
    html = content.content.decode()
    row = html[html.index(f'id="member-{membership.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Consensus (settled coding)" in row
    assert "<select" not in row and "Remove" not in row and "(invited)" not in row
    assert [m.user.username for m in content.context["memberships"]][-1] == consensus.username


def test_members_page_refuses_to_change_or_remove_the_consensus_coder(login, project, users):
    membership = project.memberships.get(user=adjudication.consensus_coder_for(project))
    client = login(users["pi"])
    response = client.post(
        reverse("projects:member_role", args=[project.pk, membership.pk]),
        {"role": "pi"},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "The consensus coder holds the settled coding: its role cannot change."
    ]
    response = client.post(
        reverse("projects:member_remove", args=[project.pk, membership.pk]), follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        "The consensus coder holds the settled coding: it cannot be removed."
    ]
    membership.refresh_from_db()
    assert (membership.role, project.pi_count()) == (Role.CODER, 1)
