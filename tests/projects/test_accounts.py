"""Login, password change and reset: the account pages around the app."""

import re

from django.core import mail
from django.urls import reverse


def test_login_with_wrong_password_says_so(client, users):
    response = client.post(reverse("login"), {"username": "the-coder", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.content.decode()


def test_login_then_lands_on_projects(client, users):
    response = client.post(
        reverse("login"), {"username": "the-coder", "password": "correct-horse-battery"}
    )
    assert response["Location"] == reverse("projects:list")


def test_password_reset_round_trip(client, users):
    response = client.post(reverse("password_reset"), {"email": users["coder"].email})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox[0].subject == "Reset your Triangulate password"
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"] is True
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-long-new-passphrase", "new_password2": "a-long-new-passphrase"},
    )
    assert response["Location"] == reverse("password_reset_complete")
    users["coder"].refresh_from_db()
    assert users["coder"].check_password("a-long-new-passphrase")


def test_password_change_keeps_user_logged_in(client, users):
    client.force_login(users["coder"])
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "correct-horse-battery",
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )
    assert response["Location"] == reverse("password_change_done")
    assert client.get(reverse("projects:list")).status_code == 200
