"""The experience store: what earlier fits tried, kept in one SQLite file for later fits.

A fit with ``experience=`` set (or the ``AUTOMETA_EXPERIENCE`` environment variable)
records itself here when it ends (see :mod:`autometa.experience_use`), and later fits
start from what it learned. One record per fit: the task's fingerprint, meta-features,
task type, metric, class count, rows and columns, every trial (configuration, loss,
status, times, origin), the final ensemble's members and weights, library versions, a
timestamp and the user's ``experience_tag``. Never the data itself.

The store is an SQLite file in WAL mode: several processes may read and write it at
once (a writer waits for another up to ``timeout`` seconds, and retries). It is
addressed by a path or an ``sqlite:///path`` URL; ``sqlite:///path?mode=ro`` opens it
read-only. Server databases are not supported. The schema is versioned (table
``schema_version``); an older file is upgraded in place when opened, a newer one is
refused with :class:`ExperienceError`.

Records travel as JSON lines (:meth:`ExperienceStore.export_records`,
:meth:`ExperienceStore.import_records`): one JSON object per line, one per fit, with the
keys of :data:`RECORD_KEYS` (``trials`` a list of objects with the keys of
:data:`TRIAL_KEYS`, ``ensemble`` a list of ``{"trial": id, "weight": w}``). Importing
skips fits whose ``uid`` the store already holds, so stores can be merged.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from autometa.experience_sql import (
    MIGRATIONS,
    RECORD_KEYS,
    SCHEMA_VERSION,
    TRIAL_KEYS,
    ExperienceError,
    criteria,
    fit_records,
    insert,
    retry,
    schema_version_of,
)

__all__ = ["ENV", "FORMAT", "RECORD_KEYS", "SCHEMA_VERSION", "TRIAL_KEYS", "ExperienceError",
           "ExperienceStore", "read_records", "store_path"]
ENV = "AUTOMETA_EXPERIENCE"
FORMAT = "autometa-experience"  # the "format" key of an exported line
TIMEOUT = 10.0  # seconds a writer waits for another before giving up


def store_path(location: str | os.PathLike) -> tuple[Path, bool]:
    """The file of a store location and whether it is opened read-only.

    Parameters
    ----------
    location : str or path
        A file path, or an ``sqlite:///path`` URL (``sqlite:////abs/path`` for an
        absolute path on some systems; ``?mode=ro`` for read-only).

    Returns
    -------
    (Path, bool)

    Raises
    ------
    ExperienceError
        For a URL of another database than SQLite.
    """
    text = os.fspath(location)
    if "://" not in text:
        return Path(text).expanduser(), False
    parts = urlsplit(text)
    if parts.scheme != "sqlite":
        raise ExperienceError(
            f"experience store {text!r}: only SQLite stores (a path or sqlite:///path) are "
            "supported, not server databases.")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    read_only = parse_qs(parts.query).get("mode") == ["ro"]
    return Path(path or ".").expanduser(), read_only


class ExperienceStore:
    """Recorded fits in one SQLite file (see the module documentation).

    Parameters
    ----------
    location : str or path
        A file path or an ``sqlite:///path`` URL; the file is created on first write.
    timeout : float, default=10
        Seconds to wait for another writer before giving up.

    Attributes
    ----------
    path : Path
        The SQLite file.
    read_only : bool
        Opened with ``?mode=ro``: reads only.
    """

    def __init__(self, location: str | os.PathLike, timeout: float = TIMEOUT) -> None:
        self.location = os.fspath(location)
        self.path, self.read_only = store_path(location)
        self.timeout = timeout
        self._checked = False

    def __repr__(self) -> str:
        return f"ExperienceStore({self.location!r})"

    # -- connections ------------------------------------------------------------------------

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction (``BEGIN IMMEDIATE`` when writing), committed on
        success; the schema is created or upgraded on first use."""
        if write and self.read_only:
            raise ExperienceError(f"experience store {self.location} is opened read-only.")
        if not write and not self.path.exists():
            raise FileNotFoundError(f"experience store {self.path} does not exist.")
        conn = self._open()
        try:
            if not self._checked:
                self._prepare(conn)
            retry(lambda: conn.execute("BEGIN IMMEDIATE" if write else "BEGIN"),
                   self.timeout)
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=self.timeout,
                                   isolation_level=None)
        else:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Check the schema version; create or upgrade the schema when it is older."""
        version = schema_version_of(conn)
        if version > SCHEMA_VERSION:
            raise ExperienceError(
                f"experience store {self.location} has schema version {version}; this "
                f"autometa reads up to version {SCHEMA_VERSION}. Upgrade autometa.")
        if version < SCHEMA_VERSION and not self.read_only:
            retry(lambda: conn.execute("PRAGMA journal_mode = WAL"), self.timeout)
            self._migrate(conn)
        elif version < SCHEMA_VERSION:
            raise ExperienceError(f"experience store {self.location} has schema version "
                                  f"{version} and is opened read-only: cannot upgrade it.")
        self._checked = True

    def _migrate(self, conn: sqlite3.Connection) -> None:
        retry(lambda: conn.execute("BEGIN IMMEDIATE"), self.timeout)
        try:
            version = schema_version_of(conn)  # another process may have upgraded it meanwhile
            for step in MIGRATIONS[version:]:
                for statement in step:
                    if callable(statement):
                        statement(conn)
                    else:
                        conn.execute(statement)
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    @property
    def schema_version(self) -> int:
        """The schema version of the file (0 when it does not exist yet)."""
        if not self.path.exists():
            return 0
        conn = self._open()
        try:
            return schema_version_of(conn)
        finally:
            conn.close()

    # -- writing ----------------------------------------------------------------------------

    def add(self, record: dict[str, Any], replace: bool = True) -> int:
        """Store one fit's record; returns its id.

        Parameters
        ----------
        record : dict
            The keys of :data:`RECORD_KEYS` (missing ones are stored as null).
        replace : bool, default=True
            A record with the same ``uid`` is replaced (a continued fit); with False it
            is kept and the new one skipped.

        Returns
        -------
        int
            The fit's id in this store.
        """
        with self._connect(write=True) as conn:
            return insert(conn, record, replace)

    def add_many(self, records: Iterable[dict[str, Any]]) -> int:
        """Store several fits in one transaction, skipping those whose ``uid`` is known.

        Returns
        -------
        int
            Number of fits added.
        """
        added = 0
        with self._connect(write=True) as conn:
            for record in records:
                if conn.execute("SELECT 1 FROM fits WHERE uid = ?", (record["uid"],)).fetchone():
                    continue
                insert(conn, record, replace=False)
                added += 1
        return added

    def import_records(self, path: str | os.PathLike) -> int:
        """Add the fits of a JSON-lines file (see the module documentation).

        Fits whose ``uid`` the store holds already are skipped.

        Returns
        -------
        int
            Number of fits added.
        """
        return self.add_many(read_records(path))

    def prune(self, older_than: float | None = None, tag: str | None = None) -> int:
        """Delete fits older than ``older_than`` days and/or with ``tag``.

        Parameters
        ----------
        older_than : float, optional
            Age in days.
        tag : str, optional
            The ``experience_tag`` of the fits to delete.

        Returns
        -------
        int
            Number of fits deleted (none unless at least one criterion is given).
        """
        where, args = criteria(older_than, tag)
        if not where:
            return 0
        with self._connect(write=True) as conn:
            return conn.execute(f"DELETE FROM fits WHERE {where}", args).rowcount

    # -- reading ----------------------------------------------------------------------------

    def list(self, tag: str | None = None) -> list[dict[str, Any]]:
        """A summary of every fit, oldest first.

        Returns
        -------
        list of dict
            ``id, uid, created, tag, task, metric, n_rows, n_columns, outcome, n_trials,
            best_loss`` per fit.
        """
        if not self.path.exists():
            return []
        where, args = criteria(None, tag)
        sql = ("SELECT f.id, f.uid, f.created, f.tag, f.task, f.metric, f.n_rows, f.n_columns, "
               "f.outcome, (SELECT COUNT(*) FROM trials t WHERE t.fit_id = f.id), "
               "(SELECT MIN(loss) FROM trials t WHERE t.fit_id = f.id AND t.status = 'ok') "
               f"FROM fits f {'WHERE ' + where if where else ''} ORDER BY f.created, f.id")
        names = ("id", "uid", "created", "tag", "task", "metric", "n_rows", "n_columns",
                 "outcome", "n_trials", "best_loss")
        with self._connect() as conn:
            return [dict(zip(names, row, strict=True)) for row in conn.execute(sql, args)]

    def get(self, fit_id: int) -> dict[str, Any]:
        """The full record of one fit (as exported), with its store ``id``.

        Raises
        ------
        KeyError
            When no fit has this id.
        """
        with self._connect() as conn:
            records = fit_records(conn, "WHERE id = ?", (int(fit_id),))
        if not records:
            raise KeyError(f"no fit with id {fit_id} in {self.location}")
        return records[0]

    def records(self) -> Iterator[dict[str, Any]]:
        """Every fit's full record, oldest first."""
        if not self.path.exists():
            return
        with self._connect() as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM fits ORDER BY created, id")]
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                yield from fit_records(conn, f"WHERE id IN ({','.join('?' * len(chunk))})", chunk)

    def export_records(self, path: str | os.PathLike) -> int:
        """Write every fit as one JSON line to ``path``; returns the number of fits."""
        n = 0
        with open(path, "w", encoding="utf-8") as out:
            for record in self.records():
                record.pop("id", None)
                out.write(json.dumps({"format": FORMAT, **record}, allow_nan=False) + "\n")
                n += 1
        return n

    def sources(self, task: str, n_classes: int | None = None) -> list[dict[str, Any]]:
        """The fits a new task of this type can learn from (with a successful trial).

        Parameters
        ----------
        task : str
            ``"classification"`` or ``"regression"``.
        n_classes : int, optional
            For classification: only fits of the same kind (binary, or more classes).

        Returns
        -------
        list of dict
            ``id, uid, tag, fingerprint, table_key, fit_rows, created`` per fit, newest
            first, and its meta-features: ``metafeature_names`` (tuple of str, empty when
            it has none) and ``vector`` (ndarray of their values, NaN where unknown).
        """
        if not self.path.exists():
            return []
        sql = ("SELECT id, uid, tag, fingerprint, table_key, fit_rows, created, names_id, vector "
               "FROM fits WHERE task = ? AND outcome != 'failed'")
        args: list[Any] = [task]
        if n_classes is not None:
            sql += " AND n_classes > 2" if n_classes > 2 else " AND n_classes <= 2"
        keys = ("id", "uid", "tag", "fingerprint", "table_key", "fit_rows", "created")
        with self._connect() as conn:
            rows = conn.execute(sql + " ORDER BY created DESC, id DESC", args).fetchall()
            sets = {i: tuple(json.loads(names)) for i, names in
                    conn.execute("SELECT id, names FROM metafeature_names")}
        out = []
        for *values, names_id, vector in rows:
            row = dict(zip(keys, values, strict=True))
            row["metafeature_names"] = sets.get(names_id, ())
            row["vector"] = np.frombuffer(vector, dtype=np.float64) if vector else np.empty(0)
            out.append(row)
        return out

    def trials(self, fit_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """The trials of some fits: ``{fit id: [{config, status, loss, wall_time}, ...]}``."""
        out: dict[int, list[dict[str, Any]]] = {int(i): [] for i in fit_ids}
        if not out:
            return out
        marks = ",".join("?" * len(out))
        sql = ("SELECT fit_id, config, status, loss, wall_time FROM trials "
               f"WHERE fit_id IN ({marks}) ORDER BY fit_id, trial")
        with self._connect() as conn:
            for fit_id, config, status, loss, wall in conn.execute(sql, list(out)):
                out[fit_id].append({"config": json.loads(config), "status": status,
                                    "loss": loss, "wall_time": wall})
        return out


def read_records(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """The fits of an exported JSON-lines file, checked.

    Raises
    ------
    ValueError
        On a line that is not a record of this format (naming the line).
    """
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}, line {number}: not JSON ({exc}).") from None
            if not isinstance(record, dict) or record.get("format") != FORMAT:
                raise ValueError(f"{path}, line {number}: not an autometa experience record.")
            missing = [k for k in ("uid", "created", "task", "trials") if k not in record]
            if missing:
                raise ValueError(f"{path}, line {number}: missing {', '.join(missing)}.")
            yield {k: record.get(k) for k in RECORD_KEYS}
