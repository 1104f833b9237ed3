#!/usr/bin/env python3
"""Scan time and peak memory: ``datasafety scan`` beside androguard, same run, same APKs.

For each APK, each tool runs in a fresh subprocess, so wall time includes
interpreter start-up and imports for both, and peak RSS (``ru_maxrss`` of that
child, from ``os.wait4``) belongs to one tool only:

- ours: ``datasafety scan APK --quiet --json /dev/null`` (the default scan,
  with call graph, reachability and flows), and the inventory scan with
  ``--no-flows`` (everything the scan issue reports: permissions, call sites,
  SDKs, verdicts), which is what the peer's work below compares with;
- the peer: androguard's ``AnalyzeAPK(path)`` followed by what a user would
  otherwise do to find the sensitive API call sites: for every catalogue entry
  of kind ``invoke`` in ``src/datasafety/knowledge/data/api_catalogue.json``,
  ``dx.find_methods(classname=..., methodname=...)`` and ``get_xref_from()``.

One untimed warm-up run of each tool comes first (it fills the page cache),
then ``--runs`` timed runs (default 3), alternating the tools; the table shows
medians. The warm-up runs also feed a correctness cross-check: the set of
(caller class, caller method, API) for location APIs must be the same for
both tools; every difference is printed.

Run from the repository root::

    .venv/bin/python benchmarks/scan_vs_androguard.py [--runs 3] [EXTRA.apk ...]

APK arguments are paths, or paths relative to the corpus folder
(default ``../shared/data/apks`` relative to the repository root).
``--peer APK OUT`` runs only the androguard side once (used internally).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "data" / "apks"
DEFAULT_APKS = [
    "exodus-core/instapaper.apk",
    "exodus-core/blooddonation.apk",
    "npm-android-apidemos/ApiDemos-debug.apk",
]
LOCATION_TYPES = ("precise_location", "approximate_location")
MIB = 1024 * 1024


# --------------------------------------------------------------------------- shared helpers
# (corpus.py, make_large_apk.py and dex_throughput.py import these)


def die(script: str, message: str) -> None:
    """One-line error on stderr, exit status 2."""
    print(f"{script}: {message}", file=sys.stderr)
    sys.exit(2)


def require_corpus(script: str, corpus: Path) -> None:
    if not corpus.is_dir():
        die(script, f"APK corpus not found at {corpus} (expected ../shared/data/apks beside the repository; use --corpus)")


def datasafety_command() -> list[str]:
    """The ``datasafety`` console script of the interpreter running this script."""
    beside = Path(sys.executable).parent / "datasafety"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("datasafety")
    if found:
        return [found]
    return [sys.executable, "-m", "datasafety.cli"]


class Run:
    """Outcome of one measured child process."""

    def __init__(self, seconds: float, maxrss_kib: int, returncode: int, stdout: str, stderr: str, timed_out: bool):
        self.seconds = seconds
        self.maxrss_mib = maxrss_kib / 1024
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def error_line(self) -> str:
        if self.timed_out:
            return "timed out"
        lines = [ln for ln in self.stderr.strip().splitlines() if ln.strip()]
        return f"exit {self.returncode}: {lines[-1] if lines else '(no stderr)'}"


def run_measured(cmd: list[str], timeout: float | None = None, cwd: Path | None = None) -> Run:
    """Run ``cmd`` in a fresh process; wall time and that process's peak RSS.

    Peak RSS is ``ru_maxrss`` from ``os.wait4`` on the child: the largest RSS of
    the child (or of any descendant it waited for), not a sum over processes.
    The child's figure also has the RSS of this (small) harness at spawn time as
    a floor, because the kernel seeds a new process's high-water mark from its parent.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            seconds,
            usage.ru_maxrss,
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            timed_out.is_set(),
        )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def datasafety_package() -> Path:
    """Folder of the ``datasafety`` package this interpreter imports (the checkout's ``src/``, or PYTHONPATH)."""
    import importlib.util

    spec = importlib.util.find_spec("datasafety")
    if spec is None or not spec.submodule_search_locations:
        die("benchmarks", "datasafety is not importable (run with the project's .venv/bin/python)")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def git_state() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        return head + (" (src/ has uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def print_header(title: str) -> None:
    print(f"# {title}")
    print(f"date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: nproc={os.cpu_count()}, CPU: {cpu_model()}, Python {platform.python_version()}; load average at start {load}")
    pkg = datasafety_package()
    where = f"git {git_state()}" if pkg == (REPO / "src" / "datasafety").resolve() else f"imported from {pkg} (not this checkout's src/)"
    print(f"datasafety {package_version('datasafety')}, {where}; androguard {package_version('androguard')}")
    print(f"command: {' '.join([os.path.relpath(sys.executable)] + sys.argv)}")
    sys.stdout.flush()


def fmt(value: float | None, spec: str) -> str:
    return "failed" if value is None else format(value, spec)


def resolve_apk(arg: str, corpus: Path) -> Path:
    p = Path(arg)
    if p.is_file():
        return p
    if (corpus / arg).is_file():
        return corpus / arg
    raise FileNotFoundError(arg)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- catalogue


def invoke_entries(catalogue: Path | None = None) -> list[dict]:
    """Invoke entries of the API catalogue of the datasafety package under test."""
    catalogue = catalogue or datasafety_package() / "knowledge" / "data" / "api_catalogue.json"
    data = json.loads(catalogue.read_text(encoding="utf-8"))
    return [e for e in data["apis"] if e.get("kind") == "invoke"]


def location_api_ids(entries: list[dict], types: tuple[str, ...]) -> dict[str, str]:
    """Catalogue id -> ``class.method`` of the invoke entries that yield one of ``types``.

    ``types == ("all",)`` selects every invoke entry without ``requires_string``
    (those also need a string in the caller, which the peer's plain xref lookup
    does not check).
    """
    if types == ("all",):
        return {e["id"]: f"{e['class']}.{e['method']}" for e in entries if not e.get("requires_string")}
    return {
        e["id"]: f"{e['class']}.{e['method']}"
        for e in entries
        if any(y["data_type"] in types for y in e.get("yields", []))
    }


# --------------------------------------------------------------------------- the peer (androguard)


def _dotted(descriptor: str) -> str:
    if descriptor.startswith("L") and descriptor.endswith(";"):
        return descriptor[1:-1].replace("/", ".")
    return descriptor


def peer_main(apk: str, out: str) -> None:
    """androguard: AnalyzeAPK, then xrefs of every catalogued invoke API; JSON of all hits to ``out``."""
    from loguru import logger

    logger.remove()
    from androguard.misc import AnalyzeAPK

    _a, dexes, dx = AnalyzeAPK(apk)
    seen: set[str] = set()
    duplicates: set[str] = set()
    for dex in dexes:
        for cls in dex.get_classes():
            name = _dotted(cls.get_name())
            (duplicates if name in seen else seen).add(name)
    hits = []
    for entry in invoke_entries():
        classname = re.escape("L" + entry["class"].replace(".", "/") + ";") + "$"
        methodname = re.escape(entry["method"]) + "$"
        for method in dx.find_methods(classname=classname, methodname=methodname):
            if entry.get("descriptor") and method.descriptor.replace(" ", "") != entry["descriptor"]:
                continue
            for caller_class, caller_method, _offset in method.get_xref_from():
                hits.append(
                    [
                        _dotted(caller_class.name),
                        caller_method.name + caller_method.descriptor.replace(" ", ""),
                        entry["id"],
                    ]
                )
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"hits": sorted(set(map(tuple, hits))), "duplicate_classes": sorted(duplicates)}, f)


