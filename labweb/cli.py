"""`labweb`: the dashboard's command line (Django's manage.py with labweb's settings), installed as a script.

`labweb`, `labweb -h` and `labweb --help` list labweb's own commands first, without touching a database or a
data folder; every other argument goes to Django as it would to manage.py.
"""

import os
import sys

# labweb's own commands and the Django ones a lab uses, one line each, in the order a new lab needs them.
COMMANDS = (
    ("demo", "the whole system on this machine: the dashboard, simulated rigs and a server folder"),
    ("migrate", "create or upgrade the database (SQLite by default, PostgreSQL with DATABASE_URL)"),
    ("createsuperuser", "make an account; add people to the Operators group to let them drive rigs"),
    ("rig", "register rigs and their agent tokens: rig add | token | revoke | list | import | export"),
    ("collectstatic", "gather the pages' static files for a web server in front of daphne (see Deploying)"),
    ("check", "check the settings and the installation"),
    ("shell", "a Python shell with the dashboard's models"),
)
HELP_ARGS = ({"-h"}, {"--help"}, {"help"}, set())


def usage() -> str:
    width = max(len(name) for name, _ in COMMANDS)
    lines = ["usage: labweb COMMAND [options]", "",
             "labweb: watch and drive every acquisition rig of a lab (the dashboard side).",
             "Serve it with daphne: daphne -b 0.0.0.0 -p 8000 labweb.asgi:application", "",
             "Commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in COMMANDS]
    lines += ["", "`labweb COMMAND --help` explains one; `labweb help --commands` lists every Django command too.",
              "Settings come from the environment (LABWEB_DATA_DIR, DATABASE_URL, REDIS_URL, ...: see the README).",
              "On rig PCs the agent is `labweb-rig`."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = list(argv if argv is not None else sys.argv)
    if set(argv[1:]) in HELP_ARGS:
        print(usage())
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labweb.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
