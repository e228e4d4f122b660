"""The API page: a user's personal tokens (made, shown once, revoked) and the way to the docs and the schema."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from labweb.fleet.roles import user_is_operator

from . import selectors, services
from .forms import TokenForm


def token_list(request):
    """GET: the page; POST: make a token and show it on this one answer only (it is stored hashed)."""
    form = TokenForm(request.POST or None, user=request.user)
    new_token = None
    if request.method == "POST" and form.is_valid():
        token, new_token = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
        form = TokenForm(user=request.user)
    context = {"nav": "api", "form": form, "new_token": new_token, "is_operator": user_is_operator(request.user),
               "tokens": selectors.api_token_list(user=request.user)}
    response = render(request, "api/tokens.html", context)
    if new_token:
        response["Cache-Control"] = "no-store"  # the token must not stay in a cache or the browser's history
    return response


@require_POST
def token_revoke(request, pk: int):
    if services.api_token_revoke(user=request.user, token_id=pk):
        messages.success(request, "Token revoked: scripts using it are refused from now on.")
    else:
        messages.error(request, "You have no such token.")
    return redirect("api-tokens")
