"""Reading what ops staff type about incidents: facts for the form, never guesses.

NOW is a Wednesday afternoon; weekdays below are counted from it (Fri 20 Nov is the coming
Friday, Mon 16 Nov the last Monday, Mon 23 Nov the next one)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.clock import SHOP_TIMEZONE
from bot.domain.incident_text import (
    IncidentFacts,
    find_incidents,
    match_carriers,
    match_regions,
    parse_moment,
    parse_severity,
    read_incident_facts,
    suggested_customer_note,
    suggested_title,
)
from bot.domain.incident_times import MAX_TEXT_CHARS, parse_past_moment
from bot.domain.incidents import (
    MAX_NOTE_CHARS,
    MAX_TITLE_CHARS,
    Incident,
    IncidentKind,
    IncidentStatus,
)

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=SHOP_TIMEZONE)  # a Wednesday
REGIONS = (
    "Shanghai",
    "Beijing",
    "Hubei (Wuhan)",
    "Guangdong (Guangzhou)",
    "Guangdong (Shenzhen)",
    "Sichuan (Chengdu)",
    "Zhejiang (Hangzhou)",
    "Shaanxi (Xi'an)",
)
CARRIERS = ("SF Express", "JD Logistics", "ZTO Express", "YTO Express", "China Post EMS")
GUANGDONG = ("Guangdong (Guangzhou)", "Guangdong (Shenzhen)")


def at(day: int, hour: int = 18, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHOP_TIMEZONE)


def facts(text: str, now: datetime = NOW) -> IncidentFacts:
    return read_incident_facts(text, now=now, regions=REGIONS, carriers=CARRIERS)


# --- the issue's own example ---------------------------------------------------------------


def test_the_issue_example() -> None:
    read = facts("SF Express is down in Hubei since 9am, back Friday")
    assert read == IncidentFacts(
        kind=IncidentKind.CARRIER_OUTAGE,
        regions=("Hubei (Wuhan)",),
        carriers=("SF Express",),
        started_at=at(18, 9),
        expected_recovery=at(20, 18),
    )
    assert suggested_title(read) == "SF Express outage in Hubei (Wuhan)"


def test_the_issue_example_said_on_a_friday_means_next_friday() -> None:
    friday = at(20, 15)
    read = facts("SF Express is down in Hubei since 9am, back Friday", now=friday)
    assert read.started_at == at(20, 9)
    assert read.expected_recovery == at(27, 18)


def test_the_issue_example_before_9am_started_yesterday() -> None:
    read = facts("SF Express is down in Hubei since 9am, back Friday", now=at(18, 8, 30))
    assert read.started_at == at(17, 9)


# --- scope: regions and carriers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lockdown in Hubei", ("Hubei (Wuhan)",)),
        ("lockdown in wuhan", ("Hubei (Wuhan)",)),
        ("WUHAN's couriers", ("Hubei (Wuhan)",)),
        ("Hubei (Wuhan)", ("Hubei (Wuhan)",)),
        ("typhoon in Guangdong", GUANGDONG),
        ("typhoon in Shenzhen", ("Guangdong (Shenzhen)",)),
        ("typhoon in Guangdong (Shenzhen)", ("Guangdong (Shenzhen)",)),
        ("Shenzhen and Guangzhou", ("Guangdong (Shenzhen)", "Guangdong (Guangzhou)")),
        ("Beijing, then Shanghai", ("Beijing", "Shanghai")),
        ("Sichuan, Chengdu", ("Sichuan (Chengdu)",)),
        ("snow in Xi'an", ("Shaanxi (Xi'an)",)),
        ("snow in Xi’an", ("Shaanxi (Xi'an)",)),
        ("Hubeiwuhan", ()),
        ("Shanghainese food", ()),
        ("Nanjing", ()),  # not one of this shop's regions
        ("", ()),
    ],
)
def test_regions_by_any_part_of_their_label(text: str, expected: tuple[str, ...]) -> None:
    assert match_regions(text, REGIONS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SF Express is down", ("SF Express",)),
        ("sf express is down", ("SF Express",)),
        ("SF down", ("SF Express",)),
        ("ZTO's sorting centre", ("ZTO Express",)),
        ("YTO and ZTO", ("YTO Express", "ZTO Express")),
        ("JD not collecting", ("JD Logistics",)),
        ("jd logistics", ("JD Logistics",)),
        ("China Post strike", ("China Post EMS",)),
        ("EMS strike", ("China Post EMS",)),
        ("china post ems", ("China Post EMS",)),
        ("soft launch of the software", ()),
        ("SF1234567890123 stuck", ()),
        ("express delivery in China", ()),
        ("logistics", ()),
    ],
)
def test_carriers_by_name_or_distinctive_word(text: str, expected: tuple[str, ...]) -> None:
    assert match_carriers(text, CARRIERS) == expected


def test_a_short_name_two_carriers_share_names_neither() -> None:
    carriers = ("SF Express", "SF Cargo")
    assert match_carriers("SF is down", carriers) == ()
    assert match_carriers("SF Cargo is down", carriers) == ("SF Cargo",)


def test_scope_comes_only_from_the_vocabulary_given() -> None:
    read = read_incident_facts(
        "SF Express down in Wuhan", now=NOW, regions=["Wuhan"], carriers=["Shunfeng"]
    )
    assert (read.regions, read.carriers) == (("Wuhan",), ())


# --- kind ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("SF Express is down in Hubei", IncidentKind.CARRIER_OUTAGE),
        ("ZTO outage", IncidentKind.CARRIER_OUTAGE),
        ("ZTO sorting system failure", IncidentKind.CARRIER_OUTAGE),
        ("JD not collecting in Beijing", IncidentKind.CARRIER_OUTAGE),
        ("China Post couriers on strike", IncidentKind.CARRIER_OUTAGE),
        ("lockdown in Wuhan", IncidentKind.REGIONAL_LOCKDOWN),
        ("Wuhan locked down", IncidentKind.REGIONAL_LOCKDOWN),
        ("quarantine in Chengdu", IncidentKind.REGIONAL_LOCKDOWN),
        ("epidemic control measures in Wuhan", IncidentKind.REGIONAL_LOCKDOWN),
        ("traffic controls around Beijing", IncidentKind.REGIONAL_LOCKDOWN),
        ("roads closed by the authorities in Xi'an", IncidentKind.REGIONAL_LOCKDOWN),
        ("typhoon in Guangdong", IncidentKind.WEATHER),
        ("heavy rain in Hangzhou", IncidentKind.WEATHER),
        ("snowstorm in Beijing", IncidentKind.WEATHER),
        ("flooding in Chengdu", IncidentKind.WEATHER),
        ("earthquake in Sichuan", IncidentKind.WEATHER),
        ("power failure at the Shanghai warehouse", IncidentKind.WAREHOUSE),
        ("picking stopped in Shanghai", IncidentKind.WAREHOUSE),
        ("fulfilment centre in Beijing closed", IncidentKind.WAREHOUSE),
        # the cause outranks the symptom
        (
            "SF Express not collecting in Wuhan because of the lockdown",
            IncidentKind.REGIONAL_LOCKDOWN,
        ),
        ("typhoon: SF Express suspended in Shenzhen", IncidentKind.WEATHER),
        ("SF Express not collecting from the Shanghai warehouse", IncidentKind.CARRIER_OUTAGE),
        ("power outage at the warehouse, SF down", IncidentKind.WAREHOUSE),
        # an explicit kind wins over inference
        ("carrier outage: SF Express, roads closed in Wuhan", IncidentKind.CARRIER_OUTAGE),
        ("kind: weather. SF Express down in Shenzhen", IncidentKind.WEATHER),
        ("type = warehouse, typhoon", IncidentKind.WAREHOUSE),
    ],
)
def test_kind_from_words(text: str, kind: IncidentKind) -> None:
    assert facts(text).kind is kind


@pytest.mark.parametrize(
    "text",
    [
        "the system is down",  # no carrier named: whose outage?
        "outage in Hubei",
        "something is wrong in Wuhan",
        "",
    ],
)
def test_no_kind_when_nothing_says_it(text: str) -> None:
    assert facts(text).kind is None


# --- severity ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("SF down, sev 3", 3),
        ("sev3", 3),
        ("Sev: 2", 2),
        ("severity three", 3),
        ("level 2", 2),
        ("tier 4", 4),
        ("severity: major", 3),
        ("severity major disaster", 4),
        ("a minor incident in Shanghai", 1),
        ("major incident", 3),
        ("critical incident", 4),
        ("sev 2, now sev 3", 3),  # where it stands now comes last
        ("a major delay in Wuhan", None),  # a word counts only as a severity
        ("sev 5", None),
        ("P1", None),  # priority scales run the other way
        ("S1 outage", None),
        ("Level II response in Wuhan", None),  # the national scale runs the other way
        ("level 2 emergency response in Wuhan", None),
        ("flood, water level 3 m above normal", None),
        ("SF down in Hubei", None),
    ],
)
def test_severity_only_when_stated(text: str, severity: int | None) -> None:
    assert facts(text).severity == severity


@pytest.mark.parametrize(
    ("answer", "severity"),
    [
        ("3", 3),
        (" 1 ", 1),
        ("sev 3", 3),
        ("severity three", 3),
        ("four", 4),
        ("minor", 1),
        ("local", 1),
        ("moderate", 2),
        ("major", 3),
        ("Serious", 3),
        ("major disaster", 4),
        ("critical!", 4),
        ("3 (major)", 3),
        ("5", None),
        ("0", None),
        ("minor or major", None),
        ("2 or 3", None),
        ("no idea", None),
        ("", None),
    ],
)
def test_parse_severity_reads_a_form_answer(answer: str, severity: int | None) -> None:
    assert parse_severity(answer) == severity


# --- status and resolution -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("investigating SF in Wuhan", IncidentStatus.INVESTIGATING),
        ("cause identified: a failed sorting system", IncidentStatus.IDENTIFIED),
        ("monitoring, deliveries picking up", IncidentStatus.MONITORING),
        ("was investigating, now monitoring", IncidentStatus.MONITORING),
        ("SF down in Wuhan", None),
    ],
)
def test_status_words(text: str, status: IncidentStatus | None) -> None:
    read = facts(text)
    assert (read.status, read.resolve) == (status, False)


@pytest.mark.parametrize(
    "text",
    [
        "resolve incident 3",
        "close #3",
        "resolved",
        "SF is fixed",
        "the outage is over",
        "it's over",
        "all clear",
        "All-clear in Wuhan",
        "deliveries back to normal",
        "ZTO back up",
        "the lockdown was lifted",
        "monitoring, then resolved",
    ],
)
def test_resolution(text: str) -> None:
    read = facts(text)
    assert (read.resolve, read.status) == (True, IncidentStatus.RESOLVED)


@pytest.mark.parametrize(
    "text",
    [
        "not resolved yet",
        "isn't fixed",
        "should be fixed soon",
        "we hope it's over tomorrow",
        "back to normal by Friday",  # an estimate, not a resolution
        "back to normal in 2 days",
        "SF is back Friday",
        "80% of capacity partially restored",
        "unresolved",
        "roads closed by the authorities",
        "handed over to ZTO",
    ],
)
def test_no_resolution_when_hoped_negated_or_estimated(text: str) -> None:
    assert facts(text).resolve is False


# --- started_at ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "now", "started"),
    [
        ("since 9am", NOW, at(18, 9)),
        ("since 9 am", NOW, at(18, 9)),
        ("since 09:30", NOW, at(18, 9, 30)),
        ("since 9:30pm", NOW, at(17, 21, 30)),  # later than now today: yesterday
        ("since 16:00", NOW, at(17, 16)),
        ("since noon", NOW, at(18, 12)),
        ("since yesterday", NOW, at(17, 0)),  # no time: the start of the day
        ("since yesterday 14:00", NOW, at(17, 14)),
        ("since yesterday at 2pm", NOW, at(17, 14)),
        ("since Monday", NOW, at(16, 0)),  # the most recent Monday
        ("since Monday 10:00", NOW, at(16, 10)),
        ("since Wednesday", NOW, at(11, 0)),  # today's weekday without a time: a week ago
        ("since Wednesday 9am", NOW, at(18, 9)),  # with a time already past: today
        ("since last Thursday", NOW, at(12, 0)),
        ("from this morning", NOW, at(18, 8)),
        ("since last night", NOW, at(17, 21)),
        ("started 3 hours ago", NOW, at(18, 12)),
        ("began 2 days ago", NOW, at(16, 0)),
        ("down since 6 Nov", NOW, at(6, 0)),
        ("since 28 Dec", at(3, 10, month=1, year=2027), at(28, 0, month=12)),  # across New Year
        ("since about 9am", NOW, at(18, 9)),
        ("Since 9AM", NOW, at(18, 9)),
    ],
)
def test_started_at_is_in_the_past(text: str, now: datetime, started: datetime) -> None:
    assert facts(text, now=now).started_at == started


@pytest.mark.parametrize(
    "text",
    [
        "SF down in Hubei",
        "since tomorrow",  # cannot be: the form asks
        "since 30 Nov",  # later this month: not a start
        "since 9",  # a bare number is not a time
        "since sev 3",
        "from Shanghai",
        "sev 3 since 25:00",
    ],
)
def test_no_start_when_none_is_stated(text: str) -> None:
    assert facts(text).started_at is None


# --- expected_recovery ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        ("back Friday", NOW, at(20)),  # no time: 18:00
        ("until Friday", NOW, at(20)),
        ("until Fri", NOW, at(20)),
        ("by Friday 18:00", NOW, at(20)),
        ("by Friday at 10am", NOW, at(20, 10)),
        ("back tomorrow", NOW, at(19)),
        ("back tomorrow noon", NOW, at(19, 12)),
        ("back tomorrow morning", NOW, at(19, 8)),
        ("expected back 6 Dec", NOW, at(6, month=12)),
        ("expected back December 6th", NOW, at(6, month=12)),
        ("eta 2026-12-06 09:00", NOW, at(6, 9, month=12)),
        ("back in 2 days", NOW, at(20)),
        ("back in 3 hours", NOW, at(18, 18)),
        ("for 3 days", NOW, at(21)),
        ("lockdown since Monday for 7 days", NOW, at(23)),  # counted from the start
        ("new estimate Monday", NOW, at(23)),
        ("eta Monday 10:00", NOW, at(23, 10)),
        ("ETA: Monday 10:00", NOW, at(23, 10)),
        ("back Wednesday", NOW, at(25)),  # today's weekday: next week
        ("back Wednesday 17:00", NOW, at(18, 17)),  # unless a later time today is given
        ("back Wednesday 14:00", NOW, at(25, 14)),
        ("back by 17:00", NOW, at(18, 17)),
        ("back by 9am", NOW, at(19, 9)),  # past today: tomorrow
        ("back to normal by end of day", NOW, at(18, 18)),
        ("back tonight", NOW, at(18, 21)),
        ("back next Friday", NOW, at(20)),
        ("back day after tomorrow", NOW, at(20)),
        ("back Friday, new estimate Monday", NOW, at(23)),  # the newest estimate is the last
        ("until 5 Jan", at(28, 10, month=12), at(5, month=1, year=2027)),  # across New Year
        ("SF should recover by Friday", NOW, at(20)),
    ],
)
def test_expected_recovery_is_in_the_future(text: str, now: datetime, expected: datetime) -> None:
    assert facts(text, now=now).expected_recovery == expected


@pytest.mark.parametrize(
    "text",
    [
        "SF down in Hubei since 9am",
        "back yesterday",
        "expected back 1 Nov",  # earlier this month: a mistake, not next year
        "back today at 9am",  # already past
        "back 31 Feb",
        "back in 5000 days",
        "back to normal",
        "by the typhoon",
        "caused by SF",
        "sev 3",
        "order 1234567 is late",
    ],
)
def test_no_recovery_when_none_is_stated(text: str) -> None:
    assert facts(text).expected_recovery is None


# --- parse_moment (a form's answer) --------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Friday", at(20)),
        ("friday", at(20)),
        ("tomorrow 9am", at(19, 9)),
        ("9am tomorrow", at(19, 9)),
        ("6 Dec 18:00", at(6, month=12)),
        ("6 Dec", at(6, month=12)),
        ("Dec 6 at 10:30", at(6, 10, 30, month=12)),
        ("in 2 days", at(20)),
        ("2 days", at(20)),
        ("in 3 hours", at(18, 18)),
        ("by Friday please", at(20)),
        ("midnight", at(19, 0)),
        ("6 Dec 2027", at(6, month=12, year=2027)),
    ],
)
def test_parse_moment(answer: str, expected: datetime) -> None:
    assert parse_moment(answer, now=NOW) == expected


@pytest.mark.parametrize("answer", ["", "no idea", "yesterday", "today 9am", "3", "sev 3"])
def test_parse_moment_none(answer: str) -> None:
    assert parse_moment(answer, now=NOW) is None


def test_parse_moment_default_hour() -> None:
    assert parse_moment("Friday", now=NOW, default_hour=9) == at(20, 9)


def test_parse_past_moment_for_a_since_when_answer() -> None:
    assert parse_past_moment("yesterday 14:00", now=NOW) == at(17, 14)
    assert parse_past_moment("Monday", now=NOW) == at(16, 0)
    assert parse_past_moment("tomorrow", now=NOW) is None


def test_times_are_aware_in_the_shop_time_zone_whatever_now_is() -> None:
    utc_now = NOW.astimezone(UTC)
    read = facts("SF down since 9am, back tomorrow 10:00", now=utc_now)
    assert read.started_at == at(18, 9)
    assert read.expected_recovery == at(19, 10)
    for moment in (read.started_at, read.expected_recovery):
        assert moment is not None and moment.utcoffset() == timedelta(hours=8)


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        facts("since 9am", now=NOW.replace(tzinfo=None))


# --- customer note -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("SF down in Wuhan. note: Parcels are held at the hub.", "Parcels are held at the hub."),
        ('customer note: "Parcels are held." sev 2', "Parcels are held."),
        ("Customer note: “Parcels are held.”", "Parcels are held."),
        (
            'lockdown in Wuhan, tell customers "Deliveries resume Friday"',
            "Deliveries resume Friday",
        ),
        ('tell the customers: "We are on it"', "We are on it"),
        ('say "Sorry for the wait"', "Sorry for the wait"),
        ("internal note: ZTO gives updates at 10:00", None),
        ("internal note: reroute. customer note: Held at hub.", "Held at hub."),
        ("SF down in Wuhan, parcels are held at the hub", None),  # never invented
        ("tell customers the truth", None),  # no quotes, no colon: not a note
        ("note:", None),
    ],
)
def test_customer_note_only_when_given(text: str, note: str | None) -> None:
    assert facts(text).customer_note == note


def test_a_note_does_not_widen_the_scope_or_set_times() -> None:
    read = facts(
        "SF Express down in Wuhan since 9am. "
        'customer note: "Orders now ship with YTO Express from Shanghai, back Monday."'
    )
    assert read.carriers == ("SF Express",)
    assert read.regions == ("Hubei (Wuhan)",)
    assert read.expected_recovery is None
    assert read.customer_note == "Orders now ship with YTO Express from Shanghai, back Monday."


def test_an_internal_note_does_not_widen_the_scope_either() -> None:
    read = facts("ZTO outage. internal note: moved uncollected orders to YTO")
    assert read.carriers == ("ZTO Express",)


# --- a full declaration and an update ------------------------------------------------------


def test_a_full_declaration() -> None:
    read = facts(
        "Typhoon in Guangdong since yesterday 14:00, ZTO and YTO suspended, sev 3, "
        "identified, eta Monday 10:00"
    )
    assert read == IncidentFacts(
        kind=IncidentKind.WEATHER,
        regions=GUANGDONG,
        carriers=("ZTO Express", "YTO Express"),
        severity=3,
        status=IncidentStatus.IDENTIFIED,
        started_at=at(17, 14),
        expected_recovery=at(23, 10),
    )


def test_an_update() -> None:
    read = facts("incident 4: new estimate Friday 12:00, monitoring")
    assert read == IncidentFacts(status=IncidentStatus.MONITORING, expected_recovery=at(20, 12))


def test_text_past_the_limit_is_not_read() -> None:
    assert facts("x" * MAX_TEXT_CHARS + " SF Express down").carriers == ()
    assert facts("x" * (MAX_TEXT_CHARS - 20) + " SF Express down").carriers == ("SF Express",)


# --- find_incidents ------------------------------------------------------------------------


def incident(
    number: int,
    kind: IncidentKind,
    title: str,
    *,
    regions: tuple[str, ...] = (),
    carriers: tuple[str, ...] = (),
    severity: int = 2,
    days_ago: float = 1,
    resolved: bool = False,
) -> Incident:
    return Incident(
        id=number,
        kind=kind,
        title=title,
        started_at=NOW - timedelta(days=days_ago),
        customer_note="Deliveries are delayed.",
        regions=regions,
        carriers=carriers,
        severity=severity,
        resolved_at=NOW - timedelta(hours=1) if resolved else None,
        status=IncidentStatus.RESOLVED if resolved else IncidentStatus.IDENTIFIED,
    )


TYPHOON = incident(
    1, IncidentKind.WEATHER, "Typhoon in Guangdong: deliveries suspended",
    regions=GUANGDONG, severity=3, days_ago=14, resolved=True,
)  # fmt: skip
POWER = incident(
    2, IncidentKind.WAREHOUSE, "Shanghai Jiading warehouse: power failure, picking paused",
    regions=("Shanghai", "Zhejiang (Hangzhou)"), severity=1, days_ago=6, resolved=True,
)  # fmt: skip
LOCKDOWN = incident(
    3, IncidentKind.REGIONAL_LOCKDOWN, "Epidemic control measures in Wuhan: deliveries restricted",
    regions=("Hubei (Wuhan)",), severity=3, days_ago=3,
)  # fmt: skip
ZTO = incident(
    4, IncidentKind.CARRIER_OUTAGE, "ZTO Express: sorting-centre system failure",
    carriers=("ZTO Express",), days_ago=1,
)  # fmt: skip
SF = incident(
    5, IncidentKind.CARRIER_OUTAGE, "SF Express outage in Hubei (Wuhan)",
    regions=("Hubei (Wuhan)",), carriers=("SF Express",), days_ago=0.2,
)  # fmt: skip
INCIDENTS = (TYPHOON, POWER, LOCKDOWN, ZTO, SF)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("incident 3", [LOCKDOWN]),
        ("Incident #4", [ZTO]),
        ("#4", [ZTO]),
        ("number 5", [SF]),
        ("3", [LOCKDOWN]),
        (" 3. ", [LOCKDOWN]),
        ("incident 3 and #5", [LOCKDOWN, SF]),
        ("incident 9", []),  # an id that does not exist finds nothing else
        ("#9 the outage", []),
        ("resolve incident 3", [LOCKDOWN]),
        ("the lockdown", [LOCKDOWN]),
        ("status of the epidemic control", [LOCKDOWN]),
        ("the typhoon", [TYPHOON]),
        ("weather", [TYPHOON]),
        ("the warehouse", [POWER]),
        ("the power failure", [POWER, ZTO]),  # "system failure" is a failure too
        ("ZTO's", [ZTO]),
        ("zto express", [ZTO]),
        ("the SF outage", [SF, ZTO]),
        ("sorting centre", [ZTO]),
        ("Shenzhen", [TYPHOON]),
        ("Hangzhou", [POWER]),
        ("what about Wuhan", [LOCKDOWN, SF]),  # the region and a title word, then the region
    ],
)
def test_find_incidents(text: str, expected: list[Incident]) -> None:
    assert find_incidents(text, INCIDENTS) == expected


def test_an_ambiguous_reference_returns_every_match() -> None:
    found = find_incidents("the outage", INCIDENTS)
    assert set(found) == {ZTO, SF}
    assert found[0] == SF  # its title says "outage" too


def test_open_incidents_rank_before_resolved_ones() -> None:
    old_sf = incident(
        6, IncidentKind.CARRIER_OUTAGE, "SF Express outage", carriers=("SF Express",),
        days_ago=30, resolved=True,
    )  # fmt: skip
    assert find_incidents("SF outage", [old_sf, SF]) == [SF, old_sf]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "the",
        "update the incident status of",
        "what's the status of the incident",
        "show me the latest update",
        "deliveries to customers",
        "3 incidents",
        "soft",
        "sev 3",
        "Beijing",
    ],
)
def test_generic_words_find_nothing(text: str) -> None:
    assert find_incidents(text, INCIDENTS) == []


def test_find_with_no_incidents() -> None:
    assert find_incidents("the outage", []) == []


# --- suggestions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("read", "title"),
    [
        (
            IncidentFacts(
                kind=IncidentKind.CARRIER_OUTAGE,
                regions=("Hubei (Wuhan)",),
                carriers=("SF Express",),
            ),
            "SF Express outage in Hubei (Wuhan)",
        ),
        (
            IncidentFacts(kind=IncidentKind.CARRIER_OUTAGE, carriers=("ZTO Express",)),
            "ZTO Express outage",
        ),
        (
            IncidentFacts(kind=IncidentKind.REGIONAL_LOCKDOWN, regions=("Hubei (Wuhan)",)),
            "Lockdown in Hubei (Wuhan)",
        ),
        (
            IncidentFacts(kind=IncidentKind.WEATHER, regions=GUANGDONG),
            "Severe weather in Guangdong (Guangzhou) and Guangdong (Shenzhen)",
        ),
        (
            IncidentFacts(kind=IncidentKind.WEATHER, regions=GUANGDONG, carriers=("ZTO Express",)),
            "Severe weather in Guangdong (Guangzhou) and Guangdong (Shenzhen): "
            "ZTO Express affected",
        ),
        (
            IncidentFacts(kind=IncidentKind.WAREHOUSE, regions=("Shanghai",)),
            "Warehouse problem in Shanghai",
        ),
        (
            IncidentFacts(kind=IncidentKind.REGIONAL_LOCKDOWN, regions=REGIONS[:5]),
            "Lockdown in Shanghai, Beijing and 3 more",
        ),
        (IncidentFacts(kind=IncidentKind.WEATHER), None),  # no scope
        (IncidentFacts(regions=("Shanghai",)), None),  # no kind
    ],
)
def test_suggested_title(read: IncidentFacts, title: str | None) -> None:
    assert suggested_title(read) == title


def test_a_suggested_title_fits_the_limit() -> None:
    long_names = tuple(f"Region number {n} " + "x" * 80 for n in range(3))
    title = suggested_title(IncidentFacts(kind=IncidentKind.WEATHER, regions=long_names))
    assert title is not None and len(title) == MAX_TITLE_CHARS


def test_suggested_customer_note_says_what_since_when_and_until_when() -> None:
    note = suggested_customer_note(facts("SF Express is down in Hubei since 9am, back Friday"))
    assert note == (
        "Deliveries by SF Express to Hubei (Wuhan) have been disrupted by a service outage "
        "since 09:00 on Wed 18 Nov, so parcels may arrive late. "
        "We expect deliveries to be back to normal by 18:00 on Fri 20 Nov."
    )


def test_suggested_customer_note_promises_no_estimate_nobody_gave() -> None:
    note = suggested_customer_note(facts("lockdown in Wuhan since Monday"))
    assert note == (
        "Deliveries to Hubei (Wuhan) have been disrupted by lockdown measures since Mon 16 Nov, "
        "so parcels may arrive late. "
        "We don't have an estimate yet of when this will be over; we'll update you."
    )


def test_suggested_customer_note_for_a_resolved_incident() -> None:
    note = suggested_customer_note(facts("typhoon in Shenzhen is over"))
    assert note is not None
    assert note.startswith("Deliveries to Guangdong (Shenzhen) were disrupted by severe weather.")
    assert "now resolved" in note


@pytest.mark.parametrize(
    "read",
    [
        IncidentFacts(),
        IncidentFacts(kind=IncidentKind.WEATHER),
        IncidentFacts(carriers=("SF Express",)),
    ],
)
def test_no_suggested_note_without_kind_and_scope(read: IncidentFacts) -> None:
    assert suggested_customer_note(read) is None


def test_suggested_note_fits_the_limit() -> None:
    many = IncidentFacts(
        kind=IncidentKind.WAREHOUSE, regions=REGIONS, carriers=CARRIERS,
        started_at=at(18, 9), expected_recovery=at(20),
    )  # fmt: skip
    note = suggested_customer_note(many)
    assert note is not None and len(note) <= MAX_NOTE_CHARS


# --- bounded work --------------------------------------------------------------------------

ADVERSARIAL = [
    "since " * 400,
    "9:" * 1000,
    "(" * 2000,
    'note: "' + "x" * 2000,
    'say "' * 400,
    "SF " * 700,
    "sev " * 500,
    "sev" + " " * 2000,
    "#" + " " * 2000 + "x",
    "\n" * 2000 + "x",
    "in 2 " * 400,
    "back to normal " * 150,
    "Hubei (" * 300,
    "lock down " * 200,
    "kind" + " " * 2000,
    "tell customers " * 150,
    "1 " * 1000,
    "back " * 400 + "by " * 300,
    "a" * 5000,
    "Guangdong (Shenzhen) " * 100,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_input_returns_quickly(text: str) -> None:
    text = text * 2  # past the limit, so the cut is exercised too
    started = time.perf_counter()
    facts(text)
    find_incidents(text, INCIDENTS)
    parse_severity(text)
    parse_moment(text, now=NOW)
    parse_past_moment(text, now=NOW)
    assert time.perf_counter() - started < 1.0
