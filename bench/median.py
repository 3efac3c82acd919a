"""Median of several runs of a benchmark: `python -m bench.median a.json b.json [...]`.

Numbers are replaced by their median over the runs (booleans: true only if true in
every run); everything else is taken from the first run. One JSON line on stdout.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

import orjson


def median_of(values: list[Any]) -> Any:
    """The median of the same field over several runs."""
    first = values[0]
    if isinstance(first, bool):
        return all(v is True for v in values)
    if isinstance(first, int | float):
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        return round(statistics.median(numbers), 3) if numbers else first
    if isinstance(first, dict):
        return {
            key: median_of([v.get(key) for v in values if isinstance(v, dict) and key in v])
            for key in first
        }
    return first


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    runs = [orjson.loads(Path(p).read_text().splitlines()[-1]) for p in argv]
    out = median_of(runs)
    out["median_of_runs"] = len(runs)
    out["runs"] = [r.get("started_at") for r in runs]
    print(orjson.dumps(out).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
