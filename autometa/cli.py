"""The ``autometa`` command line: thin shells over the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _portfolio_build(args: argparse.Namespace) -> int:
    from autometa.metalearning.build import Fidelity, build_metadata
    from autometa.metalearning.corpus import load_corpus

    tasks = load_corpus(args.corpus, None if args.task == "all" else args.task)
    if args.only:
        tasks = [t for t in tasks if t.name in set(args.only)]
    fidelity = Fidelity(max_rows=args.max_rows, search_trials=args.search_trials)
    build_metadata(tasks, Path(args.out) / "metadata", n_workers=args.n_jobs,
                   fidelity=fidelity, phases=tuple(args.phases))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autometa", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    portfolio = commands.add_parser("portfolio", help="build the meta-learned portfolio")
    pcommands = portfolio.add_subparsers(dest="portfolio_command", required=True)
    build = pcommands.add_parser("build", help="run (or continue) the meta-dataset build")
    build.add_argument("--corpus", required=True, help="folder with manifest.json and data/")
    build.add_argument("--out", default="portfolios", help="portfolio folder")
    build.add_argument("--task", choices=["all", "classification", "regression"], default="all")
    build.add_argument("--only", nargs="*", help="restrict to these task names")
    build.add_argument("--n-jobs", type=int, default=2)
    build.add_argument("--max-rows", type=int, default=1500)
    build.add_argument("--search-trials", type=int, default=24)
    build.add_argument("--phases", nargs="+", default=["search", "matrix"],
                       choices=["search", "matrix"])
    build.set_defaults(handler=_portfolio_build)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
