"""Run the benchmarks: every benchmarks/bench_*.py module's main(), or the ones named.

    python -m benchmarks                         # all of them, in name order
    python -m benchmarks customers --customers 100000
    python -m benchmarks --list

Options after the names are passed to each module's main(argv); modules parse them with
parse_known_args so that one module's options do not upset another. With more than one
benchmark, each runs in its own process (each sets up Django for its own database).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
import time
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )


def main(argv: list[str]) -> int:
    split = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    names, options = argv[:split], argv[split:]
    known = available()
    if "--list" in options:
        print("\n".join(known))
        return 0
    unknown = [n for n in names if n.removeprefix("bench_") not in known]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(known)}")
        return 2
    chosen = [n.removeprefix("bench_") for n in names] or known
    if len(chosen) > 1:
        # One process per benchmark: each sets up Django for its own database.
        failed = []
        for name in chosen:
            done = subprocess.run([sys.executable, "-m", "benchmarks", name, *options])
            if done.returncode:
                failed.append(name)
        if failed:
            print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0
    for name in chosen:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"\n### bench_{name}", flush=True)
        started = time.monotonic()
        if inspect.signature(module.main).parameters:
            module.main(options)
        else:
            module.main()
        print(f"### bench_{name} took {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
