"""``mmpos alerts``: check each underlying's newest snapshot against the alert rules and send what fires.

The server checks as snapshots land (:mod:`dashboard.alerts`); this command does the same once, for a
cron job or to try a rules file: ``--dry-run`` prints what would fire and sends nothing. The sent-log
is shared with the server, so an alert is sent at most once per rule and snapshot whoever checks.
"""

from __future__ import annotations

import argparse
import json
import sys

from dashboard.cli.common import add_data_dir_option, refuse, refuses_bad_settings

NAME = "alerts"
ONE_SHOT = False


def add_parser(sub) -> None:
    p = sub.add_parser(NAME, help="check the newest snapshots against the alert rules and send what fires")
    add_data_dir_option(p)
    p.add_argument("--config", help="the alerts file (default: MMPOS_ALERTS_FILE); see docs/alerts.md")
    p.add_argument("--dry-run", action="store_true", help="print the alerts that fire; log and send nothing")
    p.add_argument("--format", choices=("text", "json"), default="text")


@refuses_bad_settings(NAME)
def run(args: argparse.Namespace) -> int:
    """Exit 0 (alerts or none), 2 for a bad setting or alerts file (one line on stderr)."""
    from dashboard import alerts
    from dashboard.runtime import config

    settings = config.from_env()
    path = args.config or settings.alerts_file
    if not path:
        return refuse(NAME, "no alerts file: give --config or set MMPOS_ALERTS_FILE")
    cfg = alerts.load_config(path)  # a bad file: ChainDataError, one line from dashboard.cli's main
    sent = alerts.check(args.data_dir, cfg, settings, dry_run=args.dry_run)
    if args.format == "json":
        records = [{**s.alert.to_dict(), "status": s.status,
                    "deliveries": [d.__dict__ for d in s.deliveries]} for s in sent]
        sys.stdout.write(json.dumps(records, indent=1, allow_nan=False, default=str) + "\n")
    else:
        for s in sent:
            sys.stdout.write(f"{s.status:<9} {alerts.alert_line(s.alert)}\n")
        if not sent:
            sys.stdout.write("no alert\n")
    return 0
