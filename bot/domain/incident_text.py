"""What an ops person types to declare, update or find an incident, read into facts.

Ops staff run incidents by chat, mid-emergency: "SF Express is down in Hubei since 9am,
back Friday". This reads such a line into IncidentFacts for the declare or update form to
confirm. It fills in nothing it was not told: an unstated fact stays None and the form asks
for it, because a severity or a scope nobody typed would still reach customers. Regions and
carriers are matched against the shop's own lists, passed in, so they come back spelled as
the registry spells them. Times are read by bot/domain/incident_times.py.

Decisions (the forms and the tests rely on them):
- Severity is the emergency plans' four tiers, SEVERITIES: 1 local fault .. 4 major
  disaster. A number counts after a severity word ("sev 3", "sev3", "severity three",
  "level 2", "tier 4"), a bare "3" only in a form's answer (parse_severity). Words follow
  the plans' tier names, general to especially major (一般/较大/重大/特别重大): minor, low,
  local, general 1; moderate, medium, significant 2; major, serious, severe, high 3;
  critical, extreme, catastrophic, disaster and "major disaster" 4. In free text a word
  counts only after a severity word or as "<word> incident": "a major delay" sets nothing.
  Not read: "P1"/"S1" (priority scales where 1 is the worst, the opposite of ours), Roman
  numerals and "level 2 response" (the national emergency-response scale, where I is the
  gravest), nor a level with a unit ("water level 3 m").
- Kind: "carrier outage", "regional lockdown" or "kind: weather" said outright wins;
  otherwise the cause outranks the symptom, because a typhoon or a lockdown also stops the
  carriers: lockdown/quarantine/epidemic, then weather, then traffic controls and closed
  roads, then a warehouse fault (power failure, picking stopped), then a named carrier that
  is down, failing, not collecting or on strike, and last a bare mention of a warehouse.
- Resolution: "resolved", "fixed", "all clear", "is over", "back to normal", "lifted"...
  said as done; not when negated or hoped ("not fixed yet", "should be fixed") or when a
  time follows ("back to normal by Friday" is an estimate).
- Notes: an explicit customer note, and any internal note, are cut out before the rest is
  read, so a note naming the backup carrier does not widen the scope. An unquoted note runs
  to the end of the text (or the next note label); a quoted one to its closing quote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.calendar import spoken_date
from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incident_times import MAX_TEXT_CHARS, read_recovery, read_start
from bot.domain.incident_times import parse_moment as parse_moment
from bot.domain.incidents import MAX_TITLE_CHARS, Incident, IncidentKind, IncidentStatus


@dataclass(frozen=True)
class IncidentFacts:
    kind: IncidentKind | None = None
    regions: tuple[str, ...] = ()  # canonical names from the vocabulary
    carriers: tuple[str, ...] = ()  # canonical names from the vocabulary
    severity: int | None = None
    status: IncidentStatus | None = None
    started_at: datetime | None = None  # aware, SHOP_TIMEZONE
    expected_recovery: datetime | None = None
    customer_note: str | None = None  # only when the text gives one explicitly
    resolve: bool = False  # "resolve incident 3", "the outage is over", "all clear"


_I = re.IGNORECASE
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

_NUMBERS = {"1": 1, "2": 2, "3": 3, "4": 4, "one": 1, "two": 2, "three": 3, "four": 4}
_SEVERITY_WORDS = {
    **dict.fromkeys(("minor", "low", "local", "general"), 1),
    **dict.fromkeys(("moderate", "medium", "significant"), 2),
    **dict.fromkeys(("major", "serious", "severe", "high"), 3),
    **dict.fromkeys(("critical", "extreme", "catastrophic", "disaster"), 4),
}
_GRAVEST = re.compile(r"\b(?:major\s+disaster|especially\s+major)\b", _I)
_TIER = "|".join(_SEVERITY_WORDS)
_NOT_A_TIER = r"(?!\s*(?:(?:emergency\s+)?response\b|(?:m|cm|mm|metres?|meters?|feet)\b|%))"
_SEVERITY = re.compile(  # not "Level 2 response" (the national scale), not "water level 3 m"
    rf"\b(?:sev(?:erity)?|level|tier|lvl)\s*(?:[:=#-]\s*)?([1-4]|one|two|three|four|{_TIER})\b"
    rf"{_NOT_A_TIER}|\b({_TIER})\s+incident\b",
    _I,
)

_RESOLVED = re.compile(
    r"\b(?:resolve|close)\s+(?:(?:the|this|that)\s+)?(?:incident\b|outage\b|issue\b|it\b|#|\d)"
    r"|\bresolved\b|\bfixed\b|\brestored\b|\blifted\b|\breopened\b|\ball[\s-]clear\b"
    r"|\bback\s+to\s+normal\b|\bback\s+(?:up|online)\b|\b(?:working|running)\s+again\b"
    r"|(?:\bis|\bare|'s|\bnow)\s+(?:back|over)\b",
    _I,
)
_NOT_YET = frozenset({"not", "no", "never", "yet", "isn't", "aren't", "wasn't", "hasn't",
                      "haven't", "won't", "will", "should", "expect", "expected", "expects",
                      "hope", "hopefully", "until", "once", "when", "if", "before", "going",
                      "might", "may", "could", "partly", "partially", "mostly"})  # fmt: skip
_FORECAST = frozenset({"by", "until", "till", "tomorrow", "tonight", "soon", "next", "later"})
_CLAUSE_END = re.compile(r"[.;,!?\n]")
_STATUSES = (
    (IncidentStatus.INVESTIGATING, re.compile(r"\binvestigat(?:ing|ion)\b|\blooking\s+into\b", _I)),
    (IncidentStatus.IDENTIFIED, re.compile(r"\bidentified\b", _I)),
    (IncidentStatus.MONITORING, re.compile(r"\bmonitoring\b", _I)),
)

_KIND_NAMES = {
    "carrier outage": IncidentKind.CARRIER_OUTAGE,
    "outage": IncidentKind.CARRIER_OUTAGE,
    "regional lockdown": IncidentKind.REGIONAL_LOCKDOWN,
    "lockdown": IncidentKind.REGIONAL_LOCKDOWN,
    "weather": IncidentKind.WEATHER,
    "warehouse": IncidentKind.WAREHOUSE,
}
_EXPLICIT_KIND = re.compile(
    r"\b(?:kind|type)\s*(?:(?:is|:|=)\s*)?(carrier[\s_]outage|regional[\s_]lockdown|lockdown"
    r"|weather|warehouse|outage)\b|\b(carrier[\s_]outage|regional[\s_]lockdown)\b",
    _I,
)
_LOCKDOWN = r"\block(?:ed)?[\s-]?downs?\b|\bquarantin\w*|\bepidemic\b|\bpandemic\b|\bcovid\b"
_ROADS = (
    r"\btraffic\s+controls?\b|\broad\s+closures?\b|\broads?\s+(?:are\s+)?closed\b"
    r"|\bclosed\s+roads?\b|\bcontrol\s+measures\b"
)
_WEATHER = (
    r"\btyphoons?\b|\b(?:rain|snow|wind|thunder|hail|sand)?storms?\b|\bsnow\w*|\bblizzards?\b"
    r"|\bflood\w*|\bheavy\s+rain\b|\bweather\b|\bearthquakes?\b|\bhurricanes?\b|\blandslides?\b"
)
_WAREHOUSE_FAULT = (
    r"\bfulfil?l?ment\s+cent(?:re|er)s?\b|\bpower\s+(?:failure|outage|cut)s?\b"
    r"|\b(?:picking|packing)\s+(?:has\s+)?(?:stopped|paused|halted)\b|\bcold\s+store\b"
    r"|\bwarehouse\s+(?:is\s+)?(?:down|closed|flooded|on\s+fire|fault|problem|failure)\b"
)
_CARRIER_DOWN = (
    r"\bdown\b|\boutages?\b|\bfailures?\b|\bfail(?:ed|s|ing)?\b|\bnot\s+collecting\b"
    r"|\bno\s+(?:pickups?|collections?)\b|\bsystems?\b|\bstrikes?\b|\bsuspend\w*|\boffline\b"
)
_KIND_SIGNS = (  # the first that matches wins; True: only when a carrier is named
    (IncidentKind.REGIONAL_LOCKDOWN, re.compile(_LOCKDOWN, _I), False),
    (IncidentKind.WEATHER, re.compile(_WEATHER, _I), False),
    (IncidentKind.REGIONAL_LOCKDOWN, re.compile(_ROADS, _I), False),
    (IncidentKind.WAREHOUSE, re.compile(_WAREHOUSE_FAULT, _I), False),
    (IncidentKind.CARRIER_OUTAGE, re.compile(_CARRIER_DOWN, _I), True),
    (IncidentKind.WAREHOUSE, re.compile(r"\bwarehouses?\b", _I), False),
)
_KIND_REFERENCES = (  # what "the outage", "the typhoon" point at when finding incidents
    (IncidentKind.CARRIER_OUTAGE, re.compile(r"\boutages?\b|\bcarriers?\b|\bcouriers?\b", _I)),
    (IncidentKind.REGIONAL_LOCKDOWN, re.compile(f"{_LOCKDOWN}|{_ROADS}", _I)),
    (IncidentKind.WEATHER, re.compile(_WEATHER, _I)),
    (IncidentKind.WAREHOUSE, re.compile(f"{_WAREHOUSE_FAULT}|\\bwarehouses?\\b", _I)),
)

_NOTE_LABEL = re.compile(
    r"\b(internal\s+)?(?:customer\s+(?:note|message)|note(?:\s+(?:to|for)\s+customers)?"
    r"|message\s+(?:to|for)\s+customers|tell(?:ing)?\s+(?:the\s+)?customers)\s*:\s*"
    r"|\b(?:tell(?:ing)?\s+(?:the\s+)?customers|say(?:ing)?)\s*(?::\s*)?(?=\")",
    _I,
)
_QUOTED = re.compile(r'"([^"]*)"')

_ID = re.compile(r"(?:\bincidents?|\bnumber|\bno\.|\bid|#)(?:\s*#)?\s*(\d{1,9})\b", _I)
_ONLY_A_NUMBER = re.compile(r"#?\s*(\d{1,9})[.!?]?")  # matched against the stripped text
_GENERIC = frozenset({"the", "and", "for", "with", "from", "into", "incident", "incidents",
                      "status", "update", "updates", "what", "what's", "whats", "which", "how",
                      "any", "about", "show", "tell", "give", "list", "open", "current",
                      "latest", "now", "today", "are", "was", "there", "this", "that",
                      "please", "can", "you", "our", "new", "all", "still", "deliveries",
                      "delivery", "order", "orders", "parcel", "parcels", "customer",
                      "customers", "affected", "where", "who", "its"})  # fmt: skip
_GENERIC_CARRIER_WORDS = frozenset({"china", "express", "logistics", "post", "delivery",
                                    "courier", "parcel", "freight", "international"})  # fmt: skip


def read_incident_facts(
    text: str, *, now: datetime, regions: Sequence[str], carriers: Sequence[str]
) -> IncidentFacts:
    customer_note, body = _notes_cut_out(_normalised(text))
    named_carriers = match_carriers(body, carriers)
    resolve = _says_resolved(body, now=now)
    started_at = read_start(body, now=now)
    return IncidentFacts(
        kind=_kind(body, carrier_named=bool(named_carriers)),
        regions=match_regions(body, regions),
        carriers=named_carriers,
        severity=_stated_severity(body),
        status=IncidentStatus.RESOLVED if resolve else _status(body),
        started_at=started_at,
        expected_recovery=read_recovery(body, now=now, started_at=started_at),
        customer_note=customer_note,
        resolve=resolve,
    )


def parse_severity(text: str) -> int | None:
    """A form's answer: "3", "sev 3", "severity three", "major". None when it names no
    single tier (nothing, "5", "minor or major"), so the form asks again."""
    text = _GRAVEST.sub("critical", _normalised(text))
    if (stated := _stated_severity(text)) is not None:
        return stated
    values = set()
    for word in _WORD.findall(text.lower()):
        if word.isdigit() and word not in _NUMBERS:
            return None  # "5" is no tier, and not to be taken for the nearest one
        if (value := _NUMBERS.get(word) or _SEVERITY_WORDS.get(word)) is not None:
            values.add(value)
    return values.pop() if len(values) == 1 else None


def find_incidents(text: str, incidents: Sequence[Incident]) -> list[Incident]:
    """The incidents a message points at, best first. An id decides alone, so "incident 3"
    is never answered with another incident when 3 does not exist."""
    text = _normalised(text)
    ids = [int(number) for number in _ID.findall(text)]
    if (whole := _ONLY_A_NUMBER.fullmatch(text.strip())) is not None:
        ids = [int(whole[1])]
    if ids:
        by_id = {incident.id: incident for incident in incidents}
        return [by_id[number] for number in dict.fromkeys(ids) if number in by_id]
    regions = set(match_regions(text, _distinct(i.regions for i in incidents)))
    carriers = set(match_carriers(text, _distinct(i.carriers for i in incidents)))
    kinds = {kind for kind, pattern in _KIND_REFERENCES if pattern.search(text)}
    words = _keywords(text)
    scored = []
    for incident in incidents:
        score = (
            3 * bool(regions.intersection(incident.regions))
            + 3 * bool(carriers.intersection(incident.carriers))
            + 2 * (incident.kind in kinds)
            + len(words & _keywords(incident.title))
        )
        if score:
            scored.append((score, incident))
    scored.sort(key=lambda pair: _rank(*pair))
    return [incident for _, incident in scored]


def match_regions(text: str, regions: Sequence[str]) -> tuple[str, ...]:
    """Regions named by any part of their label: "Wuhan" or "Hubei" -> "Hubei (Wuhan)", and
    "Guangdong" -> every Guangdong region, in the order the text names them."""
    parts = {label: [label, *re.split(r"[(),/]", label)] for label in regions}
    return _named(_normalised(text), parts)


def match_carriers(text: str, carriers: Sequence[str]) -> tuple[str, ...]:
    """Carriers named in full or by what sets them apart ("SF", "ZTO", "China Post", "EMS");
    a short name that two of the shop's carriers share names neither."""
    aliases = {name: _carrier_aliases(name) for name in carriers}
    claims: dict[str, int] = {}
    for names in aliases.values():
        for alias in {name.lower() for name in names}:
            claims[alias] = claims.get(alias, 0) + 1
    distinct = {
        name: [alias for alias in names if alias == name or claims[alias.lower()] == 1]
        for name, names in aliases.items()
    }
    return _named(_normalised(text), distinct)


