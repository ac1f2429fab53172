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
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from dexio import __version__
from dexio.errors import DexioError
from dexio.secrets import Secret, redact

if TYPE_CHECKING:
    from dexio.dex import Dex, DexLegacy

F = TypeVar("F", bound=Callable[..., Any])

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


#: One --region for every command that cleans phone numbers (import, dedupe, migrate, fix).
region_option = click.option(
    "--region", help="Country for phone numbers without +, e.g. GB or DE [default: locale]."
)


# -- consolidation: the Dex account a command works on --
def _dex_options(sandbox_help: str = "Work on the embedded sandbox.") -> Callable[[F], F]:
    """``--sandbox`` and ``--api-key``, the two ways a command chooses its Dex account."""

    def apply(command: F) -> F:
        command = click.option("--api-key", help="Dex API key [default: $DEX_API_KEY].")(command)
        return click.option("--sandbox", is_flag=True, help=sandbox_help)(command)

    return apply


def _open_dex(
    stack: ExitStack,
    sandbox: bool,
    api_key: str | None = None,
    *,
    concurrency: int = 4,
    legacy: bool = False,
    label: str = "sandbox",
) -> tuple[Dex, DexLegacy | None]:
    """A Dex client (and the legacy API's, if asked) on the embedded sandbox, whose database
    is named on stderr, or on the account of ``api_key`` / DEX_API_KEY; closed with
    ``stack``."""
    from dexio.dex import Dex, DexLegacy

    key: Secret | str | None = api_key
    base_url: str | None = None
    legacy_url: str | None = None
    if sandbox:
        from dexio.sandbox import embedded

        box = stack.enter_context(embedded())
        err_console.print(f"{label}: {escape(str(box.db_path))}")
        key, base_url, legacy_url = box.api_key, box.base_url, box.legacy_url
    dex = stack.enter_context(Dex(api_key=key, base_url=base_url, concurrency=concurrency))
    old = stack.enter_context(DexLegacy(api_key=key, base_url=legacy_url)) if legacy else None
    return dex, old


# -- readers --
@cli.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--mapping", "-m", help="Mapping name (see `dexio mappings list`) or TOML path.")
@click.option("--sheet", help="Workbook sheet to read (name or 0-based index); default: all.")
@click.option("--rows", default=5, show_default=True, help="How many first rows to show.")
def inspect_command(file: str, mapping: str | None, sheet: str | None, rows: int) -> None:
    """Show what dexio understands of FILE: format, mapping, fill rates, first rows, problems."""
    from dexio.readers import fill_rates, inspect
    from dexio.readers.render import render_reading

    sheet_arg: str | int | None = int(sheet) if sheet is not None and sheet.isdigit() else sheet
    reading = inspect(file, mapping=mapping, sheet=sheet_arg)
    render_reading(out_console, reading, fill_rates(reading.frame), rows=rows)


@cli.group("mappings")
def mappings_group() -> None:
    """List and show the mapping files that turn columns into Dex fields."""


@mappings_group.command("list")
def mappings_list() -> None:
    """List the shipped mappings (mappings/*.toml)."""
    from dexio.mapping import available_mappings
    from dexio.readers.render import render_mapping_list

    render_mapping_list(out_console, available_mappings())


@mappings_group.command("show")
@click.argument("name")
def mappings_show(name: str) -> None:
    """Show one mapping (by name or path): its header signature and column -> field rules."""
    from dexio.mapping import load_mapping
    from dexio.readers.render import render_mapping

    render_mapping(out_console, load_mapping(name))


# -- sandbox --
@cli.group("sandbox")
def sandbox_group() -> None:
    """Run a local server that behaves like Dex, for rehearsals and tests."""


