"""The ``casemix`` command line: a thin layer over the Python API."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from casemix.disclosure import check_threshold, mask_small_counts
from casemix.disclosure.tables import geography_table, nesting_of
from casemix.exceptions import CasemixError, CasemixWarning
from casemix.indicators import (
    DEFAULT_INDICATORS,
    PRESETS,
    DefinitionSettings,
    indicator_rates,
)
from casemix.indicators.derive import derive_indicators
from casemix.models import CaseMixModel, load_spec
from casemix.models.methods import METHOD_NAMES
from casemix.models.runs import (
    Run,
    check_run_target,
    check_writable,
    load_model,
    load_run,
    reproduce_run,
    save_run,
)
from casemix.models.spec import WEIGHTS_KINDS
from casemix.records import (
    UNIT_LEVELS,
    ColumnMapping,
    ValidationReport,
    load_births,
    write_table,
)
from casemix.records.shares import read_shares

#: Markup is off by default: unit labels, file names and messages are printed as they are
#: (a label such as ``[/x]`` is text, not markup); styled lines go through :func:`_say`.
console = Console(markup=False, highlight=False)
err_console = Console(stderr=True, markup=False, highlight=False)
#: Set by ``casemix --debug``: failures show their traceback.
DEBUG = {"on": False}
#: Exit codes: 2 for an input the command cannot use (data, spec, options, files), 1 for a
#: check that failed (validation, audit) or an internal error, 130 when interrupted.
EXIT_INPUT, EXIT_FAILED, EXIT_INTERRUPTED = 2, 1, 130


class SafeGroup(TyperGroup):
    """The one error path of every command: an expected failure (a casemix error, a value or
    file error) is one line ``error: what, where, how to fix`` and exit code 2; an internal
    error is one line with exit code 1 and a pointer to ``--debug``; Ctrl-C exits with 130
    after the command's own clean-up. ``--debug`` shows the traceback instead.

    Help is plain text (the app has ``rich_markup_mode=None``): bracketed text in a help
    string, such as ``{region: [neighbours]}``, prints as written. Each command's summary in
    ``casemix --help`` is the first paragraph of its help, not a sentence cut at ``e.g.``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for command in self.commands.values():
            _tidy_help(command)

    def invoke(self, ctx: Any) -> Any:  # typer's (vendored) click Context
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if _is_control(exc):  # typer's own exits, usage errors and aborts
                raise
            _handle(exc)
        except KeyboardInterrupt:
            if DEBUG["on"]:
                raise
            err_console.print("interrupted: nothing was left half-written.")
            raise typer.Exit(code=EXIT_INTERRUPTED) from None


def _tidy_help(command: Any) -> None:
    """Give ``command`` its summary line and argument labels (see :class:`SafeGroup`).

    Parameters
    ----------
    command : typer.core.TyperCommand
        A command of the app; changed in place.
    """
    if command.help and not command.short_help:
        command.short_help = " ".join(command.help.split("\n\n")[0].split())
    for param in command.params:
        if param.param_type_name == "argument" and param.metavar:
            # the metavar says what the argument is; typer would add its type (<path>)
            param.display_type_rich = lambda ctx: None


def _is_control(exc: BaseException) -> bool:
    """Exceptions of the CLI framework itself (exit codes, usage errors, aborts)."""
    return type(exc).__module__.split(".")[0] in ("typer", "click")


def _handle(exc: Exception) -> None:
    """An expected failure: one line, exit 2; anything else: one line, exit 1."""
    if DEBUG["on"]:
        raise exc
    if isinstance(exc, CasemixError | ValueError | OSError | KeyError):
        raise _fail(exc) from None
    _say(f"[bold red]internal error:[/] {escape(type(exc).__name__)}: "
         f"{escape(str(exc))}. Rerun with --debug for the traceback and report it.", err=True)
    raise typer.Exit(code=EXIT_FAILED) from None


app = typer.Typer(
    name="casemix",
    help="Case-mix adjustment and fair comparison of Dutch birth-outcome indicators.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # help as written: "[neighbours]" is text, not console markup
    pretty_exceptions_enable=False,
    cls=SafeGroup,
)


def _version(value: bool) -> None:
    """Print ``casemix <version>`` and exit (the eager ``--version`` option).

    Parameters
    ----------
    value : bool
        Whether ``--version`` was given.
    """
    if value:
        console.print(f"casemix {package_version()}")
        raise typer.Exit()


def package_version() -> str:
    """The installed version of casemix (``casemix.__version__`` when not installed)."""
    try:
        return metadata.version("casemix")
    except metadata.PackageNotFoundError:
        import casemix

        return casemix.__version__


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show the full traceback of a failure.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", help="Print the version of casemix and exit.", callback=_version,
        is_eager=True)] = False,
) -> None:
    """Case-mix adjustment and fair comparison of Dutch birth-outcome indicators."""
    DEBUG["on"] = debug


def _say(text: str, *, err: bool = False) -> None:
    """Print a line with casemix's own styling (user values in it must be escaped)."""
    (err_console if err else console).print(text, markup=True)


def _choices(names: Iterable[str]) -> str:
    """The metavar of an option with fixed values: ``[a|b|c]``."""
    return f"[{'|'.join(names)}]"


#: Values of options the package checks itself (its own error names the choices); the
#: heavy modules that define them are imported only by the commands that need them.
INVALID_CHOICES = ("exclude", "missing", "error")  # casemix.records.validation
TRENDS = ("rw1", "shared")  # casemix.bayes.trend.TRENDS
BREAKDOWN_NAMES = ("education", "income_quintile", "migration_background")  # inequality
LANGUAGES = ("nl", "en")  # casemix.report.i18n.LANGUAGES
PUBLISH_FORMATS = ("statline",)  # casemix.workflow.publish.FORMATS

MappingOpt = Annotated[str | None, typer.Option(
    "--mapping", "-m", metavar="PRESET|FILE",
    help="Column mapping: preset name ('perined') or a TOML file.")]
AllowSmallOpt = Annotated[bool, typer.Option(
    "--allow-small-counts",
    help="Permit a disclosure threshold below 10 (recorded in the manifest).")]
SepOpt = Annotated[str | None, typer.Option(
    "--sep", metavar="CHAR",
    help="CSV delimiter (',', ';', 'tab', '|'); default: sniffed, and said.")]
DecimalOpt = Annotated[str | None, typer.Option(
    "--decimal", metavar=_choices(".,"), help="CSV decimal mark; default: sniffed.")]
EncodingOpt = Annotated[str | None, typer.Option(
    "--encoding", metavar="NAME",
    help="CSV encoding (utf-8, cp1252, latin-1, ...); default: sniffed.")]
InvalidOpt = Annotated[str, typer.Option(
    metavar=_choices(INVALID_CHOICES),
    help="Impossible values: 'exclude' the row, set to 'missing', or 'error'.")]
ENGINE_NAMES = ("duckdb", "pandas", "pyspark")  # casemix.engine.ENGINES
EngineOpt = Annotated[str | None, typer.Option(
    "--engine", metavar=_choices(ENGINE_NAMES),
    help="Who reads the births: duckdb (in batches, memory flat in the births; the default "
    "for .parquet and .csv files, folders of Parquet files and globs), pandas (whole, in "
    "memory; SPSS files, weights and shares), pyspark (the batches run where Spark holds the "
    "data).")]
DATA_HELP = ("Births: a .csv, .parquet or .sav file, a folder of Parquet files, or a glob "
             "('births/*.parquet').")


@contextmanager
def _step(description: str) -> Iterator[None]:
    """Show a spinner with elapsed time on stderr while a long step runs (transient: gone
    when the step ends; none when stderr is a pipe or a log, which would keep a blank line).

    Parameters
    ----------
    description : str
        What the step does, printed as written.
    """
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err_console, transient=True,
                  disable=not err_console.is_terminal) as progress:
        progress.add_task(escape(description), total=None)
        yield


def _fail(exc: Exception) -> typer.Exit:
    """One line for an expected failure, and exit code 2 (with ``--debug``: the traceback
    first)."""
    if DEBUG["on"]:
        import traceback

        traceback.print_exception(exc)
    message = _message(exc)
    _say(f"[bold red]error:[/] {escape(message)}", err=True)
    return typer.Exit(code=EXIT_INPUT)


