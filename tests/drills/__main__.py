"""``python -m tests.drills [drill ...]``: run the outage drills under load and print the table.

Everything runs on loopback against servers started here: a PostgreSQL for the whole run, and
for each drill its own redis-server (AOF), database, router (2 workers) and module.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .report import DrillRow, print_table
from .runner import RATE, run_drill
from .scenarios import DRILLS
from .servers import Postgres


def _arguments() -> argparse.Namespace:
    names = [drill.name for drill in DRILLS]
    parser = argparse.ArgumentParser(prog="python -m tests.drills", description=__doc__)
    parser.add_argument(
        "drills",
        nargs="*",
        metavar="DRILL",
        help=f"drills to run (default: all): {', '.join(names)}",
    )
    parser.add_argument("--rate", type=float, default=RATE, help="requests a second")
    parser.add_argument("--scale", type=float, default=1.0, help="stretch every drill's clock")
    parser.add_argument("--keep", action="store_true", help="keep the logs and data directory")
    arguments = parser.parse_args()
    unknown = sorted(set(arguments.drills) - set(names))
    if unknown:
        parser.error(f"no drill named {', '.join(unknown)}; pick from {', '.join(names)}")
    return arguments


async def main() -> int:
    arguments = _arguments()
    chosen = [d for d in DRILLS if not arguments.drills or d.name in arguments.drills]
    directory = Path(tempfile.mkdtemp(prefix="rh-drills-"))
    postgres = Postgres(directory)
    rows: list[DrillRow] = []
    started = time.monotonic()
    try:
        admin_url = await asyncio.to_thread(postgres.start)
        for drill in chosen:
            try:
                rows.append(
                    await run_drill(
                        drill,
                        directory / drill.name,
                        admin_url,
                        postgres,
                        rate=arguments.rate,
                        scale=arguments.scale,
                    )
                )
            except Exception as error:  # one broken drill must not hide the others' rows
                print(f"drill {drill.name} could not run: {error!r}", file=sys.stderr)
    finally:
        await asyncio.to_thread(postgres.stop)
        if arguments.keep:
            print(f"logs and data kept in {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    print_table(rows)
    print(f"\n{len(rows)} of {len(chosen)} drills ran in {time.monotonic() - started:.0f} s")
    return 0 if len(rows) == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