@sandbox_group.command("serve")
@click.option("--port", type=int, default=8765, show_default=True, help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--db", type=click.Path(dir_okay=False), help="SQLite file [default: user data dir].")
@click.option(
    "--api-key",
    envvar="DEXIO_SANDBOX_API_KEY",
    help="Key the sandbox accepts [default: dex_sandbox_key].",
)
@click.option("--api", default="dex", show_default=True, help="Which API to emulate.")
@click.option("--port-file", type=click.Path(dir_okay=False), help="Write the port here.")
@click.option("--rate-limit", type=float, help="Requests per second; beyond -> 429.")
@click.option("--fail-rate", type=float, default=0.0, help="Share of requests answered 5xx.")
@click.option("--latency", type=float, default=0.0, help="Seconds added to every request.")
@click.option("--drop-after-commit", type=float, default=0.0, help="Share of writes cut off.")
@click.option("--page-cap", type=int, help="Lists return at most N items (Dex: 500).")
@click.option("--list-summaries", is_flag=True, help="Contact lists carry only names.")
@click.option("--ignore-cursor", is_flag=True, help="Lists always return the first page.")
@click.option("--seed", type=int, help="Seed for reproducible random faults.")
@click.option(
    "--burst-limit",
    type=int,
    help="--api ghl: enforce N requests / 10 s (GHL: 100); whautomate: N / minute (100).",
)
@click.option("--search-cap", type=int, help="--api ghl: page-based search stops here (10000).")
@click.option("--allow-duplicates", is_flag=True, help="--api ghl: accept duplicate email/phone.")
def sandbox_serve(
    port: int,
    host: str,
    db: str | None,
    api_key: str | None,
    api: str,
    port_file: str | None,
    burst_limit: int | None,
    search_cap: int | None,
    allow_duplicates: bool,
    **faults: Any,
) -> None:
    """Serve the sandbox until Ctrl-C. The first line printed is the API base URL."""
    from dexio.sandbox import serve

    if api in ("ghl", "whautomate"):
        from dexio.sandbox.ghl import configure_emulator

        configure_emulator(
            api, burst_limit=burst_limit, search_cap=search_cap, allow_duplicates=allow_duplicates
        )
        if api == "ghl":  # on stderr: the first line on stdout must stay the base URL
            from dexio.sandbox import default_db_path
            from dexio.sandbox.ghl import location_of

            where = location_of(db or default_db_path("ghl"))
            err_console.print(f"GHL_LOCATION_ID={escape(where)}")

    def announce(line: str) -> None:
        click.echo(line)

    serve(
        host=host,
        port=port,
        db=db,
        api_key=api_key,
        api=api,
        port_file=port_file,
        announce=announce,
        **faults,
    )


# -- writers / export --
@cli.command("export")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["csv", "xlsx", "vcf", "jsonl", "parquet"]),
    help="Output format [default: from the -o extension, else csv].",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write.")
@click.option(
    "--layout",
    type=click.Choice(["dexio", "google", "outlook"]),
    default="dexio",
    show_default=True,
    help="Columns of csv/xlsx: dexio's own, or what Google / Outlook import.",
)
@click.option("--include", default="", help="Also export: notes,reminders.")
@click.option("--tag", help="Only contacts with this tag (case-insensitive).")
@click.option("--archived", is_flag=True, help="Include archived contacts.")
@click.option("--raw", is_flag=True, help="Do not neutralise cells that look like formulas.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--vcard-version", type=click.Choice(["3", "4"]), default="4", show_default=True)
@click.option("--legacy", is_flag=True, help="Read notes and reminders from the legacy API.")
@_dex_options("Export from the embedded local sandbox.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def export_command(
    format_: str | None,
    output: str | None,
    layout: str,
    include: str,
    tag: str | None,
    archived: bool,
    raw: bool,
    force: bool,
    vcard_version: str,
    legacy: bool,
    sandbox: bool,
    api_key: str | None,
    quiet: bool,
) -> int:
    """Export Dex contacts to a file (csv, xlsx, vcf, jsonl or parquet)."""
    from dexio.export import export

    path = output or f"dex-contacts.{format_ or 'csv'}"
    with ExitStack() as stack:
        dex, old = _open_dex(stack, sandbox, api_key, legacy=legacy)
        result = export(
            path,
            format=format_,
            layout=layout,
            include=include,
            tag=tag,
            archived=archived,
            force=force,
            raw=raw,
            vcard_version=int(vcard_version),
            dex=dex,
            legacy=old or False,
            progress=not quiet,
        )
    filtered = f" of {result.scanned}" if result.scanned != result.contacts else ""
    out_console.print(
        f"Exported {result.contacts}{filtered} contacts to {escape(str(result.path))}"
        f" ({result.format})"
    )
    for side in result.files[1:]:
        count = result.notes if side.stem == "notes" else result.reminders
        out_console.print(f"Exported {count} {side.stem} to {escape(str(side))}")
    if len(result.files) == 1 and (result.notes or result.reminders):
        out_console.print(f"Nested: {result.notes} notes, {result.reminders} reminders")
    if not result.complete or result.note:
        err_console.print(f"[yellow]warning:[/] {escape(result.note)}")
    # A listing cut short (Dex repeated a page) wrote fewer contacts than the account has.
    return EXIT_OK if result.complete else EXIT_PARTIAL