def _message(exc: BaseException) -> str:
    """The user-facing text of an error: file errors name the file and what to do."""
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {exc.filename}. Check the path."
    if isinstance(exc, PermissionError):
        return (f"cannot write or read {exc.filename}: permission denied. Choose a location "
                "you can write to.")
    if isinstance(exc, IsADirectoryError):
        return f"{exc.filename} is a folder, not a file."
    if isinstance(exc, KeyError):
        return f"column or key {exc} not found in the data or the spec."
    return " ".join(str(exc).split("\n")) or type(exc).__name__


def _n(count: float) -> str:
    """A count as the command shows it: 1..9 as ``<10`` (the disclosure rule)."""
    return "<10" if 0 < count < 10 else f"{int(count):,}"


def _missing(value: Any) -> bool:
    """Whether a value read from a table is missing (None, NaN, NA): a suppressed cell."""
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _shown(value: Any, spec: str = "", missing: str = "suppressed") -> str:
    """A value as printed: formatted with ``spec``, or ``missing`` (never ``nan``)."""
    return missing if _missing(value) else format(value, spec)


def _select_years(report: ValidationReport, years: list[int] | None) -> ValidationReport:
    """The births of ``years`` (every year when None, with a note when there are several);
    the births of other years are counted in the note, not dropped silently."""
    births = report.births
    if "year" not in births:
        return report
    present = tuple(sorted(int(y) for y in births["year"].dropna().unique()))
    keep = births["year"].isin(years or present)
    _said_years(present, years, int((~keep).sum()))
    if not years:
        return report
    return dataclasses.replace(report, births=births[keep].reset_index(drop=True))


def _said_read(report: ValidationReport) -> None:
    """How a CSV file was read (delimiter, decimal mark, encoding; sniffed or given)."""
    read = getattr(report, "read_assumptions", None)
    if read is not None and read.format == "csv":
        err_console.print(read.describe())


def _print_report(report: ValidationReport) -> None:
    colour = "green" if report.ok else "red"
    _say(f"[bold {colour}]{'Valid' if report.ok else 'Invalid'}[/]: "
         f"{report.n_input:,} rows read, {report.n_excluded:,} excluded, "
         f"{report.kept:,} kept")
    if report.problems:
        table = Table("severity", "column", "rows", "message", show_lines=False)
        style = {"error": "red", "warning": "yellow", "info": "dim"}
        for p in report.problems:
            table.add_row(Text(p.severity, style=style[p.severity]), p.column,
                          f"{p.n_rows:,}", p.message)
        console.print(table)


def _load_run(run: Path) -> tuple[Run, ValidationReport]:
    """A run folder and its births (read as recorded, checked against the fingerprint)."""
    with _step(f"Checking the run folder {run}"):
        loaded = load_run(run)
    with _step(f"Reading {loaded.manifest.get('data_file')}"):
        return loaded, loaded.read_births()


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="FILE", help="Births file to write (.parquet, .csv or .sav); the "
        "truth, adjacency lists and boundaries are written beside it.")] = Path("cohort.parquet"),
    n_births: Annotated[int, typer.Option(metavar="N", help="Number of births.")] = 170_000,
    years: Annotated[list[int] | None, typer.Option(
        "--year", metavar="YEAR", help="Year(s) of birth; repeat for several years.")] = None,
    seed: Annotated[int, typer.Option(
        metavar="N", help="Random seed (same seed, same cohort).")] = 20261123,
    births_seed: Annotated[int | None, typer.Option(
        metavar="N", help="Seed of the births alone: the country (units, geography) and the "
        "true unit effects of --seed with new births, e.g. a next year: --year 2025 "
        "--births-seed 2025.")] = None,
    mapping: Annotated[str | None, typer.Option(
        "--mapping", "-m", metavar="PRESET|FILE", help="Write the births as a registry extract: "
        "the source names and codes of this mapping ('perined' or a TOML file), with the "
        "registry's percentile; a .sav gets value labels and user-missing codes. Read it back "
        "with the same --mapping.")] = None,
    published: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Also write a sample table of published figures (CSV: unit, year, "
        "indicator, numerator, denominator per VSV; perinatal mortality counted as older "
        "Perined editions do, counts below 10 blank), for `casemix align` and `casemix report "
        "--reference`.")] = None,
    boundary_changes: Annotated[bool, typer.Option(
        "--boundary-changes", help="Give the births of years before the last one the codes "
        "of a synthetic merger (GM9001 + GM9002 -> GM0001) and split (GM9003 -> GM0002, "
        "GM0003) dated 1 January of the last year, and write <stem>_crosswalk.csv and "
        "<stem>_regions.csv beside the births, for `casemix geography harmonise`.")] = False,
    nonresponse: Annotated[bool, typer.Option(
        "--nonresponse", help="Write only the births a registry with non-response would hold: "
        "in the 4 largest VSVs births of income quintiles 1-2 (or without a linked income) "
        "respond 30% and the others 80%, elsewhere 92%. The truth stays that of all births.")
    ] = False,
    register_margins: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Also write the population register's margins of all simulated "
        "births (CSV: births per VSV x income quintile and per maternal-age band), for "
        "`casemix weights --margins`.")] = None,
) -> None:
    """Simulate a realistic synthetic national birth cohort with known unit effects."""
    from casemix.simulation import simulate_cohort  # here: geometry, only for this command
    from casemix.simulation.extract import load_mapping

    try:
        extract = None if mapping is None else load_mapping(mapping)  # before simulating
    except CasemixError as exc:
        raise _fail(exc) from exc
    with _step(f"Simulating {n_births:,} births"):
        cohort = simulate_cohort(n_births, years=tuple(years or (2024,)), seed=seed,
                                 births_seed=births_seed)
    changes = None
    if boundary_changes:
        from casemix.simulation.boundary_changes import cohort_with_boundary_changes

        cohort, changes = cohort_with_boundary_changes(
            cohort, seed=seed if births_seed is None else births_seed)
    population = cohort.births
    if nonresponse:
        from casemix.simulation import apply_nonresponse

        cohort = dataclasses.replace(cohort, births=apply_nonresponse(
            population, seed=seed if births_seed is None else births_seed).respondents)
    with _step(f"Writing {out}"):
        truth_path = _write_cohort(cohort, out, extract)
        if changes is not None:
            changes.crosswalk.to_csv(out.with_name(f"{out.stem}_crosswalk.csv"), index=False)
            changes.regions.to_csv(out.with_name(f"{out.stem}_regions.csv"), index=False)
    _say(f"Wrote {len(cohort.births):,} births to [bold]{escape(str(out))}[/]"
         f"{' (mapping ' + escape(extract.name) + ')' if extract else ''} and the true unit "
         f"effects to [bold]{escape(str(truth_path))}[/].")
    if changes is not None:
        _say(f"Wrote the synthetic boundary changes to [bold]{escape(out.stem)}_crosswalk.csv"
             f"[/] and [bold]{escape(out.stem)}_regions.csv[/] (births before "
             f"{int(cohort.births['year'].max())} carry the codes valid then).")
    if nonresponse:
        _say(f"Non-response: {len(cohort.births):,} of {len(population):,} births were "
             "written.")
    if register_margins is not None:
        from casemix.simulation import register_margins as margins_of

        margins_of(population).to_frame().to_csv(register_margins, index=False)
        _say(f"Wrote the register margins of all {len(population):,} births to "
             f"[bold]{escape(str(register_margins))}[/].")
    if published is not None:
        from casemix.simulation import published_figures

        with _step(f"Counting the published figures for {published}"):
            write_table(published_figures(cohort.births), published)
        _say(f"Wrote sample published figures to [bold]{escape(str(published))}[/].")


