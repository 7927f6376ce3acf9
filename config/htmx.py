from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def render_page(request, template: str, context: dict, *, fragment: str | None = None, status=200):
    """The whole page, or only its `fragment` partial when htmx asks for a piece of it.

    A history-restore request wants the whole page, although it comes from htmx.
    """
    htmx = getattr(request, "htmx", None)
    if fragment and htmx and not htmx.history_restore_request:
        template = f"{template}#{fragment}"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
