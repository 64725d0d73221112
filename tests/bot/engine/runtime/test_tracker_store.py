"""The engine's cached SQL tracker store: what Rasa's own SQL store reads back from the
same database is what it handed out, turn after turn, whether a turn fails half-way,
another engine writes meanwhile, or an event broker listens (run in the engine's
interpreter, on a real SQLite file and on a real PostgreSQL database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.engine_python import RASA_PYTHON, run_engine_script
from tests.support.postgres import create_database, drop_database

pytestmark = pytest.mark.skipif(not RASA_PYTHON.exists(), reason="needs `make setup`")

SCRIPT = r"""
import asyncio, json, sys
import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig

settings = json.load(sys.stdin)  # Rasa's SQL store settings: dialect, db, host...
domain = Domain.from_yaml('''
version: "3.1"
intents: [greet]
slots:
  order_number:
    type: text
    mappings: [{type: custom}]
''')

class Broker(EventBroker):
    def __init__(self): self.published = []
    def publish(self, event): self.published.append((event["sender_id"], event["event"]))

def texts(tracker):
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]

def rows(sender):
    with stock.engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar()

stock = SQLTrackerStore(domain, **settings)

async def main():
    out = {}
    broker = Broker()
    # As endpoints.yml says it: the host is the section's `url`.
    config = EndpointConfig(url=settings.get("host"),
                            type="bot.engine.runtime.tracker_store.CachedSQLTrackerStore",
                            cache_size=2, **{k: v for k, v in settings.items() if k != "host"})
    store = create_tracker_store(config, domain, broker)
    out["store"] = type(store).__name__

    async def turn(text, slot=None, save=True):
        tracker = await store.get_or_create_tracker("c1", append_action_listen=False)
        if not tracker.events:
            tracker.update(ActionExecuted("action_session_start"))
            tracker.update(SessionStarted())
            tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
        if slot:
            tracker.update(SlotSet("order_number", slot))
        tracker.update(ActionExecuted("action_listen"))
        if save:
            await store.save(tracker)
        return tracker

    first = await turn("hi")
    second = await turn("where is 1001", slot="1001")
    out["cached"] = second is first  # the saved tracker came back, not a rebuilt one
    out["after_two"] = {"ours": texts(await store.retrieve("c1")),
                        "stock": texts(await stock.retrieve("c1")), "rows": rows("c1"),
                        "events": len(second.events)}
    await turn("lost in a failed turn", save=False)
    out["after_failed"] = texts(await store.retrieve("c1"))
    # Another engine writes while this one holds the cached tracker.
    other = await stock.retrieve("c1")
    other.update(SlotSet("order_number", "2002"))
    await stock.save(other)
    after_other = await store.retrieve("c1")
    out["sees_other"] = after_other.get_slot("order_number")
    # ... and while this one holds it in a turn: both writes are kept.
    held = await store.retrieve("c1")
    meanwhile = await stock.retrieve("c1")
    meanwhile.update(UserUttered("from the other engine", {"name": "greet"}))
    await stock.save(meanwhile)
    held.update(UserUttered("from this engine", {"name": "greet"}))
    await store.save(held)
    out["both_kept"] = texts(await stock.retrieve("c1"))
    out["after_both"] = texts(await store.retrieve("c1"))
    # peek reads the cache without taking the tracker out of it.
    last = await turn("peeked")
    out["peek"] = store.peek("c1") is last and (await store.retrieve("c1")) is last
    # current() reads as retrieve does and leaves the tracker cached for the next turn.
    last = await turn("current")
    seen = await store.current("c1")
    out["current"] = seen is last and store.peek("c1") is last
    out["current_then_turn"] = (await store.retrieve("c1")) is last
    # Two more conversations push c1 out of a cache of two; it is read from disk again.
    for sender in ("c2", "c3"):
        tracker = await store.get_or_create_tracker(sender)
        tracker.update(UserUttered("hello", {"name": "greet"}))
        await store.save(tracker)
    evicted = await store.retrieve("c1")
    out["evicted"] = {"same_object": evicted is last, "texts": texts(evicted)}
    out["published"] = {"c1": len([p for p in broker.published if p[0] == "c1"])}
    out["rows_c1"] = rows("c1")
    out["stock_c1_events"] = len((await stock.retrieve_full_tracker("c1")).events)
    if settings["dialect"] == "sqlite":
        with stock.engine.connect() as connection:
            out["journal"] = connection.execute(sa.text("PRAGMA journal_mode")).scalar()
    return out

json.dump(asyncio.run(main()), sys.stdout)
"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def story(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The same turns on each database the engine's tracker store supports."""
    if request.param == "sqlite":
        db: Path = tmp_path_factory.mktemp("tracker") / "tracker.db"
        sqlite = {"dialect": "sqlite", "db": str(db)}
        yield {"dialect": "sqlite", **run_engine_script(SCRIPT, sqlite, timeout=300)}
        return
    server_url: str = request.getfixturevalue("postgres_url")
    url = sa.make_url(create_database(server_url, "tracker_store"))
    settings = {
        "dialect": "postgresql",
        "host": url.host,
        "port": url.port,
        "db": url.database,
        "username": url.username,
    }
    try:
        yield {"dialect": "postgresql", **run_engine_script(SCRIPT, settings, timeout=300)}
    finally:
        drop_database(server_url, "tracker_store")


def test_rasa_loads_the_store_from_endpoints_yml(story: dict[str, Any]) -> None:
    # Rasa falls back to an in-memory store, quietly, when a custom type cannot load.
    assert story["store"] == "CachedSQLTrackerStore"


def test_a_saved_tracker_comes_back_from_the_cache_as_rasa_would_read_it(
    story: dict[str, Any],
) -> None:
    assert story["cached"] is True
    after = story["after_two"]
    assert after["ours"] == after["stock"] == ["hi", "where is 1001"]
    # Row for row what Rasa stores: one row per event, none twice.
    assert after["rows"] == after["events"]


def test_a_turn_that_failed_before_saving_leaves_nothing_behind(story: dict[str, Any]) -> None:
    assert story["after_failed"] == ["hi", "where is 1001"]


def test_another_engines_writes_are_seen_and_kept(story: dict[str, Any]) -> None:
    assert story["sees_other"] == "2002"
    both = ["hi", "where is 1001", "from the other engine", "from this engine"]
    assert story["both_kept"] == both
    assert story["after_both"] == both


def test_peek_current_and_eviction(story: dict[str, Any]) -> None:
    assert story["peek"] is True
    # A read before a turn leaves the tracker cached: the turn does not load it again.
    assert story["current"] is True and story["current_then_turn"] is True
    assert story["evicted"]["same_object"] is False
    assert story["evicted"]["texts"][-1] == "current"


def test_every_stored_event_is_published_once_and_sqlite_keeps_a_wal(
    story: dict[str, Any],
) -> None:
    # This store wrote every c1 row except the other engine's two saves (a slot, a text).
    assert story["published"]["c1"] == story["rows_c1"] - 2
    assert story["rows_c1"] == story["stock_c1_events"]
    if story["dialect"] == "sqlite":
        assert story["journal"] == "wal"