def suggested_title(facts: IncidentFacts) -> str | None:
    if facts.kind is None or not (facts.regions or facts.carriers):
        return None
    regions, carriers = _listed(facts.regions), _listed(facts.carriers)
    if facts.kind is IncidentKind.CARRIER_OUTAGE:
        title = f"{carriers or 'Carrier'} outage" + (f" in {regions}" if regions else "")
    else:
        what = {
            IncidentKind.REGIONAL_LOCKDOWN: "Lockdown",
            IncidentKind.WEATHER: "Severe weather",
            IncidentKind.WAREHOUSE: "Warehouse problem",
        }[facts.kind]
        if regions and carriers:
            title = f"{what} in {regions}: {carriers} affected"
        else:
            title = f"{what} in {regions}" if regions else f"{what} affecting {carriers}"
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "…"


def suggested_customer_note(facts: IncidentFacts) -> str | None:
    """What affected customers would be told, from the facts alone: what is disrupted, since
    when, and when it should be over. It promises no estimate that nobody gave."""
    if facts.kind is None or not (facts.regions or facts.carriers):
        return None
    cause = {
        IncidentKind.CARRIER_OUTAGE: "a service outage",
        IncidentKind.REGIONAL_LOCKDOWN: "lockdown measures",
        IncidentKind.WEATHER: "severe weather",
        IncidentKind.WAREHOUSE: "a problem at our warehouse",
    }[facts.kind]
    carriers, regions = _listed(facts.carriers), _listed(facts.regions)
    subject = "Deliveries" + (f" by {carriers}" if carriers else "")
    subject += f" to {regions}" if regions else ""
    since = facts.started_at
    if facts.resolve or facts.status is IncidentStatus.RESOLVED:
        when = f" from {_spoken(since)}" if since else ""
        return (
            f"{subject} were disrupted by {cause}{when}. This is now resolved and deliveries are "
            "back to normal, though parcels already delayed may take a little longer to arrive."
        )
    verb, when = ("have been", f" since {_spoken(since)}") if since else ("are", "")
    first = f"{subject} {verb} disrupted by {cause}{when}, so parcels may arrive late."
    if facts.expected_recovery is None:
        return f"{first} We don't have an estimate yet of when this will be over; we'll update you."
    back = _spoken(facts.expected_recovery)
    return f"{first} We expect deliveries to be back to normal by {back}."


