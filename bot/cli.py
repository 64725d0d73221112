"""The `shopdesk` command: set-up chores, the demo shop, and quick looks at the bot."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from bot.domain.clock import shop_today
from bot.settings import get_settings

Handler = Callable[[argparse.Namespace], int]


def _print_json(value: object) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=None)
    sys.stdout.write("\n")


def cmd_secrets_init(args: argparse.Namespace) -> int:
    """Random shared tokens for the three local processes, written once."""
    from bot.secrets import write_local_secrets

    created = write_local_secrets(Path(args.path))
    print(f"{'wrote' if created else 'kept'} {args.path}")
    _tighten_local_data()
    return 0


def _tighten_local_data() -> None:
    """An install from before the data was kept private gets its var/ closed now."""
    from bot.settings import VAR_DIR
    from bot.storage.local_files import tighten

    for path in tighten(VAR_DIR):
        print(f"made {path} private to its owner")


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    """Bring Shopdesk's database and the demo shop's to the latest migration."""
    from bot.storage.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url, schema="shopdesk")
    upgrade(settings.shop_database_url, schema="shop")
    _tighten_local_data()
    return 0


def cmd_demo_seed(args: argparse.Namespace) -> int:
    """Fill the demo shop deterministically (skipped when it already holds data)."""
    from bot.demo.declared_incidents import declare_demo_incidents
    from bot.demo.desk_week import seed_desk_week
    from bot.demo.seed import seed_demo_shop

    today = date.fromisoformat(args.today) if args.today else shop_today()
    settings = get_settings()
    count = seed_demo_shop(settings.shop_database_url, today=today, force=args.force)
    print(f"demo shop: {count} orders" if count else "demo shop already seeded")
    declared = declare_demo_incidents(settings.database_url, today=today, force=args.force)
    print(f"demo incidents: {declared} declared" if declared else "incidents already declared")
    contacts = seed_desk_week(settings.database_url, today=today, force=args.force)
    print(f"demo desk: a week of {contacts} contacts" if contacts else "demo desk already seeded")
    return 0


def cmd_demo_orders(args: argparse.Namespace) -> int:
    """The seeded orders with the contact details that verify them (demo data only)."""
    from bot.demo.listing import demo_orders

    orders = demo_orders(get_settings().shop_database_url)
    if args.json:
        _print_json(orders)
    else:
        for order in orders:
            print(
                f"{order['order_number']}  {order['status']:<17} phone ..{order['phone_last4']}"
                f"  {order['email']}  {order['tracking_number'] or '-'}"
            )
    return 0


def cmd_nlu_parse(args: argparse.Namespace) -> int:
    """Intent and confidence from the running engine's trained model."""
    from bot.channels.engine import EngineUnavailable
    from bot.channels.rasa_client import parse_text

    try:
        result = parse_text(get_settings(), args.text)
    except EngineUnavailable as error:
        print(f"shopdesk: {error} (is `make run` going?)", file=sys.stderr)
        return 1
    if args.json:
        _print_json(result)
    else:
        print(f"{result['intent']}  {result['confidence']:.3f}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The desk's figures, the same numbers as the console's reports page (docs/ops.md)."""
    from bot.domain.clock import SHOP_TIMEZONE, shop_now
    from bot.domain.desk_report_text import render_text
    from bot.domain.report_period import PeriodError, period_between, period_since
    from bot.storage.desk_report import report_from_database, service_level_rule

    if args.since is not None and args.date_to is not None:
        print("shopdesk report: give --since, or --from and --to, not both", file=sys.stderr)
        return 2
    settings = get_settings()
    now = shop_now()
    try:
        if args.date_from is not None or args.date_to is not None:
            period = period_between(
                args.date_from, args.date_to, channel=args.channel, today=now.date(),
                zone=SHOP_TIMEZONE,
            )  # fmt: skip
        else:
            period = period_since(args.since or "7d", channel=args.channel, now=now)
    except PeriodError as error:
        print(f"shopdesk report: {error}", file=sys.stderr)
        return 2
    rule = service_level_rule(settings)
    document = report_from_database(settings.database_url, period=period, rule=rule)
    if args.json:
        _print_json(document)
    else:
        print(render_text(document))
    return 0


def cmd_wait_ready(args: argparse.Namespace) -> int:
    """Block until engine, action server and gateway are healthy, then print the URLs."""
    from bot.readiness import wait_until_ready

    return 0 if wait_until_ready(get_settings(), timeout_seconds=args.timeout) else 1


def cmd_kb_build(args: argparse.Namespace) -> int:
    """Validate the articles and rebuild the search index if they changed."""
    from bot.knowledge import ArticleError
    from bot.knowledge.commands import kb_build

    settings = get_settings()
    try:
        count = kb_build(
            settings.knowledge_base_dir, settings.knowledge_index_dir, force=args.force
        )
    except ArticleError as error:
        print(f"knowledge base: {error}", file=sys.stderr)
        return 1
    print(f"knowledge index: {count} articles" if count else "knowledge index up to date")
    return 0


def cmd_kb_search(args: argparse.Namespace) -> int:
    """Ranked article ids with scores; with --json one object per query and line."""
    from bot.knowledge import ArticleError, KnowledgeIndexError
    from bot.knowledge.commands import kb_search

    settings = get_settings()
    file = Path(args.file) if args.file is not None else None
    rows = kb_search(
        args.text,
        file,
        settings.knowledge_index_dir,
        kb_dir=settings.knowledge_base_dir,
        top_k=args.top,
    )
    try:
        for row in rows:
            if args.json:
                _print_json(row)
            else:
                hits = "  ".join(f"{hit['id']} {hit['score']:.3f}" for hit in row["results"])
                print(f"{row['query']}\n  {hits or '(no results)'}")
    except (ArticleError, KnowledgeIndexError, OSError, UnicodeDecodeError) as error:
        print(f"kb search: {error}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    from bot.handoff.staff_commands import add_staff_commands

    parser = argparse.ArgumentParser(prog="shopdesk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    secrets = commands.add_parser("secrets", help="local shared tokens").add_subparsers(
        dest="action", required=True
    )
    init = secrets.add_parser("init", help="write random tokens if the file is missing")
    init.add_argument("--path", default="var/secrets.env")
    init.set_defaults(handler=cmd_secrets_init)

    db = commands.add_parser("db", help="database migrations").add_subparsers(
        dest="action", required=True
    )
    db.add_parser("upgrade", help="apply all migrations").set_defaults(handler=cmd_db_upgrade)

    demo = commands.add_parser("demo", help="the demo shop").add_subparsers(
        dest="action", required=True
    )
    seed = demo.add_parser("seed", help="seed the demo shop")
    seed.add_argument("--today", help="anchor date for the generated orders (YYYY-MM-DD)")
    seed.add_argument("--force", action="store_true", help="wipe and reseed")
    seed.set_defaults(handler=cmd_demo_seed)
    orders = demo.add_parser("orders", help="list the demo orders")
    orders.add_argument("--json", action="store_true")
    orders.set_defaults(handler=cmd_demo_orders)

    nlu = commands.add_parser("nlu", help="the trained NLU model").add_subparsers(
        dest="action", required=True
    )
    parse = nlu.add_parser("parse", help="classify a text with the running engine")
    parse.add_argument("text")
    parse.add_argument("--json", action="store_true")
    parse.set_defaults(handler=cmd_nlu_parse)

    kb = commands.add_parser("kb", help="the knowledge base").add_subparsers(
        dest="action", required=True
    )
    build_kb = kb.add_parser("build", help="validate the articles and build the search index")
    build_kb.add_argument("--force", action="store_true", help="rebuild even if unchanged")
    build_kb.set_defaults(handler=cmd_kb_build)
    search_kb = kb.add_parser("search", help="rank articles for a question")
    kb_query = search_kb.add_mutually_exclusive_group(required=True)
    kb_query.add_argument("text", nargs="?", help="the question")
    kb_query.add_argument("--file", help="a file with one question per line")
    search_kb.add_argument("--top", type=int, default=3, help="results per question")
    search_kb.add_argument("--json", action="store_true", help="one JSON object per line")
    search_kb.set_defaults(handler=cmd_kb_search)

    add_staff_commands(commands)

    report = commands.add_parser("report", help="the desk's figures (as /console/reports)")
    when = report.add_mutually_exclusive_group()
    when.add_argument("--since", help="the last hours or days up to now, like 24h or 7d (default)")
    when.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD (shop time)")
    report.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD (default today)")
    report.add_argument("--channel", default="all", help="all, webchat, telegram or api")
    report.add_argument("--json", action="store_true", help="the API's JSON document")
    report.set_defaults(handler=cmd_report)

    ready = commands.add_parser("wait-ready", help="wait for the three processes")
    ready.add_argument("--timeout", type=float, default=180.0)
    ready.set_defaults(handler=cmd_wait_ready)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from bot.storage.local_files import keep_files_private

    keep_files_private()
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
