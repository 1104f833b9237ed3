"""Command-line interface: ``datasafety scan`` and ``datasafety traffic``.

Exit codes (DESIGN.md): 0 done, 2 unusable input or usage error (one line on
stderr, no traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Evidence-based privacy auditor for Android apps.",
)


def _fail(message: str) -> None:
    """Exit 2 with one line on stderr (DESIGN.md: unusable input, no traceback)."""
    print(f"datasafety: {message}", file=sys.stderr)
    raise typer.Exit(2)


@app.command()
def scan(
    app_path: Path = typer.Argument(..., metavar="APP", help=".apk, .apks/.xapk/.apkm split bundle, or .dex"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the JSON report here ('-' for stdout)"),
    trackers: Optional[Path] = typer.Option(None, "--trackers", help="Exodus trackers.json (default: $DATASAFETY_TRACKERS)"),
    quiet: bool = typer.Option(False, "--quiet", help="no terminal summary"),
    jobs: int = typer.Option(1, "--jobs", min=1, max=64, help="index DEX files with N workers (same report for any N)"),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", min=0.0, help="seconds for the whole scan; unfinished stages are listed under 'incomplete'"),
    memory_budget: Optional[float] = typer.Option(None, "--memory-budget", min=1.0, help="MB of resident memory; unfinished stages are listed under 'incomplete'"),
    traffic_capture: Optional[Path] = typer.Option(None, "--traffic", help="captured traffic of this app (HAR, mitmproxy, pcap/pcapng) to merge as 'observed' evidence"),
    device: Optional[Path] = typer.Option(None, "--device", help="device profile YAML for --traffic"),
    keylog: Optional[Path] = typer.Option(None, "--keylog", help="TLS key log for a pcap given with --traffic"),
    whotracksme: Optional[Path] = typer.Option(None, "--whotracksme", help="WhoTracks.me trackerdb.sql(.gz) (default: $DATASAFETY_WHOTRACKSME)"),
    geoip_dir: Optional[Path] = typer.Option(None, "--geoip-dir", help="folder with IPFire geoip/geoip6 files (default: $DATASAFETY_GEOIP_DIR)"),
    no_flows: bool = typer.Option(False, "--no-flows", help="skip the call graph, reachability and data-flow analysis"),
    flow_budget: float = typer.Option(120.0, "--flow-budget", min=0.0, help="seconds for reachability and flow analysis; flows found so far are kept"),
) -> None:
    """Report what personal data an app can collect, which code collects it, and the evidence."""
    from rich.console import Console

    from datasafety.app.container import InputError
    from datasafety.knowledge.exodus import TrackerFileError
    from datasafety.pipeline import TrafficInputError
    from datasafety.pipeline import scan as run_scan
    from datasafety.report.json_format import dumps
    from datasafety.report.terminal import render_scan

    from datasafety.report.progress import DelayedProgress

    progress = DelayedProgress(enabled=not quiet and sys.stderr.isatty())
    try:
        with progress:
            report = run_scan(
                app_path,
                trackers=trackers,
                jobs=jobs,
                time_budget=time_budget,
                memory_budget=memory_budget,
                progress=progress.update,
                traffic=traffic_capture,
                device=device,
                keylog=keylog,
                whotracksme=whotracksme,
                geoip_dir=geoip_dir,
                flows=not no_flows,
                flow_budget=flow_budget,
            )
    except (InputError, TrackerFileError, TrafficInputError) as exc:
        _fail(str(exc))
    except MemoryError:
        _fail(f"{app_path}: out of memory while reading the input")
    data = report.to_json()
    text = dumps(data)
    if json_out is not None:
        if str(json_out) == "-":
            sys.stdout.write(text)
        else:
            try:
                json_out.write_text(text, encoding="utf-8")
            except OSError as exc:
                _fail(f"cannot write {json_out}: {exc.strerror or exc}")
    if not quiet and str(json_out) != "-":
        console = Console()
        if not console.is_terminal:
            console = Console(width=140)
        render_scan(data, console)


@app.command()
def traffic(
    capture: Path = typer.Argument(..., help="HAR, mitmproxy flow file, pcap or pcapng"),
    device: Optional[Path] = typer.Option(None, "--device", help="device profile YAML with the test phone's identifiers"),
    keylog: Optional[Path] = typer.Option(None, "--keylog", help="TLS key log file for pcap/pcapng"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the JSON report here ('-' for stdout)"),
    trackers: Optional[Path] = typer.Option(None, "--trackers", help="Exodus trackers.json (default: $DATASAFETY_TRACKERS)"),
    quiet: bool = typer.Option(False, "--quiet", help="no terminal summary"),
    whotracksme: Optional[Path] = typer.Option(None, "--whotracksme", help="WhoTracks.me trackerdb.sql(.gz) (default: $DATASAFETY_WHOTRACKSME)"),
    geoip_dir: Optional[Path] = typer.Option(None, "--geoip-dir", help="folder with IPFire geoip/geoip6 files (default: $DATASAFETY_GEOIP_DIR)"),
    publisher: Optional[str] = typer.Option(None, "--publisher", help="the app's package name, to tell first from third parties"),
) -> None:
    """Find personal data in captured network traffic."""
    from datasafety.traffic.command import run_traffic

    raise typer.Exit(
        run_traffic(
            capture, device=device, keylog=keylog, json_out=json_out, trackers=trackers, quiet=quiet,
            whotracksme=whotracksme, geoip_dir=geoip_dir, publisher=publisher,
        )
    )


def main() -> None:
    """Entry point: every failure ends with one line on stderr (DESIGN.md), never a traceback.

    ``DATASAFETY_DEBUG=1`` re-raises unexpected errors, for developers.
    """
    import os

    try:
        from typer._click import exceptions as click_exceptions  # typer >= 0.20 vendors click
    except ImportError:  # pragma: no cover - older typer uses click itself
        from click import exceptions as click_exceptions

    try:
        code = app(standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "usage: datasafety COMMAND ...")
        sys.exit(2)
    except click_exceptions.UsageError as exc:
        print(f"datasafety: {' '.join(exc.format_message().split())} (see --help)", file=sys.stderr)
        sys.exit(2)
    except click_exceptions.ClickException as exc:
        print(f"datasafety: {' '.join(exc.format_message().split())}", file=sys.stderr)
        sys.exit(exc.exit_code or 2)
    except (KeyboardInterrupt, getattr(click_exceptions, "Abort", KeyboardInterrupt)):
        print("datasafety: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        if os.environ.get("DATASAFETY_DEBUG"):
            raise
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        print(f"datasafety: internal error on this input ({message}); DATASAFETY_DEBUG=1 shows details", file=sys.stderr)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