def _normalised(text: str) -> str:
    text = text[:MAX_TEXT_CHARS]
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')


def _notes_cut_out(text: str) -> tuple[str | None, str]:
    """The customer note, and the text with every labelled note blanked out."""
    labels = list(_NOTE_LABEL.finditer(text))
    note: str | None = None
    spans: list[tuple[int, int]] = []
    for index, label in enumerate(labels):
        if spans and label.start() < spans[-1][1]:
            continue  # inside the previous note
        stop = labels[index + 1].start() if index + 1 < len(labels) else len(text)
        if (quoted := _QUOTED.match(text, label.end())) is not None:
            said, end = quoted[1], quoted.end()
        elif label[0].rstrip().endswith(":"):
            said, end = text[label.end() : stop], stop
        else:
            continue
        spans.append((label.start(), end))
        if label[1] is None and note is None and said.strip():
            note = said.strip()
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return note, text


def _named(text: str, aliases: dict[str, list[str]]) -> tuple[str, ...]:
    """Names whose aliases appear as whole words, any case, in the order first mentioned.
    Longer aliases go first and are blanked out, so "Guangdong (Shenzhen)" written in full
    does not also name Guangdong (Guangzhou) through "Guangdong"."""
    by_alias: dict[str, list[str]] = {}
    for name, names in aliases.items():
        for alias in dict.fromkeys(a.strip().lower() for a in names if a.strip()):
            by_alias.setdefault(alias, []).append(name)
    first_seen: dict[str, int] = {}
    for alias in sorted(by_alias, key=len, reverse=True):
        words = r"\s+".join(re.escape(word) for word in alias.split())
        for match in re.finditer(rf"(?<!\w){words}(?!\w)", text, _I):
            for name in by_alias[alias]:
                first_seen.setdefault(name, match.start())
            text = text[: match.start()] + " " * len(match[0]) + text[match.end() :]
    order = list(aliases)
    return tuple(sorted(first_seen, key=lambda name: (first_seen[name], order.index(name))))