# -- import / plan --
@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=str))
@click.option("--mapping", "-m", help="Mapping name (see `dexio mappings list`) or TOML path.")
@region_option
@click.option("--dry-run", is_flag=True, help="Plan and write the report, send nothing.")
@click.option("--batch-size", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--concurrency", type=click.IntRange(1, 32), default=4, show_default=True)
@click.option("--tag", "tags", multiple=True, help="Tag everyone imported (repeatable).")
@click.option(
    "--on-existing",
    type=click.Choice(["update", "skip"]),
    default="update",
    show_default=True,
    help="What to do with people Dex already has.",
)
@click.option("--overwrite", is_flag=True, help="Replace non-empty Dex fields too.")
@click.option(
    "--match",
    type=click.Choice(["email", "full"]),
    default="email",
    show_default=True,
    help="full: also match by phone, LinkedIn and name+company against the whole account.",
)
@click.option("--report", "report_dir", type=click.Path(file_okay=False), help="Report folder.")
@_dex_options("Import into the embedded local sandbox.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary table.")
def import_command(
    files: tuple[str, ...],
    mapping: str | None,
    region: str | None,
    dry_run: bool,
    batch_size: int,
    concurrency: int,
    tags: tuple[str, ...],
    on_existing: str,
    overwrite: bool,
    match: str,
    report_dir: str | None,
    sandbox: bool,
    api_key: str | None,
    quiet: bool,
) -> int:
    """Import contact files into Dex: read, clean, de-duplicate, plan, upload, report.

    Every record ends in one of created/updated/merged/unchanged/rejected.csv in the report
    folder. Running the same command again resumes an interrupted run.
    """
    from dexio.pipeline import import_files

    with ExitStack() as stack:
        dex, _ = _open_dex(stack, sandbox, api_key, concurrency=concurrency)
        result = import_files(
            list(files),
            mapping=mapping,
            region=region,
            dry_run=dry_run,
            batch_size=batch_size,
            concurrency=concurrency,
            tags=tags,
            on_existing=on_existing,  # type: ignore[arg-type]
            overwrite=overwrite,
            match=match,  # type: ignore[arg-type]
            report_dir=report_dir,
            dex=dex,
            quiet=quiet,
            console=err_console if not quiet else None,
        )
    return result.exit_code


# -- dedupe --
@cli.command("dedupe")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--mapping", "-m", help="Mapping name or TOML path for every file [default: by header]."
)
@region_option
@click.option(
    "--out",
    "out_dir",
    default="dexio-dedupe",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the review files.",
)
@click.option("--trust", multiple=True, help="Preferred source file (repeat; most trusted first).")
@click.option("--exact-only", is_flag=True, help="Only exact e-mail/phone/LinkedIn matches.")
def dedupe_command(
    files: tuple[str, ...],
    mapping: str | None,
    region: str | None,
    out_dir: str,
    trust: tuple[str, ...],
    exact_only: bool,
) -> None:
    """Find the duplicates in FILES and write review files; touches no API.

    Writes clusters.csv (each group, survivor first, with the reason for every merge),
    merged-contacts.csv/.jsonl (one row per person), reasons.csv (every link, and every
    link refused by a guard rail) and shared-keys.csv into --out.
    """
    from rich.table import Table

    from dexio.dedupe import dedupe_files

    result = dedupe_files(
        list(files), mapping=mapping, region=region, trust=trust, fuzzy=not exact_only
    )
    paths = result.write(out_dir)
    table = Table(title="dedupe", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, count in result.summary().items():
        table.add_row(name.replace("_", " "), f"{count:,}")
    out_console.print(table)
    for path in paths:
        out_console.print(f"wrote {escape(str(path))}")


# -- migrate (GoHighLevel / Whautomate) --
@sandbox_group.command("seed")
@click.option(
    "--api",
    type=click.Choice(["ghl", "whautomate"]),
    required=True,
    help="Which emulator's database to load.",
)
@click.option("--db", type=click.Path(dir_okay=False), help="SQLite file [default: user data dir].")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def sandbox_seed(api: str, db: str | None, file: str) -> None:
    """Load sample data (samples/ghl/*.json, samples/whautomate/*.json) into an emulator.

    Run it before (or while) `dexio sandbox serve --api API --db SAME_FILE` serves it.
    """
    from dexio.sandbox import default_db_path

    target = db or str(default_db_path(api))
    if api == "ghl":
        from dexio.sandbox.ghl import seed_file
    else:
        from dexio.sandbox.whautomate import seed_file
    counts = seed_file(target, file)
    loaded = ", ".join(f"{n} {what}" for what, n in counts.items())
    out_console.print(f"loaded {escape(loaded)} into {escape(target)}")
    if api == "ghl":
        from dexio.sandbox.ghl import location_of

        out_console.print(f"GHL_LOCATION_ID={escape(location_of(target))}")


@cli.command("migrate")
@click.option("--from", "source", required=True, help="dex, ghl, whautomate, or a contact file.")
@click.option("--to", "destination", default="dex", show_default=True, help="dex, ghl, whautomate.")
@click.option("--dry-run", is_flag=True, help="Read and plan, write the report, send nothing.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), help="Report folder.")
@click.option(
    "--sandbox",
    is_flag=True,
    help="Use the local sandboxes: Dex, and the GoHighLevel/Whautomate emulator (seed it "
    "first with `dexio sandbox seed`).",
)
@click.option("--full", is_flag=True, help="Re-read every source record, not only changed ones.")
@click.option("--stage-tags", is_flag=True, help="Whautomate: tag contacts stage:<Stage>.")
@region_option
@click.option("--batch-size", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--concurrency", type=click.IntRange(1, 32), default=4, show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary table.")
def migrate_command(
    source: str,
    destination: str,
    dry_run: bool,
    report_dir: str | None,
    sandbox: bool,
    full: bool,
    stage_tags: bool,
    region: str | None,
    batch_size: int,
    concurrency: int,
    quiet: bool,
) -> int:
    """Move contacts with their notes, tasks/reminders and tags between Dex and another CRM.

    Keys come from GHL_TOKEN + GHL_LOCATION_ID (+ GHL_BASE_URL), WHAUTOMATE_API_KEY
    (+ WHAUTOMATE_HOST, WHAUTOMATE_LOCATION_ID) and DEX_API_KEY. Result files as for
    `import`; running it again creates nobody and updates only what changed in the source.
    """
    from dexio.ghl import GoHighLevel
    from dexio.migrate import migrate, parse_side
    from dexio.whautomate import Whautomate

    source, destination = parse_side(source), parse_side(destination)
    with ExitStack() as stack:
        ghl = wa = None
        dex, _ = _open_dex(stack, sandbox, concurrency=concurrency, label="Dex sandbox")
        if sandbox:
            from dexio.sandbox import embedded

            for side in {source, destination} & {"ghl", "whautomate"}:
                other = stack.enter_context(embedded(api=side))
                err_console.print(f"{side} emulator: {escape(str(other.db_path))}")
                if side == "ghl":
                    ghl = stack.enter_context(
                        GoHighLevel(
                            token=other.api_key,
                            location_id=other.store.store.location_id,
                            base_url=other.base_url,
                            concurrency=concurrency,
                        )
                    )
                else:
                    locations = other.store.store.all("locations")
                    wa = stack.enter_context(
                        Whautomate(
                            api_key=other.api_key,
                            host=other.base_url,
                            location_id=locations[0]["id"] if locations else None,
                        )
                    )
        result = migrate(
            source,
            destination,
            dry_run=dry_run,
            report_dir=report_dir,
            dex=dex,
            ghl=ghl,
            whautomate=wa,
            region=region,
            full=full,
            stage_tags=stage_tags,
            batch_size=batch_size,
            concurrency=concurrency,
            quiet=quiet,
            console=err_console if not quiet else None,
        )
    lost = result.summary.get("not_held_by_destination") or {}
    if lost and not quiet:
        where = result.summary.get("destination", destination)
        counts = ", ".join(f"{field} {n}" for field, n in lost.items())
        err_console.print(f"Fields {escape(where)} cannot hold (records): {escape(counts)}")
    return result.exit_code


# -- cleanup / undo --


@cli.command("cleanup")
@click.option(
    "--out",
    "out_dir",
    default="dexio-cleanup",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for review.csv, review.xlsx and snapshot.jsonl.",
)
@region_option
@_dex_options()
def cleanup_command(out_dir: str, region: str | None, sandbox: bool, api_key: str | None) -> None:
    """Find the duplicates already in Dex and write a review file; changes nothing.

    One row per proposed group (member ids, names, e-mails, phones, reason, proposed
    survivor). Put yes or no in the approve column, then run `dexio merge REVIEW_FILE`.
    """
    from dexio.cleanup import review_duplicates

    with ExitStack() as stack:
        dex, _ = _open_dex(stack, sandbox, api_key)
        review = review_duplicates(out_dir, dex=dex, region=region)
    out_console.print(
        f"contacts read: {review.contacts:,}; groups proposed: {review.groups.height:,} "
        f"(contacts merged away if all approved: {review.duplicates:,}); "
        f"left out as ignore_merge: {review.ignored:,}"
    )
    for path in review.files:
        out_console.print(f"wrote {escape(str(path))}")


@cli.command("merge")
@click.argument("review_file", type=click.Path(dir_okay=False))
@click.option("--report", "report_dir", type=click.Path(file_okay=False), help="Report folder.")
@click.option("--batch-size", type=click.IntRange(1, 50), default=50, show_default=True)
@click.option("--dry-run", is_flag=True, help="Check the file against Dex, merge nothing.")
@_dex_options()
def merge_command(
    review_file: str,
    report_dir: str | None,
    batch_size: int,
    dry_run: bool,
    sandbox: bool,
    api_key: str | None,
) -> int:
    """Merge the groups marked yes in REVIEW_FILE (from `dexio cleanup`) in Dex.

    Groups marked no are flagged ignore_merge so they are not proposed again. Resumable:
    run the same command again after an interruption; no group is merged twice.
    """
    from dexio.cleanup import merge

    with ExitStack() as stack:
        dex, _ = _open_dex(stack, sandbox, api_key)
        result = merge(
            review_file, dex=dex, report_dir=report_dir, batch_size=batch_size, dry_run=dry_run
        )
    body = result.summary()
    verb = "to merge (dry run)" if dry_run else "merged"
    out_console.print(
        f"groups {verb}: {body['groups_merged']:,}; contacts removed: "
        f"{body['contacts_removed']:,}; groups flagged ignore_merge: "
        f"{body['groups_rejected_ignore_merge']:,}; groups skipped: {body['groups_skipped']:,}"
    )
    for reason, count in body["skipped_by_reason"].items():
        out_console.print(f"  skipped, {escape(reason)}: {count:,}")
    for problem in result.problems:
        err_console.print(f"[yellow]warning:[/] {escape(problem)}")
    for path in result.files:
        out_console.print(f"wrote {escape(str(path))}")
    return result.exit_code


@cli.command("fix")
@click.option("--phones", is_flag=True, help="Phones to E.164 (default: phones and e-mails).")
@click.option("--emails", is_flag=True, help="E-mails trimmed, validated, repeats removed.")
@click.option("--apply", is_flag=True, help="Write the changes (default: only report them).")
@region_option
@click.option(
    "--report",
    "report_dir",
    default="dexio-fix",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for fix-changes.csv.",
)
@_dex_options()
def fix_command(
    phones: bool,
    emails: bool,
    apply: bool,
    region: str | None,
    report_dir: str,
    sandbox: bool,
    api_key: str | None,
) -> None:
    """Normalise the phones and e-mails already in Dex; a dry run unless --apply."""
    from dexio.cleanup import fix

    if not phones and not emails:
        phones = emails = True
    with ExitStack() as stack:
        dex, _ = _open_dex(stack, sandbox, api_key)
        result = fix(
            phones=phones, emails=emails, apply=apply, region=region, dex=dex, report_dir=report_dir
        )
    changed = result.changes.height
    if apply:
        out_console.print(f"contacts read: {result.scanned:,}; updated: {result.updated:,}")
    else:
        out_console.print(
            f"contacts read: {result.scanned:,}; to change: {changed:,} (dry run: add --apply)"
        )
    for path in result.files:
        out_console.print(f"wrote {escape(str(path))}")


@cli.command("undo")
@click.argument("report_dir", type=click.Path(file_okay=False))
@click.option("--yes", is_flag=True, help="Make the changes (default: only report them).")
@_dex_options()
def undo_command(report_dir: str, yes: bool, sandbox: bool, api_key: str | None) -> int:
    """Take back the import or migration recorded in REPORT_DIR; a dry run unless --yes.

    Deletes the contacts it created, restores the ones it updated, removes the notes,
    reminders and tags it added. Contacts edited in Dex since are left alone and listed.
    """
    from dexio.undo import undo

    with ExitStack() as stack:
        dex, _ = _open_dex(stack, sandbox, api_key)
        result = undo(report_dir, dex=dex, yes=yes)
    if not result.runs and not result.actions.height:
        out_console.print("nothing to undo: every run in this folder is already undone")
    for what, count in result.summary()["counts"].items():
        out_console.print(f"{escape(what)}: {count:,}")
    for row in result.left_alone.head(20).iter_rows(named=True):
        out_console.print(
            f"left alone: {row['kind']} {row['contact_id']} ({escape(row['reason'] or '')})"
        )
    if not yes:
        out_console.print("dry run: nothing was changed; add --yes to undo")
    for path in result.files:
        out_console.print(f"wrote {escape(str(path))}")
    return result.exit_code


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
