"""The JSON API for scripts: read the records, drive the rigs, with the browser's rules."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "labweb.api"
    label = "api"
    verbose_name = "Scripting API"

    def ready(self) -> None:
        # Registers how the OpenAPI schema describes personal tokens (drf-spectacular finds extensions on import).
        from . import authentication  # noqa: F401
