"""The experience store's SQL: its schema, the migrations between schema versions, and
records in and out of rows (see :mod:`autometa.experience` for the store itself)."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

SCHEMA_VERSION = 3

RECORD_KEYS = ("uid", "created", "tag", "fingerprint", "table_key", "task", "metric",
               "n_classes", "n_rows", "n_columns", "fit_rows", "resampling", "outcome",
               "fit_time", "metafeatures", "versions", "ensemble", "trials")
TRIAL_KEYS = ("trial", "family", "config", "origin", "status", "loss", "fit_time",
              "predict_time", "wall_time", "error", "fidelity")
JSON_COLUMNS = ("metafeatures", "versions", "ensemble")
FIT_COLUMNS = tuple(k for k in RECORD_KEYS if k != "trials")


def _fill_vectors(conn: sqlite3.Connection) -> None:
    """Migration 1 -> 2: the meta-features of the fits stored so far as vectors."""
    rows = conn.execute("SELECT id, metafeatures FROM fits WHERE metafeatures IS NOT NULL")
    for fit_id, text in rows.fetchall():
        names_id, vector = metafeature_vector(conn, json.loads(text))
        conn.execute("UPDATE fits SET names_id = ?, vector = ? WHERE id = ?",
                     (names_id, vector, fit_id))


# Each step upgrades the schema by one version: MIGRATIONS[v] takes version v to v + 1;
# a step is SQL statements, or functions of the connection.
MIGRATIONS: tuple[tuple, ...] = (
    (  # 0 -> 1: the first format
        """CREATE TABLE fits (
            id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, created REAL NOT NULL,
            tag TEXT, fingerprint TEXT, task TEXT NOT NULL, metric TEXT, n_classes INTEGER,
            n_rows INTEGER, n_columns INTEGER, outcome TEXT, fit_time REAL,
            metafeatures TEXT, versions TEXT, ensemble TEXT)""",
        """CREATE TABLE trials (
            fit_id INTEGER NOT NULL REFERENCES fits(id) ON DELETE CASCADE,
            trial INTEGER NOT NULL, family TEXT, config TEXT NOT NULL, origin TEXT,
            status TEXT NOT NULL, loss REAL, fit_time REAL, predict_time REAL,
            wall_time REAL, error TEXT, PRIMARY KEY (fit_id, trial)) WITHOUT ROWID""",
    ),
    (  # 1 -> 2: the table's identity apart from its rows, the fidelity of the trials, and
       # the meta-features as float64 vectors (names stored once), read fast at fit start
        "ALTER TABLE fits ADD COLUMN table_key TEXT",
        "ALTER TABLE fits ADD COLUMN fit_rows INTEGER",
        "ALTER TABLE fits ADD COLUMN resampling TEXT",
        "CREATE TABLE metafeature_names (id INTEGER PRIMARY KEY, names TEXT NOT NULL UNIQUE)",
        "ALTER TABLE fits ADD COLUMN names_id INTEGER REFERENCES metafeature_names(id)",
        "ALTER TABLE fits ADD COLUMN vector BLOB",
        "CREATE INDEX fits_task ON fits (task, n_classes)",
        "CREATE INDEX fits_created ON fits (created)",
        _fill_vectors,
    ),
    (  # 2 -> 3: each trial's fidelity (training rows per split; NULL: the fit's all rows)
        "ALTER TABLE trials ADD COLUMN fidelity INTEGER",
    ),
)


class ExperienceError(RuntimeError):
    """A store that cannot be used: unreadable, not a store, or of a newer schema."""


def schema_version_of(conn: sqlite3.Connection) -> int:
    """The schema version of an open file (0: empty; raises ExperienceError if not a store)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "schema_version" in tables:
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)
    if tables:
        raise ExperienceError("the file is an SQLite database but not an experience store "
                              f"(it has tables {sorted(tables)} and no schema_version).")
    return 0


def retry(action, timeout: float):
    """Run ``action``, retrying while the database is locked, for up to ``timeout`` s."""
    end, delay = time.monotonic() + timeout, 0.01
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() + delay > end:
                raise
            time.sleep(delay)
            delay = min(2 * delay, 0.5)