def _write_cohort(cohort: Any, out: Path, mapping: ColumnMapping | None) -> Path:
    """The births (canonical, or as a registry extract of ``mapping``), the truth, the
    adjacency lists and the settings; returns the truth file."""
    if mapping is None:
        write_table(cohort.births, out)
    else:
        from casemix.simulation import registry_extract

        registry_extract(cohort.births, mapping).write(out)
    truth_path = out.with_name(f"{out.stem}_truth.csv")
    cohort.truth.to_csv(truth_path, index=False)
    if cohort.geography is not None:  # neighbour lists for `casemix fit --method bym2`
        for level in ("vsv", "municipality"):
            cohort.geography.neighbours(level).to_csv(
                out.with_name(f"{out.stem}_adjacency_{level}.csv"), index=False)
        out.with_name(f"{out.stem}_boundaries.geojson").write_text(  # for the report's maps
            json.dumps(cohort.geography.boundaries()), "utf-8")
    out.with_name(f"{out.stem}_simulation.json").write_text(
        json.dumps(cohort.parameters, indent=2))
    return truth_path


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(metavar="FILE", help=DATA_HELP)],
    mapping: MappingOpt = None,
    sep: SepOpt = None,
    decimal: DecimalOpt = None,
    encoding: EncodingOpt = None,
    invalid: InvalidOpt = "exclude",
    exclusions: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Write the exclusion log to this CSV.")] = None,
    engine: EngineOpt = None,
) -> None:
    """Check a births file against the canonical schema; exit code 1 on fatal problems."""
    try:
        chosen = _engine(engine, file)
        with _step(f"Reading and validating {file} ({chosen})"):
            report, _ = _read(file, [], chosen, errors="report", mapping=mapping,
                              invalid=invalid, sep=sep, decimal=decimal, encoding=encoding)
            _said_read(report)
    except (CasemixError, ValueError) as exc:
        raise _fail(exc) from exc
    _print_report(report)
    if exclusions is not None:
        report.exclusions.to_frame().to_csv(exclusions, index=False)
    if not report.ok:
        raise typer.Exit(code=1)


