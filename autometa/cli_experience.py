"""``autometa experience``: list, show, export, import and prune an experience store.

The store is the one given with ``--store``, else the one the environment variable
``AUTOMETA_EXPERIENCE`` names (see :mod:`autometa.experience`).
"""

from __future__ import annotations

import argparse
import json
import os
import time

from autometa.cli_fit import CommandError, say
from autometa.experience import ENV, ExperienceStore


def where_help() -> str:
    """Where the store is by default, for ``--help``."""
    current = os.environ.get(ENV)
    now = f"now {current!r}" if current else "not set now"
    return f"default: the environment variable {ENV} ({now})"


def store_of(location: str | None) -> ExperienceStore:
    """The store given, else the environment's; a one-line error when there is none."""
    location = location or os.environ.get(ENV)
    if not location:
        raise CommandError(f"no experience store: give --store PATH or set {ENV}.")
    return ExperienceStore(location)


def _list(args: argparse.Namespace) -> int:
    rows = store_of(args.store).list(tag=args.tag)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        say("the store holds no fit.")
        return 0
    print(f"{'id':>5}  {'created':19}  {'tag':20}  {'task':14}  {'metric':24}  "
          f"{'rows':>8}  {'cols':>5}  {'trials':>6}  {'best loss':>10}  outcome")
    for r in rows:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["created"]))
        best = "-" if r["best_loss"] is None else f"{r['best_loss']:.5g}"
        print(f"{r['id']:>5}  {created:19}  {(r['tag'] or '-')[:20]:20}  {r['task']:14}  "
              f"{(r['metric'] or '-')[:24]:24}  {r['n_rows'] or 0:>8}  {r['n_columns'] or 0:>5}  "
              f"{r['n_trials']:>6}  {best:>10}  {r['outcome']}")
    return 0


def _show(args: argparse.Namespace) -> int:
    try:
        record = store_of(args.store).get(args.id)
    except KeyError as exc:
        raise CommandError(exc.args[0]) from None
    print(json.dumps(record, indent=2))
    return 0


def _export(args: argparse.Namespace) -> int:
    n = store_of(args.store).export_records(args.file)
    print(f"exported {n} fit{'s' if n != 1 else ''} to {args.file}")
    return 0


def _import(args: argparse.Namespace) -> int:
    if not os.path.isfile(args.file):
        raise CommandError(f"{args.file} does not exist.")
    n = store_of(args.store).import_records(args.file)
    print(f"imported {n} fit{'s' if n != 1 else ''} from {args.file}")
    return 0


def _prune(args: argparse.Namespace) -> int:
    if args.older_than is None and args.tag is None:
        raise CommandError("prune needs --older-than DAYS and/or --tag TAG.")
    n = store_of(args.store).prune(older_than=args.older_than, tag=args.tag)
    print(f"deleted {n} fit{'s' if n != 1 else ''}")
    return 0


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of days, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be at least 0 days, got {text}")
    return value


def add_experience(commands, common: argparse.ArgumentParser) -> None:
    """The ``experience`` command and its subcommands."""
    experience = commands.add_parser(
        "experience", help="the store of earlier fits that later fits start from",
        description="Manage an experience store: the SQLite file that fits with "
        f"--experience (or {ENV}) record themselves in and start from. Export and import "
        "use JSON lines, one fit per line, so stores can be merged.")
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", metavar="PATH", help=f"the store (a path or sqlite:///path; "
                       f"{where_help()})")
    sub = experience.add_subparsers(dest="experience_command", required=True, metavar="ACTION")
    parents = [common, store]
    listing = sub.add_parser("list", parents=parents, help="one line per stored fit")
    listing.add_argument("--tag", help="only the fits with this experience tag")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=_list)
    show = sub.add_parser("show", parents=parents, help="a stored fit's full record as JSON")
    show.add_argument("id", type=int, metavar="ID", help="the fit's id (see `list`)")
    show.set_defaults(handler=_show)
    export = sub.add_parser("export", parents=parents, help="write every fit to a JSON-lines "
                            "file")
    export.add_argument("file", metavar="FILE", help="the file to write")
    export.set_defaults(handler=_export)
    imported = sub.add_parser("import", parents=parents, help="add the fits of a JSON-lines "
                              "file (fits the store holds already are skipped)")
    imported.add_argument("file", metavar="FILE", help="a file written by `export`")
    imported.set_defaults(handler=_import)
    prune = sub.add_parser("prune", parents=parents, help="delete old or tagged fits")
    prune.add_argument("--older-than", type=_days, metavar="DAYS",
                       help="delete fits recorded more than DAYS days ago")
    prune.add_argument("--tag", help="delete the fits with this experience tag")
    prune.set_defaults(handler=_prune)
