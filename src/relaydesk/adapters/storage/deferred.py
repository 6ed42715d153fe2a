"""Writes of one transaction held back and sent together: one executemany per statement.

The decision stage updates each message's conversation and customer (the window and the
bot's memory, the cohort, the language) with statements built once; sending each on its
own cost more in SQLAlchemy than running it. Held here, they go out as one round trip per
statement at the next `flush`.

The holder's contract: `flush` before anything in the transaction reads what the held
writes change, and before a row is written a second time (statements are grouped, so the
order between two different statements is not kept; within one statement it is).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.expression import Executable


class Deferred:
    def __init__(self) -> None:
        self._writes: dict[Executable, list[dict[str, Any]]] = {}

    def add(self, statement: Executable, params: dict[str, Any]) -> None:
        self._writes.setdefault(statement, []).append(params)

    def flush(self, conn: Connection) -> None:
        """Send every held write, in the order each statement was first held."""
        writes, self._writes = self._writes, {}
        for statement, rows in writes.items():
            conn.execute(statement, rows)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._writes.values())