@app.command()
def indicators(
    file: Annotated[Path, typer.Argument(metavar="FILE", help=DATA_HELP)],
    by: Annotated[list[str] | None, typer.Option(
        metavar=_choices(UNIT_LEVELS), help="Unit level; repeat for several.")] = None,
    indicator: Annotated[list[str] | None, typer.Option(
        metavar="NAME", help="Indicator; repeat for several "
        f"({', '.join(i.name for i in DEFAULT_INDICATORS)}). Default: all available.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="FILE", help="Write the table to this CSV.")] = None,
    mapping: MappingOpt = None,
    sep: SepOpt = None,
    decimal: DecimalOpt = None,
    encoding: EncodingOpt = None,
    invalid: InvalidOpt = "exclude",
    definitions: Annotated[str, typer.Option(
        metavar=_choices(PRESETS), help="Definition preset: monitor-2022 (Kansrijke Start "
        "monitor, the default), diaper (RIVM's DIAPER scripts), perined-22wk (older "
        "publications), casemix-2026.1.")] = "monitor-2022",
    min_ga_weeks: Annotated[int | None, typer.Option(
        metavar="N", help="Override the preset's minimum gestational age, in completed weeks."
    )] = None,
    breakdown: Annotated[list[str] | None, typer.Option(
        metavar=_choices(BREAKDOWN_NAMES), help="Break down by social group (repeat, or "
        "comma-separated): crude and case-mix-adjusted rates per group and the inequality "
        "measures, written beside --out as <name>_breakdowns.csv and <name>_inequality.csv; "
        "for the --indicator(s), default big2, preterm and sga.")] = None,
    year: Annotated[list[int] | None, typer.Option(
        metavar="YEAR", help="Only these years (repeat for several); by default every year in "
        "the file is pooled into one table, and the command says so.")] = None,
    threshold: Annotated[int, typer.Option(
        metavar="N", help="Disclosure control: counts below this are suppressed.")] = 10,
    allow_small_counts: AllowSmallOpt = False,
    engine: EngineOpt = None,
) -> None:
    """Crude counts and rates per unit and indicator (disclosure-safe); with --breakdown, per
    social group too, with rate difference and ratio, SII and RII."""
    try:
        check_threshold(threshold, override=allow_small_counts)
        settings = DefinitionSettings.from_preset(definitions, **(
            {} if min_ga_weeks is None else {"min_gestational_age_days": 7 * min_ga_weeks}))
        dims = [b.strip() for item in breakdown or [] for b in item.split(",") if b.strip()]
        chosen_engine = _engine(engine, file)
        if dims and chosen_engine != "pandas":
            _say("[yellow]note:[/] --breakdown fits a model per social group on the births: "
                 f"reading {file} whole (engine pandas).")
            chosen_engine = "pandas"
        if chosen_engine != "pandas":
            table, log, rates, report = _engine_indicators(
                file, chosen_engine, by or [], indicator, settings, year, threshold,
                mapping=mapping, invalid=invalid, sep=sep, decimal=decimal, encoding=encoding)
            _print_indicators(table, by or [], settings, threshold, None, rates.skipped,
                              report, log)
            if out is not None:
                with _step(f"Writing {out}"):
                    geography = _write_indicators(
                        out, table, log, None,
                        rates.unit_pairs if rates.unit_pairs is not None else pd.DataFrame(),
                        by or [], settings=settings, threshold=threshold)
                _say(f"Wrote [bold]{escape(str(out))}[/], its exclusion log"
                     f"{' and geography' if len(geography) else ''}.")
            return
        with _step(f"Reading and validating {file}"):
            report = load_births(file, mapping=mapping, invalid=invalid,  # type: ignore[arg-type]
                                 sep=sep, decimal=decimal, encoding=encoding)
            _said_read(report)
        report = _select_years(report, year)
        with _step("Deriving indicators"):
            flags = derive_indicators(report.births, indicator, settings=settings)
        with _step(f"Counting per unit and protecting counts below {threshold}"):
            table, log = indicator_rates(report.births, by or [], flags=flags,
                                         threshold=threshold)
        broken = None
        if dims:
            from casemix.inequality import indicator_breakdowns

            with _step(f"Breaking down by {', '.join(dims)} (joint disclosure control)"):
                chosen = indicator or [i for i in BREAKDOWN_INDICATORS
                                       if i in flags.flags.columns]
                broken = indicator_breakdowns(report.births, dims, by or [], flags=flags,
                                              indicators=chosen, settings=settings,
                                              threshold=threshold)
            table = broken.indicators  # protected together with the breakdowns
    except (CasemixError, ValueError) as exc:
        raise _fail(exc) from exc
    _print_indicators(table, by or [], settings, threshold, broken, flags.skipped, report, log)
    if out is not None:
        with _step(f"Writing {out}"):
            geography = _write_indicators(out, table, log, broken, report.births, by or [],
                                          settings=settings, threshold=threshold)
        _say(f"Wrote [bold]{escape(str(out))}[/], its exclusion log"
             f"{' and geography' if len(geography) else ''}"
             f"{', breakdowns and inequality measures' if broken else ''}.")


def _engine_indicators(file: Path, engine: str, by: list[str], indicator: list[str] | None,
                       settings: DefinitionSettings, year: list[int] | None, threshold: int,
                       **read: Any) -> tuple[pd.DataFrame, Any, Any, ValidationReport]:
    """``casemix indicators`` by an engine: counts per unit summed over batches of births,
    then one disclosure control of the whole table (as in memory)."""
    from casemix.engine import RatesPlan, scan_births
    from casemix.indicators.rates import rates_from_counts

    plan = RatesPlan(tuple(by), tuple(indicator) if indicator else None, settings,
                     tuple(year) if year else None)
    with _step(f"Reading, validating and counting {file} ({engine})"):
        scan = scan_births(str(file), [], engine=engine, rates=plan,  # type: ignore[arg-type]
                           **read)
        _said_read(scan.validation)
    rates = scan.rates
    assert rates is not None  # asked for with rates=plan
    _said_years(rates.years_seen, year, rates.other_years)
    with _step(f"Protecting counts below {threshold}"):
        table = rates_from_counts(rates.counts, rates.log, by,
                                  nesting=nesting_of(rates.unit_pairs, by)
                                  if rates.unit_pairs is not None else {},
                                  threshold=threshold)
    return table, rates.log, rates, scan.validation


def _said_years(present: tuple[int, ...], years: list[int] | None, others: int) -> None:
    """The notes of :func:`_select_years` for counts of an engine."""
    if not years:
        if len(present) > 1:
            _say(f"[yellow]note:[/] the file holds {len(present)} years ({present[0]}.."
                 f"{present[-1]}); they are pooled into one table. Pass --year to select.")
        return
    absent = sorted(set(years) - set(present))
    if absent:
        raise CasemixError(f"--year {absent}: the file holds the years {list(present)}.")
    _say(f"[yellow]note:[/] {_n(others)} births of other years left out "
         f"(years {', '.join(map(str, sorted(years)))} kept).")


def _print_indicators(table: pd.DataFrame, by: list[str], settings: DefinitionSettings,
                      threshold: int, broken: Any, skipped: dict[str, str],
                      report: ValidationReport, log: Any) -> None:
    """National rates, suppressed cells per level, breakdowns, and what was not derived."""
    national = table[table["level"] == "national"]
    summary = Table("indicator", "numerator", "denominator", "rate",
                    title=f"National rates ({settings.version}, births >= "
                          f"{settings.min_gestational_age_label} weeks)")
    for row in national.itertuples():
        summary.add_row(row.indicator, _count(row.numerator), _count(row.denominator),
                        _shown(row.rate, ".2%"))
    console.print(summary)
    for level in by:
        sub = table[table["level"] == level]
        console.print(f"{level}: {sub['unit'].nunique():,} units, "
                      f"{int(sub['suppressed'].sum()):,} cells suppressed (counts < "
                      f"{threshold}).")
    if broken is not None:
        _print_breakdowns(broken)
    if skipped:
        _say("[yellow]Not derived[/]: " + escape("; ".join(
            f"{name} ({why})" for name, why in skipped.items())) + ".")
    console.print(f"Exclusions: {_n(report.n_excluded)} rows at validation; indicator "
                  f"denominators as logged ({len(log):,} entries).")


def _write_indicators(out: Path, table: pd.DataFrame, log: Any, broken: Any,
                      births: pd.DataFrame, by: list[str], *, settings: DefinitionSettings,
                      threshold: int) -> pd.DataFrame:
    """Write the indicator table of ``casemix indicators --out`` and the tables beside it
    (exclusion log, geography, breakdowns and inequality); return the geography table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    table.assign(definitions=settings.version).to_csv(out, index=False)
    mask_small_counts(log.to_frame(), threshold=threshold).to_csv(
        out.with_name(f"{out.stem}_exclusions.csv"), index=False)
    geography = geography_table(nesting_of(births, by))
    if len(geography):  # public nesting of the levels, which the audit needs
        geography.to_csv(out.with_name(f"{out.stem}_geography.csv"), index=False)
    if broken is not None:
        broken.table.assign(definitions=settings.version).to_csv(
            out.with_name(f"{out.stem}_breakdowns.csv"), index=False)
        broken.inequality.to_csv(out.with_name(f"{out.stem}_inequality.csv"), index=False)
    return geography


#: Indicators broken down when no --indicator is given (the monitor's breakdowns).
BREAKDOWN_INDICATORS = ("big2", "preterm", "sga")


def _print_breakdowns(broken: Any) -> None:
    """National rows of the first indicator's breakdowns, with their inequality measures."""
    t = broken.table
    names = list(dict.fromkeys(t["indicator"]))
    first = "big2" if "big2" in names else names[0] if names else None
    for dim in dict.fromkeys(t["breakdown"]):
        rows = t[(t["level"] == "national") & (t["indicator"] == first)
                 & (t["breakdown"] == dim)]
        table = Table("group", "births", "rate (95% CI)", "adjusted (95% CI)",
                      title=f"{first} by {dim}, national ({broken.settings.version})")
        for r in rows.itertuples():
            table.add_row(str(r.group), _count(r.denominator),
                          _pct(r.rate, r.rate_lower, r.rate_upper),
                          _pct(r.adjusted_rate, r.adjusted_rate_lower, r.adjusted_rate_upper))
        console.print(table)
        ineq = broken.inequality
        sel = ineq[(ineq["level"] == "national") & (ineq["indicator"] == first)
                   & (ineq["breakdown"] == dim)]
        for r in sel.itertuples():
            console.print(f"  {r.measure} ({r.rates}) {r.comparison}: {_measure(r)}")


def _measure(r: Any) -> str:
    """An inequality measure as printed: value (interval), ``suppressed``, or why not."""
    if r.suppressed is True or _missing(r.value):
        return ("suppressed" if r.suppressed is True else
                "not estimable" if _missing(r.note) or not r.note else str(r.note))
    interval = ("" if _missing(r.lower) or _missing(r.upper) else
                f" ({r.lower:.4f} to {r.upper:.4f})")
    return f"{r.value:.4f}{interval}"


def _count(x: Any) -> str:
    """A published count: with thousands separators, or ``suppressed``."""
    return "suppressed" if _missing(x) else f"{int(x):,}"


def _pct(x: float, lo: float, hi: float) -> str:
    """A rate and its interval in percent, or ``suppressed``."""
    if _missing(x):
        return "suppressed"
    return f"{x:.1%}" + ("" if _missing(lo) or _missing(hi) else f" ({lo:.1%} to {hi:.1%})")


@app.command()
def fit(
    spec: Annotated[Path, typer.Argument(
        metavar="SPEC", help="Model specification (TOML), e.g. models/big2.toml.")],
    data: Annotated[Path, typer.Option(
        "--data", "-d", metavar="FILE", help=DATA_HELP)],
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="FOLDER", help="Run folder to write (new).")],
    method: Annotated[str | None, typer.Option(
        metavar=_choices(METHOD_NAMES), help="Method (default: the spec's).")] = None,
    without_ses: Annotated[bool, typer.Option(
        "--without-ses", help="Drop the spec's SES adjusters (the 'without SES' view).")
    ] = False,
    n_agq: Annotated[int | None, typer.Option(
        metavar="N", help="glmm: quadrature nodes (1 = Laplace, the default).")] = None,
    n_boot: Annotated[int | None, typer.Option(
        metavar="N", help="glmm: parametric-bootstrap refits for the intervals and ranks "
        "(default 0: conditional draws).")] = None,
    diagnostics: Annotated[bool, typer.Option(
        help="Write calibration and funnel tables to the run folder.")] = True,
    adjacency: Annotated[Path | None, typer.Option(
        metavar="FILE", help="bym2: neighbour pairs of the regions (CSV: region,neighbour; or "
        "JSON {region: [neighbours]}).")] = None,
    draws: Annotated[int | None, typer.Option(
        metavar="N", help="Bayesian methods: kept draws per chain (default 1000; bayes-joint "
        "2500).")] = None,
    tune: Annotated[int | None, typer.Option(
        metavar="N", help="Bayesian methods: warm-up iterations per chain (default 1000; "
        "bayes-joint 300).")] = None,
    chains: Annotated[int | None, typer.Option(
        metavar="N", help="Bayesian methods: chains (default 4; bayes-joint 2).")] = None,
    target_accept: Annotated[float | None, typer.Option(
        metavar="N", help="Bayesian methods: target acceptance rate of NUTS (default 0.9; "
        "bayes-joint 0.65; raise to 0.95 or 0.99 when divergences are reported).")] = None,
    trend: Annotated[str | None, typer.Option(
        metavar=_choices(TRENDS), help="bayes, bym2: per-year rows from rw1 (random walk, the "
        "default) or shared (year effects + unit level).")] = None,
    seed: Annotated[int, typer.Option(
        metavar="N", help="Seed of all random draws (sampler, intervals).")] = 20261123,
    mapping: MappingOpt = None,
    sep: SepOpt = None,
    decimal: DecimalOpt = None,
    encoding: EncodingOpt = None,
    invalid: InvalidOpt = "exclude",
    threshold: Annotated[int, typer.Option(
        metavar="N", help="Disclosure control: counts below this are suppressed in the "
        "exported tables.")] = 10,
    allow_small_counts: AllowSmallOpt = False,
    shares: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Births shared between units (CSV or Parquet: birth_id, level, "
        "unit, share; the shares of a birth at a level add up to 1), e.g. from `casemix "
        "geography harmonise`.")] = None,
    weights: Annotated[str | None, typer.Option(
        metavar="NAME", help="Column of case weights (default: the spec's), e.g. from "
        "`casemix weights`.")] = None,
    weights_kind: Annotated[str | None, typer.Option(
        metavar=_choices(WEIGHTS_KINDS), help="sampling: non-response, design or assignment "
        "weights (intervals use the effective sample size); frequency: a weight w stands for "
        "w identical births. Default: the spec's (sampling).")] = None,
    engine: EngineOpt = None,
) -> None:
    """Fit a case-mix model and write the run folder (model.json, units.csv, direct.csv,
    coefficients.csv, exclusions.csv, manifest.json; posterior/ for Bayesian methods)."""
    try:
        check_threshold(threshold, override=allow_small_counts)
        check_run_target(out)  # before the data are read and the model is fitted
        model_spec = load_spec(spec)
        if without_ses:
            model_spec = model_spec.without_ses()
        if weights is not None or weights_kind is not None:
            model_spec = dataclasses.replace(
                model_spec, weights=weights or model_spec.weights,
                weights_kind=weights_kind or model_spec.weights_kind)
        assignment = None if shares is None else read_shares(shares)
        chosen = method or model_spec.method
        sampler = _sampler(chosen, draws=draws, tune=tune, chains=chains,
                           target_accept=target_accept, seed=seed)
        model = CaseMixModel(model_spec, method=method, n_agq=n_agq, n_boot=n_boot, seed=seed,
                             trend=trend, adjacency=adjacency, sampler=sampler)
        model.strategies()  # option errors before the data are read
        chosen_engine = _engine(engine, data, model_spec, shares=assignment is not None)
        births: Any
        with _step(f"Reading and validating {data} ({chosen_engine})"):
            report, scan = _read(data, [model_spec], chosen_engine, mapping=mapping,
                                 invalid=invalid, sep=sep, decimal=decimal, encoding=encoding)
            births = report.births if scan is None else scan[model_spec.name]
            _said_read(report)
        if sampler is not None:  # the sampler shows its own progress bars
            err_console.print(f"Fitting {model_spec.name} ({chosen}; NUTS, {sampler.chains:,} "
                              f"chains x {sampler.tune:,} warm-up + {sampler.draws:,} draws)")
        with (contextlib.nullcontext() if sampler is not None else
              _step(f"Fitting {model_spec.name} ({chosen})")), warnings.catch_warnings():
            warnings.simplefilter("ignore", CasemixWarning)  # printed below as notes
            result = model.fit(births, shares=assignment)
        with _step(f"Writing {out}"), warnings.catch_warnings(record=True) as written:
            warnings.simplefilter("always", CasemixWarning)
            save_run(result, out, births=births, validation=report, threshold=threshold,
                     diagnostics=diagnostics, data_file=data, mapping=mapping,
                     invalid=invalid, extra={"command": "casemix fit"})
    except (CasemixError, ValueError) as exc:
        raise _fail(exc) from exc
    _print_fit(load_run(out), result)
    for note in [*result.notes, *(str(w.message) for w in written)]:
        _say(f"[yellow]note:[/] {escape(note)}")
    _say(f"Wrote [bold]{escape(str(out))}[/].")


