#!/usr/bin/env python3
"""A small CSV loader of the kind users write before they switch: Python's
csv module checks each row, psql stages the good ones and merges them with
`INSERT ... ON CONFLICT DO NOTHING`, one transaction per micro-batch.

It is not sluice, and sluice measures it like any other pipeline:

    sluice run configs/stress.toml --pipeline-cmd \
      'python3 configs/external/psql_loader.py --input {input} \
         --database-url {database_url} --trigger {trigger} --ready-file {ready_file}'

Files are taken once, by name, in name order; a file whose batch fails is
retried alone and left out (with a message) when it fails again. Rows that
fail the checks are counted and printed, never stored. SIGTERM ends it after
the batch in flight. Needs only Python 3.8+ and psql (PSQL, else on PATH).
"""

import argparse
import csv
import datetime
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time

COLUMNS = ["event_id", "event_type", "user_id", "product_id", "category",
           "price", "quantity", "event_time"]
INT64 = re.compile(r"^-?[0-9]{1,19}$")
INT32 = re.compile(r"^-?[0-9]{1,10}$")
PRICE = re.compile(r"^-?[0-9]{1,10}(\.[0-9]+)?$")

stopping = False


def on_term(_signum, _frame):
    global stopping
    stopping = True


def trigger_seconds(text):
    """`500ms`, `1s`, `2m`, `continuous` (a short poll) or `available-now`."""
    if text in ("continuous", "available-now"):
        return 0.05
    match = re.fullmatch(r"([0-9.]+)\s*(ms|s|m)", text.strip())
    if not match:
        sys.exit(f"psql_loader: cannot read the trigger {text!r}: use 500ms, 1s, 2m or continuous")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "ms" else value * 60 if unit == "m" else value


def valid(row):
    if len(row) != len(COLUMNS) or not row[0] or not row[1]:
        return False
    if not (INT64.match(row[2]) and INT64.match(row[3]) and INT32.match(row[6])):
        return False
    if not (-2**63 <= int(row[2]) < 2**63 and -2**63 <= int(row[3]) < 2**63
            and -2**31 <= int(row[6]) < 2**31):
        return False
    if not PRICE.match(row[5]):
        return False
    try:
        datetime.datetime.fromisoformat(row[7].replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def clean_rows(paths):
    """The valid rows of the files as CSV text, and the count of bad ones."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    bad = 0
    for path in paths:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            next(reader, None)  # header
            for row in reader:
                if valid(row):
                    writer.writerow(row)
                else:
                    bad += 1
    return out.getvalue(), bad


def run_psql(psql, url, table, data):
    script = f"""\\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE stage (LIKE {table}) ON COMMIT DROP;
\\copy stage FROM pstdin WITH (FORMAT csv)
INSERT INTO {table} SELECT DISTINCT ON (event_id) * FROM stage ORDER BY event_id
  ON CONFLICT (event_id) DO NOTHING;
COMMIT;
"""
    script_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"psql_loader_{os.getpid()}.sql")
    with open(script_path, "w") as f:
        f.write(script)
    result = subprocess.run([psql, "-X", "-q", "-f", script_path, url],
                            input=data.encode(), capture_output=True)
    return result.returncode == 0, result.stderr.decode(errors="replace").strip()


def create_table(psql, url, table):
    ddl = f"""CREATE TABLE IF NOT EXISTS {table} (
  event_id text PRIMARY KEY, event_type text NOT NULL, user_id bigint NOT NULL,
  product_id bigint NOT NULL, category text, price numeric(12,2) NOT NULL,
  quantity integer NOT NULL, event_time timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS {table}_event_type ON {table} (event_type);
CREATE INDEX IF NOT EXISTS {table}_user_id ON {table} (user_id);
CREATE INDEX IF NOT EXISTS {table}_product_id ON {table} (product_id);
CREATE INDEX IF NOT EXISTS {table}_event_time ON {table} (event_time);
"""
    result = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", ddl, url],
                            capture_output=True)
    if result.returncode != 0:
        sys.exit(f"psql_loader: cannot create {table}: {result.stderr.decode().strip()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--trigger", default="1s")
    parser.add_argument("--ready-file")
    parser.add_argument("--table", default="events")
    parser.add_argument("--max-files", type=int, default=1000)
    args = parser.parse_args()
    psql = os.environ.get("PSQL") or shutil.which("psql")
    if not psql:
        sys.exit("psql_loader: psql not found: install the PostgreSQL client or set PSQL")
    signal.signal(signal.SIGTERM, on_term)
    create_table(psql, args.database_url, args.table)
    if args.ready_file:
        open(args.ready_file, "w").close()
    every = trigger_seconds(args.trigger)
    seen = set()
    loaded = rejected = skipped = 0
    while not stopping:
        tick = time.monotonic()
        names = sorted(n for n in os.listdir(args.input)
                       if n.endswith(".csv") and not n.startswith(".") and n not in seen)
        batch = names[:args.max_files]
        if batch:
            paths = [os.path.join(args.input, n) for n in batch]
            data, bad = clean_rows(paths)
            ok, error = run_psql(psql, args.database_url, args.table, data)
            if ok:
                rejected += bad
                loaded += data.count("\n")
            else:
                print(f"psql_loader: batch of {len(batch)} files failed ({error}); "
                      "retrying each alone", flush=True)
                for path in paths:
                    one, one_bad = clean_rows([path])
                    ok, error = run_psql(psql, args.database_url, args.table, one)
                    if ok:
                        rejected += one_bad
                        loaded += one.count("\n")
                    else:
                        skipped += 1
                        print(f"psql_loader: {path} left out: {error}", flush=True)
            seen.update(batch)
            print(f"psql_loader: batch of {len(batch)} files; {loaded} rows sent, "
                  f"{rejected} rejected, {skipped} files left out", flush=True)
        time.sleep(max(0.0, every - (time.monotonic() - tick)))
    print("psql_loader: stopped", flush=True)


if __name__ == "__main__":
    main()
