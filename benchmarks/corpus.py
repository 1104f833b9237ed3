#!/usr/bin/env python3
"""Whole-corpus scan: datasafety beside androguard, total time, unreadable APKs, and our memory budget.

Three passes over every ``*.apk`` under the corpus folder (recursively, sorted):

1. datasafety total: one worker process runs ``datasafety.scan(path).to_json()``
   on each APK in turn (Python API, start-up paid once); the total is the
   worker's wall time from spawn to exit.
2. androguard total: the same with ``androguard.misc.AnalyzeAPK(path)`` (loguru
   silenced). A worker stuck on one APK longer than ``--timeout`` is killed, the
   APK counted as unreadable, and a new worker continues with the next one.
3. datasafety peak memory: ``datasafety scan APK --quiet --json /dev/null`` in a
   fresh process per APK; peak RSS is that process's ``ru_maxrss`` (``os.wait4``).
   The budget is peak <= 300 MiB + 10 x APK size; the script prints the largest
   value over APKs of (peak - 300 MiB - 10 x size), negative means within budget.

"Could not read": datasafety's ``InputError`` (exit 2 on the command line);
for androguard, any exception from ``AnalyzeAPK``. Any other datasafety
exception is a crash and is listed separately.

Run from the repository root::

    .venv/bin/python benchmarks/corpus.py [--limit N] [--skip-androguard] [--skip-memory]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan_vs_androguard import (  # noqa: E402
    CORPUS,
    MIB,
    datasafety_command,
    print_header,
    require_corpus,
    run_measured,
    table,
)

BASE_MIB = 300
PER_APK_MIB = 10


# --------------------------------------------------------------------------- worker (child process)


def worker(tool: str) -> None:
    """Read APK paths from stdin, one per line; write one JSON line per APK to stdout."""
    # Results go to the original stdout; anything the libraries print goes to stderr.
    results_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if tool == "androguard":
        from loguru import logger

        logger.remove()
        from androguard.misc import AnalyzeAPK

        def run(path: str) -> dict:
            _a, d, _dx = AnalyzeAPK(path)
            return {"dex": len(d)}

        unreadable: tuple[type[BaseException], ...] = (Exception,)
    else:
        import datasafety
        from datasafety.app.container import InputError

        flows = tool != "datasafety-inventory"

        def run(path: str) -> dict:
            report = datasafety.scan(path, flows=flows).to_json()
            return {"dex": report["app"]["dex_count"]}

        unreadable = (InputError,)
    print(json.dumps({"ready": True}), file=results_out, flush=True)
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        start = time.perf_counter()
        result: dict = {"path": path}
        try:
            result.update(run(path))
            result["status"] = "ok"
        except unreadable as exc:
            result["status"] = "unreadable"
            result["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        except Exception as exc:  # noqa: BLE001 - a crash is a finding, keep going
            result["status"] = "crash"
            result["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            result["traceback"] = traceback.format_exc()[-2000:]
        result["seconds"] = time.perf_counter() - start
        print(json.dumps(result), file=results_out, flush=True)


# --------------------------------------------------------------------------- harness


def run_workers(tool: str, apks: list[Path], timeout: float) -> tuple[float, dict[str, dict]]:
    """Run ``apks`` through worker processes; (total wall seconds of the workers, results by path)."""
    results: dict[str, dict] = {}
    pending = [str(p) for p in apks]
    total = 0.0
    while pending:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", tool],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        assert proc.stdin and proc.stdout
        ready = proc.stdout.readline()
        if not ready:
            raise SystemExit(f"corpus: the {tool} worker did not start")
        killed = False
        while pending:
            path = pending[0]
            proc.stdin.write(path + "\n")
            proc.stdin.flush()
            readable, _, _ = select.select([proc.stdout], [], [], timeout)
            line = proc.stdout.readline() if readable else ""
            if not line:
                reason = f"no result within {timeout:.0f} s" if not readable else "worker died"
                proc.kill()
                proc.wait()
                results[path] = {"path": path, "status": "unreadable" if not readable else "crash", "error": reason, "seconds": timeout}
                pending.pop(0)
                killed = True
                break
            results[path] = json.loads(line)
            pending.pop(0)
        if not killed:
            proc.stdin.close()
            proc.wait()
        total += time.perf_counter() - start
    return total, results


def summarise(results: dict[str, dict]) -> dict[str, list[dict]]:
    by: dict[str, list[dict]] = {"ok": [], "unreadable": [], "crash": []}
    for r in results.values():
        by[r["status"]].append(r)
    return by


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="corpus folder (default ../shared/data/apks)")
    parser.add_argument("--limit", type=int, help="only the first N APKs (sorted by path)")
    parser.add_argument("--skip-androguard", action="store_true", help="do not run androguard")
    parser.add_argument("--skip-memory", action="store_true", help="do not run the per-APK subprocess pass (peak RSS)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per APK before the worker is killed (default 1800)")
    parser.add_argument("--json", type=Path, help="also write every per-APK result here")
    parser.add_argument("--no-flows", action="store_true", help="measure the inventory scan (no call graph, reachability or flows)")
    parser.add_argument("--worker", choices=["datasafety", "datasafety-inventory", "androguard"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    require_corpus("corpus", args.corpus)
    apks = sorted(args.corpus.rglob("*.apk"), key=lambda p: p.relative_to(args.corpus).as_posix())
    apks = [p for p in apks if p.is_file()]
    if args.limit is not None:
        apks = apks[: args.limit]
    if not apks:
        raise SystemExit(f"corpus: no .apk files under {args.corpus}")
    total_mib = sum(p.stat().st_size for p in apks) / MIB

    print_header("Whole corpus")
    print(f"APKs: {len(apks)} ({total_mib:.1f} MiB) under {args.corpus}")
    print(flush=True)

    # The first scan fills the page cache; do that outside the timed pass.
    run_measured(datasafety_command() + ["scan", str(apks[0]), "--quiet", "--json", os.devnull])

    out: dict = {"apks": [str(p) for p in apks]}
    ours_total, ours = run_workers("datasafety-inventory" if args.no_flows else "datasafety", apks, args.timeout)
    out["datasafety"] = ours
    print(f"datasafety pass done: {ours_total:.1f} s", flush=True)
    peer_total = None
    peer: dict[str, dict] = {}
    if not args.skip_androguard:
        peer_total, peer = run_workers("androguard", apks, args.timeout)
        out["androguard"] = peer
        print(f"androguard pass done: {peer_total:.1f} s", flush=True)

    memory: list[dict] = []
    if not args.skip_memory:
        for apk in apks:
            extra = ["--no-flows"] if args.no_flows else []
            run = run_measured(datasafety_command() + ["scan", str(apk), "--quiet", "--json", os.devnull] + extra, args.timeout)
            size_mib = apk.stat().st_size / MIB
            memory.append(
                {
                    "path": str(apk),
                    "size_mib": size_mib,
                    "seconds": run.seconds,
                    "peak_mib": run.maxrss_mib,
                    "returncode": run.returncode,
                    "over_budget_mib": run.maxrss_mib - BASE_MIB - PER_APK_MIB * size_mib,
                    "error": "" if run.ok else run.error_line(),
                }
            )
        out["memory"] = memory
        print("memory pass done", flush=True)

    if args.json:
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")

    o, p = summarise(ours), summarise(peer) if peer else None
    def row(tool: str, total: float, results: dict, summary: dict) -> list[str]:
        per_apk = sum(r["seconds"] for r in results.values())
        return [tool, f"{total:.1f}", f"{per_apk:.1f}"] + [str(len(summary[k])) for k in ("ok", "unreadable", "crash")]

    rows = [row("datasafety (Python API, one process)", ours_total, ours, o)]
    if p is not None:
        rows.append(row("androguard AnalyzeAPK (one process)", peer_total, peer, p))
    print()
    print(table(["tool", "total wall s", "sum of per-APK s", "read", "could not read", "crashed"], rows))
    if peer_total:
        print(f"\nratio (androguard / datasafety, total wall): {peer_total / ours_total:.1f}x")

    def listing(title: str, items: list[dict]) -> None:
        if items:
            print(f"\n{title}:")
            for r in sorted(items, key=lambda r: r["path"]):
                print(f"- {os.path.relpath(r['path'], args.corpus)}: {r.get('error', '')}")

    listing("datasafety could not read", o["unreadable"])
    listing("datasafety CRASHED (bug)", o["crash"])
    for r in o["crash"]:
        print(f"\n{r['path']}\n{r.get('traceback', '')}")
    if p is not None:
        listing("androguard could not read", p["unreadable"])
        listing("androguard worker died", p["crash"])
        both = {r["path"] for r in o["ok"]} & {r["path"] for r in p["ok"]}
        zero_dex = [r for r in p["ok"] if r.get("dex") == 0 and ours.get(r["path"], {}).get("dex", 0) > 0]
        listing("androguard read but found no DEX where datasafety found some", zero_dex)
        print(f"\nread by both: {len(both)}")

    if memory:
        worst = max(memory, key=lambda m: m["over_budget_mib"])
        over = [m for m in memory if m["over_budget_mib"] > 0]
        failed = [m for m in memory if m["returncode"] not in (0,)]
        biggest = max(memory, key=lambda m: m["peak_mib"])
        print(f"\nPeak RSS per APK, `datasafety scan APK --quiet --json /dev/null{' --no-flows' if args.no_flows else ''}` in a fresh process ({len(memory)} APKs):")
        print(
            table(
                ["measure", "value"],
                [
                    ["max over APKs of (peak - 300 MiB - 10 x size)", f"{worst['over_budget_mib']:.0f} MiB ({os.path.relpath(worst['path'], args.corpus)})"],
                    ["APKs over budget", str(len(over))],
                    ["largest peak RSS", f"{biggest['peak_mib']:.0f} MiB ({os.path.relpath(biggest['path'], args.corpus)}, {biggest['size_mib']:.2f} MiB)"],
                    ["median peak RSS", f"{sorted(m['peak_mib'] for m in memory)[len(memory) // 2]:.0f} MiB"],
                    ["sum of per-process wall time", f"{sum(m['seconds'] for m in memory):.1f} s"],
                    ["non-zero exits (2 = unreadable input)", str(len(failed))],
                ],
            )
        )
        for m in failed:
            if m["returncode"] != 2:
                print(f"- CRASH {os.path.relpath(m['path'], args.corpus)}: {m['error']}")


if __name__ == "__main__":
    main()
