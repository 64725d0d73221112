"""What the engine changes in Rasa 3.6 for speed, in one place, installed at start.

Each change keeps Rasa's behaviour and removes a cost that profiling under load
found per turn (docs/performance.md has the figures). Rasa offers no setting or
plug-in point for these, so they replace one method each; `install` checks that
the method it replaces is still Rasa's own, so an upgrade that moves them stops the
engine at start rather than running half-changed.

- The action server's answers are checked against Rasa's schema with validators
  built once (bot/engine/runtime/action_results.py): 40 ms per answer to under 1.
- An event's class is found by its name in a table, instead of walking every
  subclass of `Event` for each event read.
- Calls to the action server reuse pooled keep-alive connections instead of opening
  a new connection (and a new client session) for every action.
- The model graph (NLU, each prediction) runs in plain Python instead of through
  dask's scheduler (bot/engine/runtime/graph_runner.py).
"""

import asyncio
import logging
import weakref
from typing import Any, Callable, Dict, Optional, Text, Tuple, Type

import aiohttp
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

from bot.engine.runtime import graph_runner
from bot.engine.runtime.action_results import validate_action_result

logger = logging.getLogger(__name__)


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """Rasa's check of an action server's answer, with validators built once."""
    try:
        validate_action_result(result, self.action_response_format_spec())
    except ValidationError as error:
        # Rasa's own wording, so its logs read the same.
        error.message += (
            ". Failed to validate Action server response from API, make sure your "
            "response from the Action endpoint is valid. For more information about "
            f"the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise
    return True


_event_classes: Dict[Text, Type[Event]] = {}


def _event_class_table() -> Dict[Text, Type[Event]]:
    """Name to class, the first of `all_subclasses` winning as in Rasa's loop."""
    table: Dict[Text, Type[Event]] = {}
    for cls in all_subclasses(Event):
        table.setdefault(cls.type_name, cls)
    return table


def _resolve_by_type(
    type_name: Text, default: Optional[Type[Event]] = None
) -> Optional[Type[Event]]:
    """Rasa's `Event.resolve_by_type`, with the table rebuilt when a name is not in it
    (an event class defined after the first lookup is still found)."""
    found = _event_classes.get(type_name)
    if found is None:
        _event_classes.clear()
        _event_classes.update(_event_class_table())
        found = _event_classes.get(type_name)
    if found is not None:
        return found
    if type_name == "topic":
        return None  # Rasa's backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


# One connector per event loop: aiohttp's connectors belong to the loop they run on.
_connectors: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.TCPConnector]" = (
    weakref.WeakKeyDictionary()
)


def _shared_connector() -> aiohttp.TCPConnector:
    loop = asyncio.get_running_loop()
    connector = _connectors.get(loop)
    if connector is None or connector.closed:
        # Shorter than the action server's own keep-alive (rasa-sdk's Sanic: 120 s), so an
        # idle connection is dropped here first, never reused just as the server closes it.
        connector = aiohttp.TCPConnector(keepalive_timeout=15)
        _connectors[loop] = connector
    return connector


def _session(self: EndpointConfig) -> aiohttp.ClientSession:
    """Rasa's session for an endpoint, on the loop's shared pool of connections (the
    session closes after each request as before; the connections stay open)."""
    auth = None
    if self.basic_auth:
        auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
    return aiohttp.ClientSession(
        headers=self.headers,
        auth=auth,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        connector=_shared_connector(),
        connector_owner=False,
    )


_REPLACED: Dict[Tuple[Any, Text], Callable[..., Any]] = {
    (RemoteAction, "_validate_action_result"): _validate_action_result,
    (Event, "resolve_by_type"): staticmethod(_resolve_by_type),
    (EndpointConfig, "session"): _session,
    (DaskGraphRunner, "run"): graph_runner.run,
}


def _unwrapped(value: Any) -> Any:
    return value.__func__ if isinstance(value, staticmethod) else value


def install() -> None:
    """Puts the faster methods in place; refuses if Rasa's are not the ones expected."""
    for (owner, name), replacement in _REPLACED.items():
        current = owner.__dict__[name]
        if _unwrapped(current) is _unwrapped(replacement):
            continue
        if getattr(_unwrapped(current), "__module__", "").split(".")[0] != "rasa":
            raise RuntimeError(f"{owner.__name__}.{name} is not Rasa's own; not replacing it")
        setattr(owner, name, replacement)
    logger.debug("engine speed-ups installed")
