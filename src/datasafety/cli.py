"""Command-line interface: ``datasafety scan`` and ``datasafety traffic``.

Exit codes (DESIGN.md): 0 done, 2 unusable input or usage error (one line on
stderr, no traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Evidence-based privacy auditor for Android apps.")


@app.command()
def traffic(
    capture: Path = typer.Argument(..., help="HAR, mitmproxy flow file, pcap or pcapng"),
    device: Optional[Path] = typer.Option(None, "--device", help="device profile YAML with the test phone's identifiers"),
    keylog: Optional[Path] = typer.Option(None, "--keylog", help="TLS key log file for pcap/pcapng"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the JSON report here ('-' for stdout)"),
    trackers: Optional[Path] = typer.Option(None, "--trackers", help="Exodus trackers.json (default: $DATASAFETY_TRACKERS)"),
    quiet: bool = typer.Option(False, "--quiet", help="no terminal summary"),
) -> None:
    """Find personal data in captured network traffic."""
    from datasafety.traffic.command import run_traffic

    raise typer.Exit(run_traffic(capture, device=device, keylog=keylog, json_out=json_out, trackers=trackers, quiet=quiet))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        print("datasafety: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
