"""Traffic analysis benchmark (issue #5): detection quality and throughput.

Prints precision and recall per data type on the labelled set
(``tests/traffic/labelled_set.py``), then throughput of ``analyse_capture`` on a HAR made of
that set repeated, beside a plain ``json.loads`` of the same HAR text in the same run
(medians of ``--runs`` runs, one process, one core).

    .venv/bin/python benchmarks/traffic.py [--repeat 10] [--runs 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datasafety.traffic import analyse_capture, analyse_requests  # noqa: E402
from tests.traffic.labelled_set import build_labelled_set, score  # noqa: E402


def _har(items, repeat: int) -> dict:
    entries = []
    for _ in range(repeat):
        for item in items:
            request = item.request
            entry = {
                "startedDateTime": "2024-06-05T10:00:00.000Z",
                "time": 1,
                "request": {
                    "method": request.method,
                    "url": request.url,
                    "httpVersion": "HTTP/1.1",
                    "headers": [{"name": n, "value": v} for n, v in request.headers],
                    "queryString": [],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": len(request.body),
                },
                "response": {"status": 200},
                "cache": {},
                "timings": {},
            }
            if request.body:
                entry["request"]["postData"] = {"mimeType": request.header("Content-Type") or "", "text": base64.b64encode(request.body).decode(), "encoding": "base64"}
            entries.append(entry)
    return {"log": {"version": "1.2", "creator": {"name": "datasafety-benchmark", "version": "1"}, "entries": entries}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="copies of the labelled set in the throughput capture")
    parser.add_argument("--runs", type=int, default=5, help="timed runs (median reported)")
    args = parser.parse_args()

    items = build_labelled_set()
    result = analyse_requests([item.request for item in items])
    observed: dict[int, set] = {}
    for observation in result.observations:
        observed.setdefault(observation.request_index, set()).add((observation.data_type, observation.value))
    negatives = sum(1 for item in items if not item.expected)
    print(f"labelled set: {len(items)} requests ({negatives} negatives)")
    print(f"{'data type':<22} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>8}")
    for data_type, s in score(items, observed).items():
        print(f"{data_type:<22} {s['tp']:>4} {s['fp']:>4} {s['fn']:>4} {s['precision']:>10.3f} {s['recall']:>8.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "bench.har"
        capture.write_text(json.dumps(_har(items, args.repeat)), encoding="utf-8")
        size_mb = capture.stat().st_size / 1e6
        requests = len(items) * args.repeat
        ours, plain = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            json.loads(capture.read_text(encoding="utf-8"))
            plain.append(time.perf_counter() - start)
            start = time.perf_counter()
            out = analyse_capture(capture)
            ours.append(time.perf_counter() - start)
            assert out.requests_read == requests
        t_ours, t_plain = statistics.median(ours), statistics.median(plain)
        print(f"\nthroughput capture: {requests} requests, {size_mb:.2f} MB HAR, median of {args.runs} runs, 1 core (cpus available: {os.cpu_count()})")
        print(f"{'':<28} {'seconds':>8} {'requests/s':>11} {'MB/s':>8}")
        print(f"{'datasafety analyse_capture':<28} {t_ours:>8.3f} {requests / t_ours:>11.0f} {size_mb / t_ours:>8.2f}")
        print(f"{'json.loads of the same HAR':<28} {t_plain:>8.3f} {requests / t_plain:>11.0f} {size_mb / t_plain:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
