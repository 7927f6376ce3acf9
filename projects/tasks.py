from celery import shared_task
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(membership_id: int) -> bool:
    """Emails a new member; safe to run twice: a membership is invited once."""
    from .models import Membership

    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("project", "user", "invited_by")
            .filter(pk=membership_id)
            .first()
        )
        if membership is None or membership.invitation_sent_at is not None:
            return False
        user = membership.user
        if user.has_usable_password():
            link = settings.SITE_URL + reverse("projects:home", args=[membership.project_id])
        else:
            uid = urlsafe_base64_encode(force_bytes(user.pk))
            token = default_token_generator.make_token(user)
            link = settings.SITE_URL + reverse("password_reset_confirm", args=[uid, token])
        context = {
            "membership": membership,
            "link": link,
            "new_account": not user.has_usable_password(),
        }
        send_mail(
            subject=f"You are invited to {membership.project.name} on Triangulate",
            message=render_to_string("projects/invitation_email.txt", context),
            from_email=None,
            recipient_list=[user.email],
        )
        membership.invitation_sent_at = timezone.now()
        membership.save(update_fields=["invitation_sent_at"])
    return True
