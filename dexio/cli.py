"""The command line: parse arguments, call one library function, render the result.

Logic belongs in the library (scripts call the same functions). Exit codes are decided here
and only here:

====  =========================================================================
code  meaning
====  =========================================================================
0     everything went through
1     the run finished but some records were rejected or failed (see the report)
2     bad usage, unreadable input, a bad mapping file or missing configuration
3     a remote API failed in a way retries could not fix (auth, outage)
130   interrupted (Ctrl-C); the run can be resumed by running the same command
====  =========================================================================
"""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from dexio import __version__
from dexio.errors import DexioError
from dexio.secrets import redact

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_INTERRUPTED = 130

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="dexio")
def cli() -> None:
    """Move contacts in and out of the Dex personal CRM, in bulk.

    Files -> Dex with `import`, Dex -> files with `export`, any CRM to any other with
    `migrate`. Add --sandbox to rehearse against a local Dex-compatible server.
    """


# Commands are added below, one section per area. Keep each command thin: parse, call the
# library, render.


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``dexio`` console script: one place that maps errors to exit codes."""
    try:
        result: Any = cli.main(args=argv, prog_name="dexio", standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("Interrupted.")
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("Interrupted. Run the same command again to resume.")
        sys.exit(EXIT_INTERRUPTED)
    except DexioError as exc:
        err_console.print(f"[bold red]error:[/] {escape(redact(str(exc)))}")
        sys.exit(exc.exit_code)
    sys.exit(result if isinstance(result, int) else EXIT_OK)
