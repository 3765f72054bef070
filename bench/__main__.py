"""``python -m bench [--quick] [--only NAME ...]``: run the benchmarks, write docs/benchmarks.md."""
from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone

from bench.common import REPO, Section, machine, setup_django

NAMES = ("throughput", "providers", "gating", "latency", "fanout", "live_view", "memory", "fp_memory")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test of the benchmarks)")
    parser.add_argument("--only", nargs="*", choices=NAMES, default=list(NAMES))
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    setup_django()

    from bench import fanout, fp_memory, gating, latency, live_view, memory, providers, throughput
    from workers.runtime import shared_detector

    detector = shared_detector()  # the stream worker's own detector, as configured
    seconds = 5.0 if args.quick else 20.0
    sections: list[Section] = []
    started = time.monotonic()
    if "throughput" in args.only:
        sections.append(throughput.run(seconds / 2, rounds=3))
    if "providers" in args.only:
        sections.append(providers.run(seconds))
    if "gating" in args.only:
        sections.append(gating.run(detector))
    if "latency" in args.only:
        sections.append(latency.run(detector, 20.0 if args.quick else 90.0))
    if "fanout" in args.only:
        sections.append(fanout.run(10.0 if args.quick else 60.0))
    if "live_view" in args.only:
        sections.append(live_view.run(10.0 if args.quick else 30.0))
    if "memory" in args.only:
        sections.append(memory.run(detector, 60.0 if args.quick else 600.0))
    if "fp_memory" in args.only:
        sections.append(fp_memory.run(detector))
    header = [
        "# Benchmarks",
        "",
        f"Run by `make bench` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
        f"{' (--quick)' if args.quick else ''}, {time.monotonic() - started:.0f} s in all.",
        f"Machine: {machine()}.",
        f"Detector providers: {', '.join(detector.providers)}.",
        "",
    ]
    text = "\n".join(header) + "\n" + "\n".join(s.markdown() for s in sections)
    with open(args.out, "w") as out:
        out.write(text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