def _engine(engine: str | None, data: Path, spec: Any = None, *, shares: bool = False) -> str:
    """The engine of a command: as asked, else duckdb for what it streams (Parquet and CSV
    files, folders, globs) and pandas for the rest (SPSS files; fits with case weights or
    shares, which need the births in memory, with a note)."""
    if engine is not None:
        if engine not in ENGINE_NAMES:
            raise CasemixError(f"--engine must be one of {', '.join(ENGINE_NAMES)}; got "
                               f"{engine!r}.")
        return engine
    if data.suffix.lower() in (".sav", ".zsav"):
        return "pandas"
    if (spec is not None and spec.weights is not None) or shares:
        why = "case weights" if spec is not None and spec.weights is not None else "shares"
        _say(f"[yellow]note:[/] reading {data} whole (engine pandas): {why} need the births in "
             "memory.")
        return "pandas"
    return "duckdb"


def _read(data: Path, specs: list[Any], engine: str, *, errors: str = "raise",
          **read: Any) -> tuple[ValidationReport, Any]:
    """Read and validate ``data`` as the chosen engine does: the report, and the scan with
    each spec's grouped births (None for engine pandas, whose report holds the births)."""
    if engine == "pandas":
        return load_births(data, errors=errors, **read), None  # type: ignore[arg-type]
    from casemix.engine import scan_births

    scan = scan_births(str(data), specs, engine=engine, errors=errors,  # type: ignore[arg-type]
                       **read)
    return scan.validation, scan


def _print_fit(run: Run, result: Any) -> None:
    """What a fit found, per level, as published in the run folder: units published of all,
    units unusual beyond the between-unit variation (above and below, at 95% and 99.8%; the
    99.8% ones by name), and that variation (phi and tau of the published units' spread, on
    which their flags rest).

    Parameters
    ----------
    run : casemix.models.runs.Run
        The run folder just written (its ``units.csv`` and the verdict in its manifest).
    result : casemix.models.CaseMixResult
        The fit (spec name, method, births analysed).
    """
    from casemix.models import verdict_counts

    units = run.units()
    verdict = run.manifest.get("verdict", {})
    spreads = {s["level"]: s for s in verdict.get("spread", [])
               if s["period"] == units.period and s["stratum"] == "all"}
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=f"{result.spec.name} "
                  f"({result.method}): {_n(result.n_analysed)} births analysed")
    table.add_column("level", no_wrap=True)
    for header in ("units\npublished", "95%\nabove", "95%\nbelow", "99.8%\nabove",
                   "99.8%\nbelow", "phi", "tau"):
        table.add_column(header, justify="right")
    counts = verdict_counts(units.main())
    for row in counts.itertuples(index=False):
        table.add_row(row.level, f"{_n(row.published)} of {_n(row.units)}",
                      *(f"{n:,}" for n in (row.above_95, row.below_95, row.above_998,
                                           row.below_998)),
                      *_dispersion(spreads.get(row.level)))
    console.print(table)
    for row in counts.itertuples(index=False):
        if row.unusual_998:
            console.print(f"{row.level} unusual at 99.8%: {row.unusual_998}", soft_wrap=True)
    console.print("Above, below: published units unusual beyond the between-unit variation; "
                  "phi: spread of their O/E relative to sampling variation; tau: between-unit "
                  f"SD of log O/E. Verdict: {verdict.get('method', '')}.")


def _dispersion(spread: dict[str, Any] | None) -> tuple[str, str]:
    """``phi`` and ``tau`` of a level's between-unit spread as printed (``too few`` units
    to estimate them)."""
    if spread is None or not _finite(spread.get("phi")):
        return "too few", "too few"
    return f"{spread['phi']:.2f}", f"{spread['tau']:.3f}"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _sampler(method: str, *, draws: int | None, tune: int | None, chains: int | None,
             target_accept: float | None, seed: int) -> Any:
    """Sampler settings for a Bayesian method, or when any sampler option is given (a
    non-Bayesian method then refuses them); otherwise None."""
    options: dict[str, Any] = {"draws": draws, "tune": tune, "chains": chains,
                               "target_accept": target_accept}
    given = {k: v for k, v in options.items() if v is not None}
    if method not in ("bayes", "bayes-joint", "bym2") and not given:
        return None
    from casemix.bayes.settings import SamplerSettings

    return SamplerSettings.for_method(method, seed=seed, progressbar=True, **given)


