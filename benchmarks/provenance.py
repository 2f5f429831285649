"""What a benchmark run measured: the command, the date, the git commit of the code and the
machine, for the ``run.json`` next to its results."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CODE = ("autometa", "portfolios")  # uncommitted changes here make a run "dirty"


def _git(*args: str) -> str | None:
    """The output of a git command in the repository (None outside a checkout or without
    git)."""
    try:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                              text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def git_state() -> dict:
    """The short commit of HEAD and whether ``autometa/`` or ``portfolios/`` hold
    uncommitted changes (both None outside a git checkout)."""
    commit = _git("rev-parse", "--short", "HEAD")
    status = _git("status", "--porcelain", "--", *CODE) if commit else None
    return {"commit": commit or None, "dirty": None if status is None else bool(status)}


def machine() -> dict:
    """What the numbers were measured on."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        cpuinfo = []
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                  if line.startswith("model name")), platform.processor())
    return {"cpu": model, "cores": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "os": platform.platform(), "python": platform.python_version()}


def describe(before: dict | None = None) -> dict:
    """This invocation: command, date, commit, dirty, machine.

    ``before`` is the description of an earlier invocation of the same (resumable) run; when
    its commit or dirty flag differ, it is kept in the list ``earlier``, so that a run
    resumed on other code says so.
    """
    now = {"command": shlex.join(["python", f"benchmarks/{Path(sys.argv[0]).name}",
                                  *sys.argv[1:]]),
           "date": dt.date.today().isoformat(), **git_state(), "machine": machine()}
    if before:
        earlier = list(before.get("earlier", []))
        if (before.get("commit"), before.get("dirty")) != (now["commit"], now["dirty"]):
            earlier.append({k: before.get(k) for k in ("date", "commit", "dirty")})
        if earlier:
            now["earlier"] = earlier
    return now


def at_commit(info: dict) -> str:
    """"at commit abc1234" (with uncommitted changes, earlier parts) for a summary line."""
    if not info.get("commit"):
        return "at an unrecorded commit"
    text = f"at commit {info['commit']}"
    if info.get("dirty"):
        text += " with uncommitted changes"
    earlier = [e.get("commit") or "an unrecorded commit" for e in info.get("earlier", [])]
    if earlier:
        text += f" (an earlier part at {', '.join(earlier)})"
    return text


def record(path: Path, step: str) -> None:
    """Put this invocation's description in the JSON file ``path`` under ``step`` (one
    key per step of a script, e.g. ``run`` and ``report``)."""
    info = json.loads(path.read_text()) if path.is_file() else {}
    info[step] = describe(info.get(step))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, indent=1) + "\n")
