"""Name rules shared with the lab server's pipeline (DESIGN 4.2)."""

from django.core.validators import RegexValidator

# ibllib reads device stubs with [\w-]+: a dot in a subject name breaks the server's parsing of its stub.
subject_name_validator = RegexValidator(
    r"^[\w-]+\Z",
    "Subject names may hold letters, digits, '_' and '-' only (no dots or spaces): "
    "the lab server's pipeline cannot read any other.",
)