def _carrier_aliases(name: str) -> list[str]:
    words = name.split()
    aliases = [name, *(word for word in words if len(word) > 1 and word.isupper())]  # SF, EMS
    if len(words) > 2:
        aliases.append(" ".join(words[:2]))  # China Post
    if words and words[0].lower() not in _GENERIC_CARRIER_WORDS:
        aliases.append(words[0])
    return aliases


def _says_resolved(text: str, *, now: datetime) -> bool:
    """Said as done, not as hoped: "fixed", but not "not fixed yet" or "fixed by Friday"."""
    for match in _RESOLVED.finditer(text):
        before = _WORD.findall(text[max(0, match.start() - 40) : match.start()].lower())[-4:]
        clause = _CLAUSE_END.split(text[match.start() : match.end() + 40], maxsplit=1)[0]
        after = _WORD.findall(clause[match.end() - match.start() :].lower())[:1]
        forecast = bool(_FORECAST.intersection(after)) or read_recovery(clause, now=now) is not None
        if not forecast and not _NOT_YET.intersection(before):
            return True
    return False


def _status(text: str) -> IncidentStatus | None:
    """The last status named, since an update says where things stand now at the end."""
    found = [(m.start(), status) for status, pattern in _STATUSES for m in pattern.finditer(text)]
    return max(found, key=lambda pair: pair[0])[1] if found else None


