"""The typer application every command module registers on."""

from __future__ import annotations

import typer

EXIT_CODES_HELP = (
    "Exit codes: 0 delivered/accepted (warnings allowed), 1 blocked by validation errors, "
    "2 configuration, usage or input error, 3 a source could not be read, "
    "4 another run holds the lock."
)

app = typer.Typer(
    name="dakl-etl",
    help=(
        "From raw shelter registrations to DAKL files for the CBS Monitor Dakloosheid that "
        "pass on the first upload.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        from dakl_etl import __version__

        typer.echo(f"dakl-etl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        callback=_show_version,
        is_eager=True,
    ),
) -> None:
    """Root options; each command has its own --help."""
