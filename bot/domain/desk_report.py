"""A desk report as one JSON document, and the same document as rows for CSV and text.

The console's API, its page (which draws the API's answer), the CSV export and
`shopdesk report` all print this document or rows made from it, so they cannot
disagree: rounding happens here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.desk_figures import FORMULAS, DeskFigures, Durations, Rate, ServiceLevelRule
from bot.domain.report_period import ReportPeriod

Row = tuple[str, str, str, str]  # section, figure, value, formula


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _rate(rate: Rate, formula: str) -> dict[str, Any]:
    return {
        "value": _ratio(rate.value),
        "numerator": rate.numerator,
        "denominator": rate.denominator,
        "formula": formula,
    }


def _durations(durations: Durations, formula: str) -> dict[str, Any]:
    return {
        "count": durations.count,
        "median": _seconds(durations.median),
        "p90": _seconds(durations.p90),
        "formula": formula,
    }


def _service_level_formula(rule: ServiceLevelRule) -> str:
    return FORMULAS["service_level"].format(
        threshold=f"{rule.threshold_seconds:g}", target=f"{rule.target * 100:g}"
    )


def report_document(
    figures: DeskFigures,
    *,
    period: ReportPeriod,
    rule: ServiceLevelRule,
    titles: Mapping[int, str],
) -> dict[str, Any]:
    csat = figures.csat
    return {
        "period": {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "channel": period.channel_name,
        },
        "service_level_rule": {
            "threshold_seconds": rule.threshold_seconds,
            "target": rule.target,
        },
        "figures": {
            "contacts": {"value": figures.contacts, "formula": FORMULAS["contacts"]},
            "containment": _rate(figures.containment, FORMULAS["containment"]),
            "handoff_rate": _rate(figures.handoff_rate, FORMULAS["handoff_rate"]),
            "abandonment": {
                **_rate(figures.abandonment, FORMULAS["abandonment"]),
                "handoffs": figures.handoffs,
                "callbacks": figures.callbacks,
            },
            "first_response_seconds": _durations(
                figures.first_response, FORMULAS["first_response"]
            ),
            "resolution_seconds": _durations(figures.resolution, FORMULAS["resolution"]),
            "service_level": {
                **_rate(figures.service_level, _service_level_formula(rule)),
                "threshold_seconds": rule.threshold_seconds,
                "target": rule.target,
            },
            "csat": {
                "mean": None if csat.mean is None else round(csat.mean, 2),
                "ratings": sum(csat.distribution.values()),
                "distribution": {str(score): n for score, n in csat.distribution.items()},
                "formula": FORMULAS["csat"],
                "response_rate": _rate(csat.response_rate, FORMULAS["csat_response_rate"]),
            },
        },
        "breakdowns": {
            "by_intent": {
                "formula": FORMULAS["by_intent"],
                "rows": [{"intent": name, "contacts": n} for name, n in figures.by_intent],
            },
            "by_channel": {
                "formula": FORMULAS["by_channel"],
                "rows": [{"channel": name, "contacts": n} for name, n in figures.by_channel],
            },
            "by_hour": {
                "formula": FORMULAS["by_hour"],
                "rows": [{"hour": h, "contacts": n} for h, n in enumerate(figures.by_hour)],
            },
            "by_day": {
                "formula": FORMULAS["by_day"],
                "rows": [
                    {
                        "day": day.day.isoformat(),
                        "contacts": day.contacts,
                        "bot_resolved": day.bot_resolved,
                        "handed_off": day.handed_off,
                    }
                    for day in figures.by_day
                ],
            },
        },
        "incidents": {
            "formulas": {
                name: FORMULAS[name]
                for name in (
                    "incident_contacts",
                    "notices",
                    "contacts_after_notice",
                    "share_contacted_after",
                )
            },
            "rows": [
                {
                    "incident_id": incident.incident_id,
                    "title": titles.get(incident.incident_id, f"Incident {incident.incident_id}"),
                    "contacts": incident.contacts,
                    "notices_sent": incident.notices_sent,
                    "customers_notified": incident.customers_notified,
                    "contacts_after_notice": incident.contacts_after_notice,
                    "customers_contacted_after": incident.contacted_after.numerator,
                    "share_contacted_after": _ratio(incident.contacted_after.value),
                }
                for incident in figures.incidents
            ],
        },
    }


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _figure_rows(figures: dict[str, Any]) -> list[Row]:
    contacts = figures["contacts"]
    rows: list[Row] = [("figures", "contacts", _text(contacts["value"]), contacts["formula"])]
    for name in ("containment", "handoff_rate", "abandonment", "service_level"):
        figure = figures[name]
        rows.append(("figures", name, _text(figure["value"]), figure["formula"]))
        rows.append(("figures", f"{name}.numerator", _text(figure["numerator"]), ""))
        rows.append(("figures", f"{name}.denominator", _text(figure["denominator"]), ""))
    for name in ("first_response_seconds", "resolution_seconds"):
        figure = figures[name]
        rows.append(("figures", f"{name}.median", _text(figure["median"]), figure["formula"]))
        rows.append(("figures", f"{name}.p90", _text(figure["p90"]), ""))
        rows.append(("figures", f"{name}.count", _text(figure["count"]), ""))
    csat = figures["csat"]
    rows.append(("figures", "csat.mean", _text(csat["mean"]), csat["formula"]))
    rows.append(("figures", "csat.ratings", _text(csat["ratings"]), ""))
    for score, count in csat["distribution"].items():
        rows.append(("figures", f"csat.score_{score}", _text(count), ""))
    response = csat["response_rate"]
    rows.append(("figures", "csat.response_rate", _text(response["value"]), response["formula"]))
    return rows


def report_rows(document: dict[str, Any]) -> list[Row]:
    """Every number of the document, one per row, each figure's formula on its first row."""
    rows: list[Row] = [
        ("period", name, str(value), "") for name, value in document["period"].items()
    ]
    rule = document["service_level_rule"]
    rows += [("service_level_rule", name, str(value), "") for name, value in rule.items()]
    rows += _figure_rows(document["figures"])
    keys = {"by_intent": "intent", "by_channel": "channel", "by_hour": "hour", "by_day": "day"}
    for name, key in keys.items():
        breakdown = document["breakdowns"][name]
        for index, row in enumerate(breakdown["rows"]):
            formula = breakdown["formula"] if index == 0 else ""
            for column, value in row.items():
                if column != key:
                    label = f"{row[key]}" if column == "contacts" else f"{row[key]}.{column}"
                    rows.append((name, label, _text(value), formula))
                    formula = ""
    formulas = document["incidents"]["formulas"]
    for incident in document["incidents"]["rows"]:
        section = f"incident {incident['incident_id']}: {incident['title']}"
        for column, value in incident.items():
            if column not in ("incident_id", "title"):
                formula = formulas.get(_INCIDENT_FORMULAS.get(column, column), "")
                rows.append((section, column, _text(value), formula))
    return rows


_INCIDENT_FORMULAS = {"contacts": "incident_contacts", "notices_sent": "notices"}
