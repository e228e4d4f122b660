#!/usr/bin/env python
"""Django's command-line utility for labweb (the installed `labweb` command is the same)."""

from labweb.cli import main

if __name__ == "__main__":
    main()
