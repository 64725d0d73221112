"""The action server's answers checked against Rasa's own schema, in a fraction of the time.

Rasa 3.6 checks every answer of a custom action with `jsonschema.validate` against
`RemoteAction.action_response_format_spec()`. That call checks the schema itself
first, builds a new validator, and tries each event against all 23 event kinds of
the schema's `oneOf`: about 40 ms per answer on this machine, most of a turn's time
in the engine (docs/performance.md).

This accepts and refuses exactly what that schema does, with validators built once:
each event kind in the `oneOf` is told apart by its `event` constant (a required
string), so an event matches at most one kind, the one its name selects, and an event
of no known kind matches none. Only that one kind is checked. Any change in Rasa that
breaks this reading of the schema stops the engine at start instead of loosening it.
"""

from typing import Any, Dict, List, Optional, Text

from jsonschema import ValidationError
from jsonschema.validators import validator_for

_EVENT_KEY = "event"


def _event_kind(branch: Dict[Text, Any]) -> Text:
    event = branch.get("properties", {}).get(_EVENT_KEY, {})
    const = event.get("const") if isinstance(event, dict) else None
    if not isinstance(const, str):
        raise ValueError("an event kind of Rasa's action schema has no `event` constant")
    return const


class ActionResultValidator:
    """Validates an action server's answer as `jsonschema.validate(answer, schema)` would."""

    def __init__(self, schema: Dict[Text, Any]) -> None:
        cls = validator_for(schema)
        cls.check_schema(schema)
        properties = schema.get("properties", {})
        items = properties.get("events", {}).get("items", {})
        if set(schema) != {"type", "properties"} or set(properties) != {"events", "responses"}:
            raise ValueError("Rasa's action schema has a shape this validator does not know")
        if set(items) != {"type", "properties", "required", "oneOf"}:
            raise ValueError("Rasa's event schema has a shape this validator does not know")
        if _EVENT_KEY not in items["required"] or items["properties"][_EVENT_KEY] != {
            "type": "string"
        }:
            raise ValueError("Rasa's event schema does not require a string `event`")
        kinds: Dict[Text, Any] = {}
        for branch in items["oneOf"]:
            kind = _event_kind(branch)
            if kind in kinds:
                raise ValueError(f"two event kinds of Rasa's action schema are named {kind}")
            kinds[kind] = cls(branch)
        without_events = {
            **schema,
            "properties": {**properties, "events": {"type": "array"}},
        }
        self._answer = cls(without_events)
        self._event = cls({key: value for key, value in items.items() if key != "oneOf"})
        self._kinds = kinds

    def validate(self, answer: Any) -> None:
        """Raises `jsonschema.ValidationError` for an answer the schema refuses."""
        self._answer.validate(answer)
        events: List[Any] = answer.get("events", []) if isinstance(answer, dict) else []
        for event in events if isinstance(events, list) else []:
            self._event.validate(event)
            kind = self._kinds.get(event[_EVENT_KEY])
            if kind is None:
                raise ValidationError(f"{event[_EVENT_KEY]!r} is not a known event")
            kind.validate(event)


_validator: Optional[ActionResultValidator] = None


def validate_action_result(answer: Any, schema: Dict[Text, Any]) -> None:
    """The validator for Rasa's schema, built on first use and kept."""
    global _validator
    if _validator is None:
        _validator = ActionResultValidator(schema)
    _validator.validate(answer)