@app.command()
def score(
    run: Annotated[Path, typer.Argument(
        metavar="RUN", help="Run folder (or model.json) of a fitted model.")],
    data: Annotated[Path, typer.Option(
        "--data", "-d", metavar="FILE", help="Births file to score.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="FILE", help="Predictions (.parquet or .csv): birth_id, "
        "expected_risk. Microdata: stays inside.")],
    mapping: MappingOpt = None,
    sep: SepOpt = None,
    decimal: DecimalOpt = None,
    encoding: EncodingOpt = None,
    invalid: InvalidOpt = "exclude",
) -> None:
    """Apply a saved model to new births (e.g. a new year on a frozen standard)."""
    try:
        model = load_model(run)
        with _step(f"Reading and validating {data}"):
            report = load_births(data, mapping=mapping, invalid=invalid,  # type: ignore[arg-type]
                                 sep=sep, decimal=decimal, encoding=encoding)
            _said_read(report)
        with _step("Scoring"):
            scores = model.score(report.births)
        with _step(f"Writing {out}"):
            write_table(scores, out)
    except (CasemixError, ValueError) as exc:
        raise _fail(exc) from exc
    _say(f"Scored {len(scores):,} births with {escape(model.spec.name)} "
         f"({model.method}); wrote [bold]{escape(str(out))}[/].")
    _print_unused(report)


def _print_unused(report: ValidationReport) -> None:
    """Every row read but not used, by reason (counts 1..9 as <10): rows read = used +
    excluded."""
    console.print(f"{report.n_input:,} rows read = {report.kept:,} used + "
                  f"{report.n_excluded:,} excluded at validation.")
    log = report.exclusions.to_frame()
    for row in log[log["n_rows"] > 0].itertuples():
        console.print(f"  excluded: {_n(row.n_rows)} rows, {row.scope}: {row.reason}")


@app.command()
def align(
    run: Annotated[Path, typer.Argument(
        metavar="RUN", help="Run folder of `casemix fit` (its data file, mapping and "
        "definitions are used).")],
    reference: Annotated[Path, typer.Option(
        metavar="FILE", help="Published figures (CSV): unit, year, indicator, numerator, "
        "denominator.")],
    level: Annotated[str | None, typer.Option(
        metavar=_choices(("national", *UNIT_LEVELS)),
        help="Unit level of the reference (default: the spec's first level).")] = None,
    tolerance: Annotated[float, typer.Option(
        metavar="N", help="Relative tolerance on the counts.")] = 0.0,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="FILE", help="Write the comparison to this CSV (counts below "
        "the threshold suppressed).")] = None,
    threshold: Annotated[int, typer.Option(metavar="N", help="Disclosure threshold.")] = 10,
    allow_small_counts: AllowSmallOpt = False,
) -> None:
    """Compare crude numbers with the registry's published figures and search every
    combination of the documented definition rules (22/24 weeks, 7/28 days, multiples, SGA
    source and unknowns, Big2 denominator, ...) for the one that reproduces them."""
    from casemix.alignment import align as align_numbers

    try:
        check_threshold(threshold, override=allow_small_counts)
        loaded, report = _load_run(run)
        ref = pd.read_csv(reference, dtype={"unit": str})
        with _step("Recomputing under alternative definitions"):
            result = align_numbers(report.births, ref, level=level or loaded.spec.levels[0],
                                   settings=loaded.spec.definitions, tolerance=tolerance)
    except (CasemixError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    table = result.table
    console.print(f"{int(table['agrees'].sum()):,} of {len(table):,} reference rows agree "
                  f"(definitions {loaded.spec.definitions.version}).")
    summary = result.summary()
    if len(summary):
        t = Table("indicator", "explained by", "rows", title="Differences")
        for row in summary.itertuples():
            t.add_row(row.indicator, _shown(row.explained_by, missing="unexplained"),
                      f"{row.rows:,}")
        console.print(t)
    best = Table("indicator", "combination", "presets", "rows reproduced",
                 title="Closest definitions per indicator (exhaustive search)")
    for row in result.best().itertuples():
        best.add_row(row.indicator, _shown(row.combination, missing="") or "(as compared)",
                     _shown(row.presets, missing="") or "none",
                     f"{row.rows_agreeing:,} of {row.rows:,}")
    console.print(best)
    if out is not None:
        with _step(f"Writing {out} (counts below {threshold} suppressed)"):
            result.disclosed(threshold).to_csv(out, index=False)
            result.combinations.to_csv(out.with_name(f"{out.stem}_combinations.csv"),
                                       index=False)
        _say(f"Wrote [bold]{escape(str(out))}[/] and the combinations searched.")


@app.command()
def report(
    run: Annotated[Path, typer.Argument(metavar="RUN", help="Run folder of `casemix fit`.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="FILE", help="HTML file to write.")] = Path("report.html"),
    threshold: Annotated[int, typer.Option(
        metavar="N", help="Disclosure threshold of every table and figure.")] = 10,
    reference: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Published figures (CSV: unit, year, indicator, numerator, "
        "denominator) for the alignment section.")] = None,
    allow_small_counts: AllowSmallOpt = False,
    lang: Annotated[str, typer.Option(
        "--lang", metavar=_choices(LANGUAGES), help="Language of the report: nl (Dutch text "
        "and number formats) or en.")] = "nl",
    geometry: Annotated[Path | None, typer.Option(
        "--geometry", metavar="FILE", help="GeoJSON boundary file of the units: a choropleth "
        "map per level it covers (casemix simulate writes one).")] = None,
) -> None:
    """Write the diagnostic report of a run: one self-contained HTML file (works offline)."""
    from casemix.report import build_report, write_report
    from casemix.report.i18n import language

    try:
        check_threshold(threshold, override=allow_small_counts)
        language(lang)  # an unknown language before the refit
        boundaries = _boundaries(geometry)
        loaded, validation = _load_run(run)
        with _step("Refitting the run with its recorded settings, and its sensitivity "
                   "analyses"), warnings.catch_warnings():
            warnings.simplefilter("ignore", CasemixWarning)
            result = reproduce_run(loaded, validation.births)
            aligned = None
            if reference is not None:
                from casemix.alignment import align as align_numbers

                aligned = align_numbers(validation.births,
                                        pd.read_csv(reference, dtype={"unit": str}),
                                        level=loaded.spec.levels[0],
                                        settings=loaded.spec.definitions)
            html = build_report(result, validation.births, validation=validation,
                                threshold=threshold, manifest=loaded.manifest,
                                alignment=aligned, lang=lang, geometry=boundaries)
        path = write_report(html, out)
    except (CasemixError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    _say(f"Report written to [bold]{escape(str(path.resolve()))}[/]")


def _boundaries(path: Path | None) -> Any:
    """The boundary file of ``--geometry``, read before any work is done."""
    if path is None:
        return None
    from casemix.geography import read_boundaries

    return read_boundaries(path)


@app.command()
def refit(
    year: Annotated[int, typer.Option(metavar="YEAR", help="The new registry year.")],
    data: Annotated[Path, typer.Option("--data", "-d", metavar="FILE", help=DATA_HELP)],
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="FOLDER", help="Root of the run folders (runs/YEAR/<spec>/, "
        "never overwritten).")] = Path("runs"),
    models: Annotated[Path, typer.Option(
        metavar="FOLDER", help="Folder of model specifications.")] = Path("models"),
    mapping: MappingOpt = None,
    sep: SepOpt = None,
    decimal: DecimalOpt = None,
    encoding: EncodingOpt = None,
    invalid: InvalidOpt = "exclude",
    engine: EngineOpt = None,
) -> None:
    """Refit every specification in models/ for a new year (one run folder per spec)."""
    from casemix.workflow import refit_all
    from casemix.workflow.refit import refit_specs

    try:
        check_writable(out)  # each spec's run folder is checked again before any fit
        windowed = [spec for _, spec in refit_specs(models, year)]
        chosen = _engine(engine, data, next((s for s in windowed if s.weights), None))
        births: Any
        with _step(f"Reading and validating {data} ({chosen})"):  # one pass for every spec
            report, scan = _read(data, windowed, chosen, mapping=mapping, invalid=invalid,
                                 sep=sep, decimal=decimal, encoding=encoding)
            births = report if scan is None else scan
            _said_read(report)
        specs = sorted(models.glob("*.toml"))
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True,
                      disable=not err_console.is_terminal) as bar:
            task = bar.add_task("refitting", total=len(specs))

            def advance(name: str) -> None:
                bar.update(task, description=escape(f"refitting {name}"))
                bar.advance(task)

            written = refit_all(births, year, models=models, out=out, data_file=data,
                                mapping=mapping, invalid=invalid, progress=advance)
    except (CasemixError, ValueError) as exc:
        raise _fail(exc) from exc
    for name, folder in written.items():
        _say(f"{name}: [bold]{escape(str(folder))}[/]")


