"""The rig name rule, the same as the agent's rig.yaml check."""

from django.core.validators import RegexValidator

rig_name_validator = RegexValidator(
    r"(?a)^[A-Za-z0-9][\w.-]{0,63}\Z",
    "Rig names start with a letter or digit and hold letters, digits, '_', '.' and '-' (64 at most).",
)
