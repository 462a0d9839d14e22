"""`workstation import KIND FILE`: validated, all-or-nothing imports (our CSVs, ECB rates, EOD closes)."""

from __future__ import annotations

import argparse

from engine.imports.service import KINDS, import_file
from workstation.cli.args import input_file
from workstation.cli.output import print_json
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "import",
        help="import a file: our CSVs, the ECB's rate files (fx-ecb), EOD closes (prices-eod); all-or-nothing",
        description="Validate FILE completely, then write it in one transaction. Any problem: "
        "every one is printed (row, column, reason), nothing is written, exit status 2. A book that "
        "has users needs --user: models need models.edit (portfolio managers, admins), the other kinds "
        "book.import (admins); a refusal is audited and writes nothing.",
    )
    p.add_argument(
        "kind",
        choices=list(KINDS),
        help="what the file holds (import in this order for a new book); fx-ecb takes "
        "eurofxref-daily.xml, eurofxref-hist.zip or its CSV as the ECB publishes them (told apart by "
        "content); prices-eod takes identifier,id_type,mic,date,close,currency",
    )
    p.add_argument("file", type=input_file, metavar="FILE.csv", help="UTF-8 CSV with a header row")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_user_option(p, required=False)
    p.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        user = sign_in(database, args.user) if args.user else None
        result = import_file(database, args.kind, args.file, username=user)
    if args.json:
        print_json(result.as_dict())
    else:
        print(result.summary(args.file.name))
    return 0