@app.command("compare-runs")
def compare_runs_command(
    old: Annotated[Path, typer.Argument(metavar="OLD", help="Earlier run folder.")],
    new: Annotated[Path, typer.Argument(
        metavar="NEW", help="Later run folder (same specification).")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="FILE", help="Write an HTML summary.")] = None,
) -> None:
    """Coefficient drift, calibration of the old model on the new data, changed unit flags."""
    from casemix.workflow import compare_runs

    try:
        with _step(f"Comparing the runs (the old model on the births of {new})"):
            result = compare_runs(old, new)
    except (CasemixError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    drift = result.coefficients[result.coefficients["drift"]]
    console.print(f"{len(drift):,} of {len(result.coefficients):,} coefficients drifted "
                  "(95% interval of the difference excludes 0).")
    for row in drift.itertuples():
        console.print(f"  {row.term}: {_shown(row.estimate_old, '.3f', 'not estimated')} -> "
                      f"{_shown(row.estimate_new, '.3f', 'not estimated')}")
    changed = result.units[result.units["flag_changed"]]
    console.print(f"{len(changed):,} of {len(result.units):,} units changed their 95% flag "
                  "(suppressed: not published in that run).")
    for row in changed.itertuples():
        console.print(f"  {row.level} {row.unit}: {_shown(row.flag_95_old)} -> "
                      f"{_shown(row.flag_95_new)}")
    if result.calibration is not None:
        c = result.calibration
        console.print(
            f"Old model on new data: calibration-in-the-large {_shown(c.citl, '.3f', 'n/a')} "
            f"(SE {_shown(c.citl_se, '.3f', 'n/a')}), slope {_shown(c.slope, '.3f', 'n/a')} "
            f"(SE {_shown(c.slope_se, '.3f', 'n/a')}).")
    if out is not None:
        with _step(f"Writing {out}"):
            out.write_text(result.to_html(), encoding="utf-8")
        _say(f"Wrote [bold]{escape(str(out))}[/].")


@app.command()
def publish(
    run: Annotated[Path, typer.Argument(
        metavar="RUN", help="Run folder of `casemix fit` or `refit`.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="FILE", help="CSV file to write (outside the run folder).")],
    table_format: Annotated[str, typer.Option(
        "--format", metavar=_choices(PUBLISH_FORMATS), help="Table format: 'statline' (long: "
        "one row per region, period, indicator and measure).")] = "statline",
) -> None:
    """Write the run's publication table from its disclosure-controlled files only; audit it
    with `casemix audit FILE RUN/units.csv`, export it with `casemix export --publish`."""
    from casemix.workflow.publish import publish_run

    try:
        with _step(f"Writing the {table_format} table {out}"):
            table = publish_run(run, out, format=table_format)
    except (CasemixError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    status = table["status"].value_counts()
    _say(f"Wrote [bold]{escape(str(out))}[/]: {len(table):,} rows, "
         f"{table['region_code'].nunique():,} regions; {status.get('suppressed', 0):,} "
         f"suppressed, {status.get('unreliable', 0):,} unreliable.")


WEIGHT_METHODS = ("rake", "poststratify")  # casemix.weighting.weigh.METHODS


@app.command()
def weights(
    file: Annotated[Path, typer.Argument(
        metavar="FILE", help="Births file (.csv, .parquet, .sav).")],
    margins: Annotated[Path, typer.Option(
        "--margins", metavar="FILE", help="Population margins (CSV): long form 'margin, "
        "value, total' (raking), or wide form: stratum columns and 'total' "
        "(post-stratification).")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="FILE", help="Write the births with the weight column here "
        "(.csv, .parquet, .sav, by extension).")],
    method: Annotated[str, typer.Option(
        metavar=_choices(WEIGHT_METHODS), help="Raking over every margin, or "
        "post-stratification on one full cross-classification.")] = "rake",
    base: Annotated[str | None, typer.Option(
        metavar="NAME", help="Column of base weights (default: 1 for every birth).")] = None,
    trim: Annotated[tuple[float, float] | None, typer.Option(
        metavar="LOWER UPPER", help="Trim the weights to [LOWER, UPPER] times the mean "
        "weight (with --trim-absolute: as weights), spreading what is cut over the other "
        "births so that the total is kept.")] = None,
    trim_absolute: Annotated[bool, typer.Option(
        "--trim-absolute", help="Read the --trim bounds as weights, not multiples of the "
        "mean.")] = False,
    column: Annotated[str, typer.Option(
        metavar="NAME", help="Name of the weight column.")] = "weight",
    report_file: Annotated[Path | None, typer.Option(
        "--report", metavar="FILE", help="Write the report (CSV: margins achieved, design "
        "effects overall and per unit, trimming), disclosure-controlled.")] = None,
    mapping: MappingOpt = None,
    sep: SepOpt = None,
    decimal: DecimalOpt = None,
    encoding: EncodingOpt = None,
    invalid: InvalidOpt = "exclude",
    threshold: Annotated[int, typer.Option(
        metavar="N", help="Disclosure control of the report: counts below this are "
        "suppressed.")] = 10,
    allow_small_counts: AllowSmallOpt = False,
) -> None:
    """Non-response weights: rake or post-stratify the births to population margins, trim,
    and report the fit and the design effects.

    Put the weight column in a model spec (weights = "weight") to fit with it."""
    from casemix.weighting import read_margins, weigh, weights_report

    try:
        check_threshold(threshold, override=allow_small_counts)
        if report_file is not None and report_file.suffix.lower() != ".csv":
            raise CasemixError(f"--report {report_file}: the report is a CSV file (the "
                               "audit reads CSV); name it e.g. weights_report.csv.")
        with _step(f"Reading and validating {file}"):
            report = load_births(file, mapping=mapping, invalid=invalid,  # type: ignore[arg-type]
                                 sep=sep, decimal=decimal, encoding=encoding)
            _said_read(report)
        births = report.births
        with _step(f"Weighting to {margins} ({method})"):
            result = weigh(births, read_margins(margins), method=method, base=base,
                           trim_bounds=trim, relative=not trim_absolute)
        births = births.assign(**{column: result.weights})
        with _step(f"Writing {out}"):
            write_table(births, out)
        if report_file is not None:
            levels = [lv for lv in UNIT_LEVELS if lv in births]
            with _step(f"Protecting counts below {threshold} in the report"):
                table = weights_report(result, births, levels, threshold=threshold)
            write_table(table, report_file)
    except (CasemixError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    _print_weights(result, births, column)
    _say(f"Wrote [bold]{escape(str(out))}[/]" + (
        f" and the report [bold]{escape(str(report_file))}[/]" if report_file else "") + ".")


def _print_weights(result: Any, births: pd.DataFrame, column: str) -> None:
    """The fit per margin and the overall design effect."""
    fit = Table("margin", "cells", "target", "achieved", "max abs deviation",
                title=f"{result.method}: {len(births):,} births"
                      f"{f', {result.iterations} cycles' if result.method == 'rake' else ''}")
    for name, rows in result.fit.groupby("margin", sort=False):
        fit.add_row(str(name), f"{len(rows):,}", f"{rows['target'].sum():,.0f}",
                    f"{rows['achieved'].sum():,.0f}", f"{rows['deviation'].abs().max():.3g}")
    console.print(fit)
    d = result.design_effects.iloc[0]
    w = result.weights
    console.print(f"Weights ({column}): mean {w.mean():.4g}, min {w.min():.4g}, max "
                  f"{w.max():.4g}; design effect (Kish) {d['deff']:.3f}, effective sample "
                  f"size {d['n_effective']:,.0f}.")
    if result.trimming:
        t = result.trimming
        console.print(f"Trimmed to [{t['lower']:.4g}, {t['upper']:.4g}]: "
                      f"{_n(t['n_lower'])} births raised, {_n(t['n_upper'])} cut.")


@app.command()
def audit(
    paths: Annotated[list[Path], typer.Argument(
        metavar="PATH", help="Files or folders written by casemix (a run folder, an export "
        "folder, tables).")],
    threshold: Annotated[int, typer.Option(
        metavar="N", help="Every hidden count's derivable interval must reach this.")] = 10,
    width: Annotated[float | None, typer.Option(
        metavar="N", help="...and be this wide where it reaches below the threshold "
        "(default: the threshold).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the findings as JSON.")] = False,
) -> None:
    """What an attacker can derive from these files together; exit code 1 when a hidden
    count can be shown to be small."""
    from casemix.workflow.audit import audit_files

    try:
        with _step("Auditing: what the files give away together (linear programs)"):
            result = audit_files(list(paths), threshold=threshold, width=width)
    except (CasemixError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    if as_json:
        print(result.to_json())
    else:
        for f in result.findings.itertuples():
            console.print(_finding(f))
        verdict = ("[green]passes[/]" if result.ok else
                   f"[red]fails[/] ({len(result.findings):,} findings)")
        _say(f"Audit {verdict}: {result.n_hidden:,} hidden counts checked; threshold "
             f"{result.protection.threshold:,}, width {result.protection.width:g}.")
    if not result.ok:
        raise typer.Exit(code=1)


def _finding(f: Any) -> str:
    """One audit finding as printed: where (file, row, column), what can be derived, how."""
    where = " | ".join(str(x) for x in (f.file, f.row, f.column) if not _missing(x) and x)
    if _missing(f.lower) or _missing(f.upper):
        return f"{where}: {f.route}"
    return f"{where}: derivable interval [{f.lower:g}, {f.upper:g}] ({f.route})"


@app.command()
def export(
    run: Annotated[Path, typer.Argument(
        metavar="RUN", help="Run folder of `casemix fit` or `refit`.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="FOLDER", help="Export folder to create (new).")],
    indicators: Annotated[list[Path] | None, typer.Option(
        "--indicators", metavar="FILE",
        help="Indicator tables to export as well; repeat for several.")] = None,
    report: Annotated[Path | None, typer.Option(
        metavar="FILE", help="The run's report (`casemix report RUN`) to export as well, "
        "audited with the tables.")] = None,
    threshold: Annotated[int, typer.Option(
        metavar="N", help="Audit: every hidden count's derivable interval must reach this.")
    ] = 10,
    width: Annotated[float | None, typer.Option(
        metavar="N", help="Audit: ...and be this wide where it reaches below the threshold.")
    ] = None,
) -> None:
    """Copy only the files that may leave the secure environment, audit them together, and
    refuse (exit 1, nothing written) when the audit finds a derivable small count."""
    from casemix.workflow.export import export_run

    try:
        with _step(f"Copying the exportable files to {out} and auditing them together"):
            result = export_run(run, out, indicators=indicators or [], report=report,
                                threshold=threshold, width=width)
    except (CasemixError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    if not result.ok:
        for f in result.findings.itertuples():
            console.print(_finding(f))
        _say(f"[red]Export refused[/]: {len(result.findings):,} findings; nothing "
             f"written to {escape(str(out))}.")
        raise typer.Exit(code=1)
    _say(f"Exported to [bold]{escape(str(out))}[/]; audit passed ({result.n_hidden:,} hidden "
                  "counts checked). See README.md and audit.json there.")


geography_app = typer.Typer(
    name="geography",
    help="Municipal boundary changes: recode births to the boundaries of one reference year.",
    no_args_is_help=True,
    rich_markup_mode=None,
    cls=SafeGroup,
)
app.add_typer(geography_app)


@geography_app.command("harmonise")
def geography_harmonise(
    data: Annotated[Path, typer.Argument(
        metavar="FILE", help="Births file (.csv, .parquet, .sav).")],
    crosswalk: Annotated[Path, typer.Option(
        "--crosswalk", metavar="FILE", help="Crosswalk CSV: old_code, new_code, date "
        "(YYYY-MM-DD, the day the change takes effect), share.")],
    reference_year: Annotated[int, typer.Option(
        "--reference-year", metavar="YEAR", help="Recode to the boundaries of 1 January of "
        "this year.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="FILE", help="Harmonised births to write (.parquet, .csv or "
        ".sav).")],
    regions: Annotated[Path | None, typer.Option(
        "--regions", metavar="FILE", help="Region table CSV (municipality, year and any of "
        "ggd_region, care_office_region, vsv, safety_region): the unit columns are derived "
        "from its rows of the reference year, and every code must be in them.")] = None,
    shares: Annotated[Path | None, typer.Option(
        "--shares", metavar="FILE", help="Shared assignment of split births (birth_id, "
        "level, unit, share); default <stem>_shares.csv beside --out.")] = None,
    log: Annotated[Path | None, typer.Option(
        "--log", metavar="FILE", help="Log of every recoded birth (birth_ids: it stays in "
        "the secure environment, it is not an export); default <stem>_recoded.csv beside "
        "--out.")] = None,
    column: Annotated[str, typer.Option(
        metavar="NAME", help="The column of municipality codes.")] = "municipality",
    mapping: MappingOpt = None,
    sep: SepOpt = None,
    decimal: DecimalOpt = None,
    encoding: EncodingOpt = None,
    invalid: InvalidOpt = "exclude",
) -> None:
    """Recode the births' municipalities to the boundaries of a reference year: mergers and
    renames to the new code, splits as fractional shares by population.

    A birth of year t carries the code valid on 1 January of t; every change dated after that
    and on or before 1 January of the reference year is applied (changes chain). Births of
    later years have their changes undone where the crosswalk allows it (not a merger). Writes
    the births, the shares of split births and the log of recoded births (birth_ids: not an
    export)."""
    from casemix.geography import harmonise, read_crosswalk, read_regions

    shares = shares or out.with_name(f"{out.stem}_shares.csv")
    log = log or out.with_name(f"{out.stem}_recoded.csv")
    with _step("Reading the crosswalk and the region table"):
        table = read_crosswalk(crosswalk)
        units = None if regions is None else read_regions(regions)
    with _step(f"Reading and validating {data}"):
        report = load_births(data, mapping=mapping, invalid=invalid,  # type: ignore[arg-type]
                             sep=sep, decimal=decimal, encoding=encoding)
        _said_read(report)
    with _step(f"Harmonising {column} to the boundaries of {reference_year}"):
        result = harmonise(report.births, table, reference_year, column=column, regions=units)
    with _step(f"Writing {out}"):
        write_table(result.births, out)
        result.shares.to_csv(shares, index=False)
        result.log.to_csv(log, index=False)
    _print_harmonised(result, report.n_excluded)
    _say(f"Wrote [bold]{escape(str(out))}[/], the shares of split births to "
         f"[bold]{escape(str(shares))}[/] and the log of recoded births to "
         f"[bold]{escape(str(log))}[/] (birth_ids: keep it in the secure environment).")


def _print_harmonised(result: Any, n_excluded: int) -> None:
    """The summary of ``casemix geography harmonise``: births read, recoded, split, and the
    births per change (counts below 10 as <10)."""
    derived = list(result.levels)
    console.print(
        f"{result.n_births:,} births read ({n_excluded:,} rows excluded at validation); "
        f"{_n(result.n_recoded)} recoded to the boundaries of {result.reference_year}, "
        f"{_n(result.n_split)} of them split over several municipalities"
        + (f", {_n(result.n_backward)} of later years recoded backwards"
           if result.n_backward else "")
        + (f"; {_n(result.n_missing)} without a code left as they are"
           if result.n_missing else "") + ".")
    if len(result.changes):
        table = Table("old code", "new code", "date", "births", "weight",
                      title="Births by change (weight: the sum of their shares)")
        for row in result.changes.itertuples():
            table.add_row(row.old_code, row.new_code, row.date, _n(row.births),
                          "<10" if 0 < row.weight < 10 else f"{row.weight:,.1f}")
        console.print(table)
    if derived:
        console.print(f"Unit columns derived from the region table of "
                      f"{result.reference_year}: {', '.join(derived)}.")
