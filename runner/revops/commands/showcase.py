"""``revops demo`` and ``revops bench``: the whole pipeline on generated data, to try it out
(:mod:`revops.demo`) and to measure it (:mod:`revops.bench`)."""

from __future__ import annotations

import argparse

from revops.commands import args as types
from revops.commands.common import Subparsers, progress
from revops.exitcodes import EXIT_OK


def register(sub: Subparsers) -> None:
    bench = sub.add_parser(
        "bench",
        help="benchmark: full FDW read vs 365-day backfill vs day-by-day loop vs one daily run",
        description="Replaces crm.* with generated data (unless --no-generate), then prints"
        " medians and ratios and writes bench-results/bench-scale-S.json.",
    )
    bench.add_argument("--scale", type=types.scale, default=1.0, help="generator scale (default 1)")
    bench.add_argument("--seed", type=int, default=42)
    bench.add_argument("--no-generate", action="store_true", help="measure the data already loaded")
    bench.add_argument(
        "--repeats", type=types.bounded_int(1, 100), default=3, help="runs per median (default 3)"
    )
    bench.add_argument("--days", type=types.days, default=365, help="backfill length (default 365)")
    bench.set_defaults(func=cmd_bench)

    demo = sub.add_parser(
        "demo", help="start, bootstrap, generate a small data set, backfill, summarise"
    )
    demo.add_argument(
        "--scale", type=types.scale, default=0.02, help="generator scale (default 0.02)"
    )
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(func=cmd_demo)


def cmd_bench(args: argparse.Namespace) -> int:
    from revops.bench import run_benchmark

    run_benchmark(
        scale=args.scale,
        seed=args.seed,
        generate=not args.no_generate,
        repeats=args.repeats,
        days=args.days,
        progress=progress,
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from revops.demo import demo

    return demo(scale=args.scale, seed=args.seed, progress=progress)
