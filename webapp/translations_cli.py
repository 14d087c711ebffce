"""`flask --app webapp translate extract|update|compile|init LANG`: maintain gettext catalogs.

Runs Babel's own command-line front end in-process with the project's mapping and keywords,
so there is one way to do it and no shell strings.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from babel.messages.frontend import CommandLineInterface
from flask.cli import AppGroup

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
# `N_` marks strings in the pure core; `_l` / `lazy_gettext` are lazy strings in forms and tables.
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext", "-k", "N_"]

translate_cli = AppGroup("translate", help="Extract, update and compile translations.")


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", *args])


@translate_cli.command("extract")
def extract() -> None:
    """Write translations/messages.pot from the code and templates."""
    # Relative paths keep the catalogs' source references the same on every machine.
    os.chdir(ROOT)
    pybabel("extract", "-F", "babel.cfg", *KEYWORDS, "--sort-by-file", "--no-wrap",
            "-o", str(TEMPLATE.relative_to(ROOT)), "webapp")


@translate_cli.command("update")
def update() -> None:
    """Extract, then merge new and changed strings into every language's catalog."""
    extract.callback()  # type: ignore[misc]
    pybabel("update", "--no-wrap", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS))


@translate_cli.command("init")
@click.argument("language")
def init(language: str) -> None:
    """Start a catalog for a new LANGUAGE code."""
    extract.callback()  # type: ignore[misc]
    pybabel("init", "--no-wrap", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS), "-l", language)


@translate_cli.command("compile")
def compile_catalogs() -> None:
    """Compile every catalog to the .mo files the app reads."""
    pybabel("compile", "--statistics", "-d", str(TRANSLATIONS))