def _stated_severity(text: str) -> int | None:
    """The last severity stated outright, since "sev 2, now sev 3" ends where it stands."""
    found = [m[1] or m[2] for m in _SEVERITY.finditer(_GRAVEST.sub("critical", text))]
    if not found:
        return None
    last = found[-1].lower()
    return _NUMBERS.get(last) or _SEVERITY_WORDS.get(last)


def _kind(text: str, *, carrier_named: bool) -> IncidentKind | None:
    if (explicit := _EXPLICIT_KIND.search(text)) is not None:
        return _KIND_NAMES[re.sub(r"[\s_]+", " ", (explicit[1] or explicit[2]).lower())]
    for kind, pattern, needs_carrier in _KIND_SIGNS:
        if (carrier_named or not needs_carrier) and pattern.search(text):
            return kind
    return None


def _distinct(groups: Iterable[tuple[str, ...]]) -> list[str]:
    return list(dict.fromkeys(name for group in groups for name in group))


def _keywords(text: str) -> set[str]:
    """The words that tell one incident's title from another's, in a rough singular."""
    words = (word.removesuffix("'s") for word in _WORD.findall(text.lower()))
    return {
        word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
        for word in words
        if len(word) > 2
        and not word.isdigit()
        and word not in _GENERIC
        and word not in _GENERIC_CARRIER_WORDS  # "Express" is half the carriers' names
    }


def _rank(score: int, incident: Incident) -> tuple[int, bool, int, float, int]:
    """Best first: most matched, then still open, most severe, newest."""
    closed = incident.resolved_at is not None or incident.status is IncidentStatus.RESOLVED
    return (-score, closed, -incident.severity, -incident.started_at.timestamp(), incident.id)


def _listed(names: Sequence[str], most: int = 3) -> str:
    """ "A, B and C"; past `most` names "A, B and 4 more", so a title stays a title."""
    shown = list(names)
    if len(shown) > most:
        shown = [*shown[: most - 1], f"{len(shown) - most + 1} more"]
    if len(shown) < 2:
        return "".join(shown)
    return ", ".join(shown[:-1]) + f" and {shown[-1]}"


def _spoken(moment: datetime) -> str:
    moment = moment.astimezone(SHOP_TIMEZONE)
    day = spoken_date(moment.date())
    return day if (moment.hour, moment.minute) == (0, 0) else f"{moment:%H:%M} on {day}"