def peer_command(apk: Path, out: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--peer", str(apk), out]


# --------------------------------------------------------------------------- cross-check


def ours_triples(report_path: str, ids: dict[str, str]) -> set[tuple[str, str, str]]:
    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    return {(c["caller_class"], c["caller_method"], ids[c["api_id"]]) for c in report["call_sites"] if c["api_id"] in ids}


def peer_triples(hits_path: str, ids: dict[str, str]) -> tuple[set[tuple[str, str, str]], set[str]]:
    """The peer's triples, and the classes defined in more than one of the APK's DEX files."""
    data = json.loads(Path(hits_path).read_text(encoding="utf-8"))
    triples = {(cls, meth, ids[api_id]) for cls, meth, api_id in data["hits"] if api_id in ids}
    return triples, set(data["duplicate_classes"])


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("apks", nargs="*", help="extra APKs (paths, or relative to --corpus)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool and APK (default 3)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="corpus folder (default ../shared/data/apks)")
    parser.add_argument("--no-defaults", action="store_true", help="measure only the APKs given")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run before it is killed (default 3600)")
    parser.add_argument(
        "--cross-check-types",
        default=",".join(LOCATION_TYPES),
        help="data types of the invoke APIs compared between the tools (default precise_location,approximate_location; "
        "'all' = every invoke API that needs no string)",
    )
    parser.add_argument("--peer", nargs=2, metavar=("APK", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.peer:
        peer_main(*args.peer)
        return
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    require_corpus("scan_vs_androguard", args.corpus)
    names = ([] if args.no_defaults else DEFAULT_APKS) + args.apks
    if not names:
        parser.error("no APKs to measure")
    apks = []
    for name in names:
        try:
            apks.append(resolve_apk(name, args.corpus))
        except FileNotFoundError:
            die("scan_vs_androguard", f"APK not found: {name} (neither a path nor under {args.corpus})")

    types = tuple(t.strip() for t in args.cross_check_types.split(",") if t.strip())
    ids = location_api_ids(invoke_entries(), types)
    ours_cmd = datasafety_command()
    print_header("Scan vs androguard")
    print(f"runs: 1 warm-up + {args.runs} timed per tool and APK, alternating; table values are medians")
    print()

    rows, checks, failures = [], [], []
    with tempfile.TemporaryDirectory(prefix="ds-bench-") as tmp:
        for apk in apks:
            label = str(apk.relative_to(args.corpus)) if apk.is_relative_to(args.corpus) else str(apk)
            size_mib = apk.stat().st_size / MIB
            ours_json = os.path.join(tmp, "ours.json")
            peer_json = os.path.join(tmp, "peer.json")
            # Warm-up (untimed): fills the page cache; its outputs feed the cross-check.
            warm_ours = run_measured(ours_cmd + ["scan", str(apk), "--quiet", "--json", ours_json], args.timeout)
            warm_peer = run_measured(peer_command(apk, peer_json), args.timeout)
            ours_runs, inv_runs, peer_runs = [], [], []
            for i in range(args.runs):
                trio = [
                    ("ours", ours_runs, ours_cmd + ["scan", str(apk), "--quiet", "--json", os.devnull]),
                    ("ours --no-flows", inv_runs, ours_cmd + ["scan", str(apk), "--quiet", "--no-flows", "--json", os.devnull]),
                    ("androguard", peer_runs, peer_command(apk, os.devnull)),
                ]
                if i % 2:
                    trio.reverse()
                for tool, runs, cmd in trio:
                    run = run_measured(cmd, args.timeout)
                    runs.append(run)
                    status = "ok" if run.ok else run.error_line()
                    print(f"  {label} {tool} run {i + 1}: {run.seconds:.2f} s, peak RSS {run.maxrss_mib:.0f} MiB, {status}", flush=True)
                    if not run.ok:
                        failures.append(f"{label} {tool} run {i + 1}: {run.error_line()}")

            def med(runs: list[Run], attr: str) -> float | None:
                vals = [getattr(r, attr) for r in runs if r.ok]
                return statistics.median(vals) if vals else None

            o_t, i_t, p_t = med(ours_runs, "seconds"), med(inv_runs, "seconds"), med(peer_runs, "seconds")
            o_m, i_m, p_m = med(ours_runs, "maxrss_mib"), med(inv_runs, "maxrss_mib"), med(peer_runs, "maxrss_mib")

            def ratio(ours: float | None) -> str:
                return f"{p_t / ours:.1f}x" if ours and p_t else "n/a"

            rows.append([label, f"{size_mib:.2f}", fmt(o_t, ".2f"), fmt(i_t, ".2f"), fmt(p_t, ".2f"), ratio(o_t), ratio(i_t),
                         fmt(o_m, ".0f"), fmt(i_m, ".0f"), fmt(p_m, ".0f")])

            if warm_ours.ok and warm_peer.ok:
                ours_set = ours_triples(ours_json, ids)
                peer_set, duplicates = peer_triples(peer_json, ids)
                checks.append((label, ours_set, peer_set, duplicates))
            else:
                bad = [f"{tool} {run.error_line()}" for tool, run in (("ours", warm_ours), ("androguard", warm_peer)) if not run.ok]
                checks.append((label, None, "; ".join(bad), set()))

    print()
    print(
        table(
            ["APK", "size MiB", "ours s", "ours --no-flows s", "androguard s", "ratio (androguard/ours)",
             "ratio (androguard/ours --no-flows)", "ours RSS MiB", "ours --no-flows RSS MiB", "androguard RSS MiB"],
            rows,
        )
    )
    print()
    what = "every invoke API without requires_string" if types == ("all",) else f"invoke APIs yielding {', '.join(types)}"
    print(f"Cross-check: (caller class, caller method, API) for {what}")
    all_same = True
    for label, ours_set, peer_set, duplicates in checks:
        if ours_set is None:
            all_same = False
            print(f"- {label}: not compared, warm-up failed: {peer_set}")
            continue
        only_ours, only_peer = sorted(ours_set - peer_set), sorted(peer_set - ours_set)
        same = not only_ours and not only_peer
        all_same &= same
        verdict = "same" if same else "DIFFERENT"
        in_dup = sum(1 for t in only_ours + only_peer if t[0] in duplicates)
        note = f" ({in_dup} of the {len(only_ours) + len(only_peer)} differences are in classes defined in more than one DEX)" if in_dup else ""
        print(f"- {label}: {verdict}; ours {len(ours_set)}, androguard {len(peer_set)}, common {len(ours_set & peer_set)}{note}")
        mark = lambda t: "  [class defined in more than one DEX; datasafety keeps the first]" if t[0] in duplicates else ""  # noqa: E731
        for t in only_ours:
            print(f"    only ours:       {t[0]} {t[1]} -> {t[2]}{mark(t)}")
        for t in only_peer:
            print(f"    only androguard: {t[0]} {t[1]} -> {t[2]}{mark(t)}")
    if failures:
        print()
        print("Failed runs:")
        for f in failures:
            print(f"- {f}")
    sys.exit(0 if all_same and not failures else 1)


if __name__ == "__main__":
    main()
