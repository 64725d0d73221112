"""Rasa's SQL tracker store without reading and rebuilding the whole tracker every turn.

Rasa's `SQLTrackerStore` loads every event of the conversation, replays them into a
new tracker, and on save counts the stored events again to find the new ones: with
SQLite's rollback journal and a new connection each time, that was a third of the
engine's time per turn (docs/performance.md).

This store keeps what Rasa stores, row for row, and adds:
- a cache of the trackers it saved last. A tracker is taken out of the cache when it
  is handed out, so a turn that fails before saving leaves nothing half-changed behind,
  and it is handed out only if the conversation's newest stored event is still the one
  it saved (one indexed query), so writes by another engine or Rasa's HTTP API are
  not missed. Like Rasa's own store, it relies on the engine's lock so that two turns
  of one conversation never run at once;
- saving the events added since the tracker was handed out, in one statement (Rasa
  counts the stored events again, and drops the new ones if another writer came
  between);
- on SQLite, a write-ahead log and a connection pool instead of a new connection and
  a rollback journal per call. Every commit is still synced to disk.

Configured in endpoints.yml as `type: bot.engine.runtime.tracker_store.CachedSQLTrackerStore`
with Rasa's SQL settings (dialect, db, host, ...) and optionally `cache_size`.
"""

import itertools
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 1000
# Set on a tracker handed out: what was stored when it left (see `_Handed`).
_HANDED_ATTRIBUTE = "_shopdesk_handed"


@dataclass(frozen=True)
class _Handed:
    """How many of the tracker's events were stored, and the newest stored event's id."""

    stored_events: int
    latest_id: Optional[int]


class CachedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` with a cache checked against the database, and lighter saves."""

    def __init__(self, *args: Any, cache_size: int = DEFAULT_CACHE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            self._pool_sqlite_with_wal()
        self._cache: "OrderedDict[Text, DialogueStateTracker]" = OrderedDict()
        self._cache_size = max(int(cache_size), 0)
        table = self.SQLEvent.__table__
        self._insert_event = sa.insert(table)
        self._latest_id_query = sa.select(sa.func.max(table.c.id)).where(
            table.c.sender_id == sa.bindparam("sender_id")
        )
        self._rows_since_query = sa.select(sa.func.count(), sa.func.max(table.c.id)).where(
            table.c.sender_id == sa.bindparam("sender_id"), table.c.id > sa.bindparam("after")
        )

    def _pool_sqlite_with_wal(self) -> None:
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(
            url,
            poolclass=sa.pool.QueuePool,
            pool_size=2,
            connect_args={"check_same_thread": False},
        )
        sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The conversation's latest session, from the cache when it is current."""
        cached = self._cache.pop(sender_id, None)
        if cached is not None:
            with self.engine.connect() as connection:
                latest_id = self._latest_event_id(connection, sender_id)
            if _handed(cached).latest_id == latest_id:
                setattr(cached, _HANDED_ATTRIBUTE, _Handed(len(cached.events), latest_id))
                return cached
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
            # In the same transaction as the rows, so never newer than they are.
            latest_id = self._latest_event_id(session, sender_id)
        tracker = self._tracker_from_rows(sender_id, rows)
        if tracker is not None:
            setattr(tracker, _HANDED_ATTRIBUTE, _Handed(len(tracker.events), latest_id))
        return tracker

    async def current(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The latest session, checked as `retrieve` checks it and left in the cache for
        the turn that follows: for reading before a turn (bot/engine/gateway_channel.py
        asks whether the message is in it already), which must not cost the turn a load
        from the database."""
        tracker = await self.retrieve(sender_id)
        if tracker is not None:
            self._remember(sender_id, tracker)
        return tracker

    def peek(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The cached tracker, to read and not to change (it stays cached); None if not
        cached. For reading a turn's result right after it was saved."""
        return self._cache.get(sender_id)

    def _tracker_from_rows(
        self, sender_id: Text, rows: List[Any]
    ) -> Optional[DialogueStateTracker]:
        if not self.domain or not rows:
            return None
        events = [json.loads(row.data) for row in rows]
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Stores the events added since the tracker was handed out, then caches it."""
        handed: Optional[_Handed] = getattr(tracker, _HANDED_ATTRIBUTE, None)
        sender_id = tracker.sender_id
        self._cache.pop(sender_id, None)
        untouched = False
        with self.session_scope() as session:
            if handed is None:
                # A tracker this store did not hand out (a new one): Rasa's own count.
                new_events = list(self._additional_events(session, tracker))
                self._insert(session, sender_id, new_events)
                latest_id = self._latest_event_id(session, sender_id)
            else:
                # Appended even if someone else wrote meanwhile (Rasa's count would then
                # drop them); the tracker is cached only if the rows after the ones it
                # was handed out with are exactly its own.
                new_events = list(
                    itertools.islice(tracker.events, handed.stored_events, len(tracker.events))
                )
                self._insert(session, sender_id, new_events)
                since, latest_id = session.execute(
                    self._rows_since_query,
                    {"sender_id": sender_id, "after": handed.latest_id or 0},
                ).one()
                untouched = since == len(new_events)
                latest_id = handed.latest_id if latest_id is None else int(latest_id)
            session.commit()
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, new_events, sender_id)
        if untouched or handed is None:
            setattr(tracker, _HANDED_ATTRIBUTE, _Handed(len(tracker.events), latest_id))
            self._remember(sender_id, tracker)

    def _insert(self, session: Any, sender_id: Text, events: List[Any]) -> None:
        """Inserts the events' rows in one statement."""
        if events:
            session.execute(self._insert_event, [self._row(sender_id, e) for e in events])

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Streamed from `save`, which knows the new events without reading them back."""

    @staticmethod
    def _row(sender_id: Text, event: Any) -> Dict[Text, Any]:
        """The row Rasa's `SQLTrackerStore.save` writes for an event."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

    def _latest_event_id(self, connection: Any, sender_id: Text) -> Optional[int]:
        value = connection.execute(self._latest_id_query, {"sender_id": sender_id}).scalar()
        return int(value) if value is not None else None

    def _remember(self, sender_id: Text, tracker: DialogueStateTracker) -> None:
        if self._cache_size == 0:
            return
        self._cache[sender_id] = tracker
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _handed(tracker: DialogueStateTracker) -> _Handed:
    return getattr(tracker, _HANDED_ATTRIBUTE, _Handed(-1, -1))


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Write-ahead log: a commit appends and syncs one file instead of two."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
