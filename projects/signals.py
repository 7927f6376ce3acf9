"""Every account gets its exchange GUID when it is made, so that no export ever has to mint one."""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import UserGuid


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="projects.user_guid")
def give_user_a_guid(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        UserGuid.objects.get_or_create(user=instance)
