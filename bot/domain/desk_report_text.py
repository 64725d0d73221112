"""A desk report for a terminal (`shopdesk report` without --json): the document's own
numbers, laid out for reading rather than for a spreadsheet."""

from __future__ import annotations

from typing import Any

NONE = "-"
Pairs = list[tuple[str, str]]


def _percent(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f}%"


def _seconds(value: float | None) -> str:
    return NONE if value is None else f"{value:g} s"


def _rate(figure: dict[str, Any], note: str = "") -> str:
    share = _percent(figure["value"])
    return f"{share}  ({figure['numerator']} of {figure['denominator']}{note})"


def _times(figure: dict[str, Any], counted: str) -> str:
    return f"{_seconds(figure['median'])}, {_seconds(figure['p90'])}  ({figure['count']} {counted})"


def _lines(pairs: Pairs, empty: str = "(none)") -> list[str]:
    pairs = pairs or [(empty, "")]
    width = max(len(name) for name, _ in pairs)
    return [f"  {name:<{width}}  {value}".rstrip() for name, value in pairs]


def _figures(figures: dict[str, Any], rule: dict[str, Any]) -> Pairs:
    csat = figures["csat"]
    scores = ", ".join(f"{score}: {n}" for score, n in csat["distribution"].items())
    mean = NONE if csat["mean"] is None else f"{csat['mean']} / 5"
    callbacks = figures["abandonment"]["callbacks"]
    return [
        ("contacts", str(figures["contacts"]["value"])),
        ("contained by the bot", _rate(figures["containment"])),
        ("handed to a person", _rate(figures["handoff_rate"])),
        (
            "abandoned in the queue",
            _rate(figures["abandonment"], f"; call-backs left out: {callbacks}"),
        ),
        ("first response median, p90", _times(figures["first_response_seconds"], "answered")),
        ("resolution median, p90", _times(figures["resolution_seconds"], "resolved")),
        (
            f"answered within {rule['threshold_seconds']:g} s",
            _rate(figures["service_level"], f"; target {_percent(rule['target'])}"),
        ),
        ("CSAT mean", f"{mean}  ({csat['ratings']} ratings; {scores})"),
        ("CSAT response rate", _rate(csat["response_rate"])),
    ]


def _breakdowns(breakdowns: dict[str, Any]) -> list[str]:
    rows = {name: breakdown["rows"] for name, breakdown in breakdowns.items()}
    return [
        "By topic:",
        *_lines([(row["intent"], str(row["contacts"])) for row in rows["by_intent"]]),
        "By channel:",
        *_lines([(row["channel"], str(row["contacts"])) for row in rows["by_channel"]]),
        "By hour (shop time), hours with contacts:",
        *_lines(
            [
                (f"{row['hour']:02d}:00", str(row["contacts"]))
                for row in rows["by_hour"]
                if row["contacts"]
            ]
        ),
        "By day: contacts, ended with the bot, handed to a person",
        *_lines(
            [
                (row["day"], f"{row['contacts']}, {row['bot_resolved']}, {row['handed_off']}")
                for row in rows["by_day"]
            ]
        ),
    ]


def _incidents(rows: list[dict[str, Any]]) -> list[str]:
    return [
        "Incidents: contacts tied, notices, customers notified, contacts after the notice, "
        "notified who still contacted us",
        *_lines(
            [
                (
                    f"#{row['incident_id']} {row['title']}",
                    f"{row['contacts']}, {row['notices_sent']}, {row['customers_notified']}, "
                    f"{row['contacts_after_notice']}, {_percent(row['share_contacted_after'])}",
                )
                for row in rows
            ]
        ),
    ]


def render_text(document: dict[str, Any]) -> str:
    period = document["period"]
    return "\n".join(
        [
            f"Desk report, {period['start']} to {period['end']}, channel {period['channel']}",
            "(contacts opened in the period; --json adds every figure's formula)",
            "",
            *_lines(_figures(document["figures"], document["service_level_rule"])),
            "",
            *_breakdowns(document["breakdowns"]),
            *_incidents(document["incidents"]["rows"]),
        ]
    )