def criteria(older_than: float | None, tag: str | None) -> tuple[str, list]:
    """The SQL condition (and its arguments) for fits older than ``older_than`` days and
    with ``tag``; an empty condition when neither is given."""
    clauses, args = [], []
    if older_than is not None:
        clauses.append("created < ?")
        args.append(time.time() - 86400.0 * float(older_than))
    if tag is not None:
        clauses.append("tag = ?")
        args.append(tag)
    return " AND ".join(clauses), args


def finite(value):
    """A number for SQLite and JSON: ``None`` for NaN and infinities."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def insert(conn: sqlite3.Connection, record: dict[str, Any], replace: bool) -> int:
    """Store one fit's record (see :data:`RECORD_KEYS`) in an open transaction; a record
    of the same ``uid`` is replaced, or kept when ``replace`` is False. Returns its id."""
    old = conn.execute("SELECT id FROM fits WHERE uid = ?", (record["uid"],)).fetchone()
    if old is not None and not replace:
        return int(old[0])
    if old is not None:
        conn.execute("DELETE FROM fits WHERE id = ?", old)
    values = [json.dumps(record.get(k), allow_nan=False) if k in JSON_COLUMNS else record.get(k)
              for k in FIT_COLUMNS]
    names_id, vector = metafeature_vector(conn, record.get("metafeatures"))
    columns = (*FIT_COLUMNS, "names_id", "vector")
    cursor = conn.execute(f"INSERT INTO fits ({', '.join(columns)}) VALUES "
                          f"({', '.join('?' * len(columns))})", [*values, names_id, vector])
    fit_id = int(cursor.lastrowid)
    conn.executemany(
        f"INSERT INTO trials (fit_id, {', '.join(TRIAL_KEYS)}) VALUES "
        f"(?, {', '.join('?' * len(TRIAL_KEYS))})",
        [(fit_id, *trial_row(t)) for t in record.get("trials") or ()])
    return fit_id


def metafeature_vector(conn: sqlite3.Connection, metafeatures: dict[str, Any] | None
                       ) -> tuple[int | None, bytes | None]:
    """The id of a fit's meta-feature names (added when new) and its values as float64
    bytes in their (sorted) order; ``(None, None)`` without meta-features."""
    if not metafeatures:
        return None, None
    names = sorted(metafeatures)
    text = json.dumps(names)
    row = conn.execute("SELECT id FROM metafeature_names WHERE names = ?", (text,)).fetchone()
    names_id = row[0] if row else conn.execute(
        "INSERT INTO metafeature_names (names) VALUES (?)", (text,)).lastrowid
    values = [np.nan if metafeatures[n] is None else float(metafeatures[n]) for n in names]
    return int(names_id), np.asarray(values, dtype=np.float64).tobytes()


def trial_row(trial: dict[str, Any]) -> tuple:
    """A trial's values in the order of :data:`TRIAL_KEYS` (its config as sorted JSON)."""
    return tuple(json.dumps(trial[k], sort_keys=True) if k == "config"
                 else finite(trial.get(k)) if k in ("loss", "fit_time", "predict_time",
                                                     "wall_time")
                 else trial.get(k) for k in TRIAL_KEYS)


def fit_records(conn: sqlite3.Connection, where: str, args: Iterable) -> list[dict[str, Any]]:
    """The full records (with their trials) of the fits an SQL ``where`` clause selects."""
    rows = conn.execute(f"SELECT id, {', '.join(FIT_COLUMNS)} FROM fits {where} "
                        "ORDER BY created, id", list(args)).fetchall()
    records = []
    for row in rows:
        record = dict(zip(("id", *FIT_COLUMNS), row, strict=True))
        for key in JSON_COLUMNS:
            record[key] = loads(record[key])
        trials = conn.execute(f"SELECT {', '.join(TRIAL_KEYS)} FROM trials WHERE fit_id = ? "
                              "ORDER BY trial", (record["id"],))
        record["trials"] = [dict(zip(TRIAL_KEYS, t, strict=True)) for t in trials]
        for trial in record["trials"]:
            trial["config"] = json.loads(trial["config"])
        records.append(record)
    return records


def loads(text: str | None):
    """A JSON column's value (``None`` for SQL null)."""
    return None if text is None else json.loads(text)
