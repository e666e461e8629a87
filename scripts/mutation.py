"""`make mutation`: run mutmut over the security modules and print the score.

    python scripts/mutation.py            # run (results are cached in mutants/), then report
    python scripts/mutation.py --report   # report the last run only
    python scripts/mutation.py --fresh    # forget cached results first
    python scripts/mutation.py --survivors  # re-run only the live mutants (after new tests)
    python scripts/mutation.py 'llmseal.core.keyset.*'   # only these mutants

The modules are ``[tool.mutmut] only_mutate`` in pyproject.toml. mutmut records which
tests reach each function and runs only those per mutant. Equivalent mutants (no test
can tell them apart from the original) are listed with a reason in
tests/mutation/equivalent.txt and left out of the denominator, never silently: a listed
mutant that is killed or no longer exists is reported as stale.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "tests" / "mutation" / "equivalent.txt"
SURVIVORS = ROOT / "mutants" / "survivors.txt"
DETECTED = {"killed", "timeout", "caught by type check", "segfault"}


def _statuses() -> dict[str, str]:
    from mutmut.stats import status_by_exit_code

    found: dict[str, str] = {}
    for meta in (ROOT / "mutants").rglob("*.py.meta"):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        found.update({name: status_by_exit_code[code] for name, code in codes.items()})
    return found


def _equivalent() -> dict[str, str]:
    listed: dict[str, str] = {}
    for number, line in enumerate(EQUIVALENT.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, reason = line.partition("#")
        if not sep or not reason.strip():
            raise SystemExit(f"{EQUIVALENT}:{number}: every equivalent mutant needs '# reason'")
        listed[name.strip()] = reason.strip()
    return listed


def _test_paths() -> dict[str, tuple[str, ...]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    table = config["tool"]["llmseal"]["mutation"]["tests"]
    return {module: tuple(paths) for module, paths in table.items()}


def _allowed(module: str, paths: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The test paths for ``module``: the longest module prefix in ``paths`` that matches."""
    matches = [m for m in paths if module == m or module.startswith(m + ".")]
    return paths[max(matches, key=len)] if matches else ()


def _restrict_tests(mutmut_main: Any) -> None:
    """Keep, per mutated function, only the tests under its module's configured paths."""
    from mutmut.stats import save_stats

    paths = _test_paths()
    by_function = mutmut_main.state().tests_by_mangled_function_name
    before = sum(len(tests) for tests in by_function.values())
    for function, tests in by_function.items():
        allowed = _allowed(_module(function), paths)
        by_function[function] = {t for t in tests if t.split("::")[0].startswith(allowed)}
    after = sum(len(tests) for tests in by_function.values())
    save_stats()
    print(f"    test selection: {after} of {before} (function, test) pairs kept")


def _run_mutmut(names: list[str]) -> int:
    """``mutmut run`` in this process, with the per-module test selection applied."""
    os.environ["LLMSEAL_MUTATION"] = "1"  # tests/helpers.examples(): fewer hypothesis examples
    os.nice(19)  # a shared 2-core machine: everyone else goes first
    import mutmut.__main__ as mutmut_main

    original = mutmut_main.collect_or_load_stats

    def collect_then_restrict(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        _restrict_tests(mutmut_main)

    mutmut_main.collect_or_load_stats = collect_then_restrict
    try:
        mutmut_main.cli(["run", *names], standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _module(name: str) -> str:
    return name.split(".x\u01c1")[0].split(".x_")[0]


def report() -> float:
    statuses, equivalent = _statuses(), _equivalent()
    if not statuses:
        raise SystemExit("no mutmut results: run `make mutation` first")
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    for name, status in sorted(statuses.items()):
        counts = by_module[_module(name)]
        if name in equivalent and status not in DETECTED:
            counts["equivalent"] += 1
            continue
        counts["detected" if status in DETECTED else status] += 1
        if status not in DETECTED and status != "not checked":
            survivors.append(f"{name}: {status}")
    stale = [n for n in equivalent if n not in statuses or statuses[n] in DETECTED]
    total: Counter[str] = Counter()
    print(f"{'module':40} {'mutants':>7} {'killed':>7} {'surv.':>6} {'no test':>7} "
          f"{'equiv.':>6} {'score':>7}")  # fmt: skip
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        print(_row(module, counts))
    print(_row("total", total))
    pending = total["not checked"]
    if pending:
        print(f"{pending} mutants not checked yet (interrupted run?)")
    SURVIVORS.write_text("".join(f"{line}\n" for line in survivors))
    print(f"{len(survivors)} live mutants listed in {SURVIVORS.relative_to(ROOT)} "
          "(`mutmut show NAME` prints one)")  # fmt: skip
    for name in stale:
        print(f"stale entry in {EQUIVALENT.relative_to(ROOT)}: {name} (killed or gone)")
    return _score(total)


def _score(counts: Counter[str]) -> float:
    live = sum(counts.values()) - counts["equivalent"] - counts["not checked"]
    return counts["detected"] / live if live else 1.0


def _row(module: str, counts: Counter[str]) -> str:
    return (
        f"{module:40} {sum(counts.values()):7} {counts['detected']:7} {counts['survived']:6} "
        f"{counts['no tests']:7} {counts['equivalent']:6} {_score(counts):7.1%}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="report the last run only")
    parser.add_argument("--fresh", action="store_true", help="discard cached results")
    parser.add_argument("--survivors", action="store_true", help="re-run the live mutants")
    parser.add_argument("mutants", nargs="*", help="mutant name globs (default: all)")
    args = parser.parse_args()
    os.chdir(ROOT)
    if args.survivors:
        # Named mutants are re-run even with a cached result; new tests are picked up.
        lines = SURVIVORS.read_text(encoding="utf-8").splitlines() if SURVIVORS.exists() else []
        args.mutants += [line.split(":")[0] for line in lines if line]
        if not args.mutants:
            raise SystemExit("no live mutants recorded: run `make mutation` first")
    if args.fresh:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    if not args.report:
        status = _run_mutmut(args.mutants)
        if status:
            print(f"mutmut exited with {status}", file=sys.stderr)
            return status
    score = report()
    print(f"mutation score: {score:.1%} of non-equivalent mutants killed (target 90%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
