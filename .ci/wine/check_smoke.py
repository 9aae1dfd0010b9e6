"""Checks the smoke run that .ci/windows ran under Wine, independently of
sluice's own pass/fail: exactly one run folder, every expected row found
once (0 missing, 0 duplicated), report.md and its SVG charts written."""

import json
import pathlib
import sys

runs = [p for p in pathlib.Path(sys.argv[1]).iterdir() if p.is_dir()]
if len(runs) != 1:
    sys.exit(f"expected one run folder in {sys.argv[1]}, found {len(runs)}")
run = runs[0]
rows = json.loads((run / "summary.json").read_text(encoding="utf-8"))["rows"]
problems = []
if rows["expected"] <= 0:
    problems.append(f"no rows expected ({rows})")
if rows["missing"] != 0 or rows["duplicates"] != 0 or rows["found"] != rows["expected"]:
    problems.append(f"rows lost or doubled: {rows}")
report = run / "report.md"
if not report.is_file() or report.stat().st_size == 0:
    problems.append("report.md missing or empty")
charts = sorted(p.name for p in run.glob("*.svg"))
if len(charts) < 3:
    problems.append(f"charts missing: {charts}")
if problems:
    sys.exit(f"windows smoke run {run.name}: " + "; ".join(problems))
print(f"windows smoke run {run.name}: {rows['found']}/{rows['expected']} rows, "
      f"0 missing, 0 duplicated, report.md and {len(charts)} charts")
