#!/usr/bin/env python3
"""The `events` table sluice must hold, computed from the input files by a
tool that is not sluice: Python's csv module and the contract's rules
(shared design.md, "Input files" and "Versions").

    python3 newest_versions.py DIR [DIR ...]

Reads every `*.csv` file (not hidden) at the top of each DIR, keeps the
valid rows, and prints one JSON object: for each event_id, the stored row
the contract demands, `[event_type, user_id, product_id, category, price,
quantity, event_time]` (event_type trimmed and lower-cased as the default
transform does, price with two decimals, event_time in UTC with
microseconds), and `files`: the source files that row may name. Of a key's
versions the greatest (event_time, file name in bytes, line) wins; a
version with the same event_time and the same values from another file
may keep the name of the file committed first (an identical row is never
rewritten), so every such file is listed.
"""

import csv
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

COLUMNS = ["event_id", "event_type", "user_id", "product_id", "category",
           "price", "quantity", "event_time"]
INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)
MAX_FIELD_BYTES = 64 * 1024
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

csv.field_size_limit(2**31 - 1)


def integer(text, bounds):
    text = text.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ValueError("not an integer")
    value = int(text)
    if not bounds[0] <= value <= bounds[1]:
        raise ValueError("out of range")
    return value


def price(text):
    text = text.strip()
    unsigned = text[1:] if text[:1] in "+-" else text
    if not unsigned or any(c not in "0123456789." for c in unsigned) or unsigned == ".":
        raise ValueError("not a decimal")
    value = Decimal(text)
    cents = value.quantize(Decimal("0.01"))
    if cents != value or abs(cents) >= Decimal(10) ** 10:
        raise ValueError("scale or precision")
    return str(cents)


def timestamp(text):
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        raise ValueError("no offset")
    moment = moment.astimezone(timezone.utc)
    micros = (moment - EPOCH) // timedelta(microseconds=1)
    return micros, moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def valid_row(fields):
    """The stored values of a row, or None when sluice must reject it."""
    if any(len(f.encode()) > MAX_FIELD_BYTES or "\0" in f for f in fields.values()):
        return None
    try:
        if not fields["event_id"] or not fields["event_type"]:
            return None
        micros, time_text = timestamp(fields["event_time"])
        row = [
            fields["event_type"].strip(" ").lower(),
            integer(fields["user_id"], INT64),
            integer(fields["product_id"], INT64),
            fields["category"] or None,
            price(fields["price"]),
            integer(fields["quantity"], INT32),
            time_text,
        ]
    except (ValueError, InvalidOperation):
        return None
    return fields["event_id"], micros, row


def versions(path, name):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        names = [h.strip().lower() for h in header]
        if sorted(names) != sorted(COLUMNS):
            return
        for index, record in enumerate(reader):
            if not record:
                continue
            if len(record) != len(names):
                continue
            parsed = valid_row(dict(zip(names, record)))
            if parsed is not None:
                key, micros, row = parsed
                yield key, (micros, name.encode(), index), row


def main(dirs):
    found = {}
    for folder in dirs:
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if name.startswith(".") or not name.endswith(".csv") or not os.path.isfile(path):
                continue
            for key, order, row in versions(path, name):
                found.setdefault(key, []).append((order, row))
    expected = {}
    for key, candidates in found.items():
        order, row = max(candidates, key=lambda c: c[0])
        files = sorted({o[1].decode() for o, r in candidates if o[0] == order[0] and r == row})
        expected[key] = {"row": row, "files": files}
    json.dump(expected, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
