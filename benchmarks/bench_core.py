"""Speed of the foundation, each figure beside its peer.

1. load + resolve + all checks on a generated ~13,000-line ame.yml (target ≤ 250 ms), beside the
   floor: PyYAML's C parser producing just the event stream of the same text (`yaml.parse` with
   CSafeLoader). Aim: ≤ 3× the floor.
2. 9,000 lines with ~900 merge keys (target ≤ 300 ms), beside the same floor.
3. `ame lint examples/quickstart/ame.yml` as a whole process (target ≤ 0.5 s wall), beside
   `check-jsonschema --schemafile schema/ame.schema.json` on the same file in map spelling.

    python benchmarks/bench_core.py [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from generate import generate_merge_keys, generate_project  # noqa: E402

from ame_core.engine import analyze  # noqa: E402
from ame_core.views import project_view  # noqa: E402


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def floor(text: str) -> None:
    for _ in yaml.parse(text, Loader=yaml.CSafeLoader):
        pass


def analyze_ms(text: str, repeat: int) -> tuple[float, float]:
    """(median of `analyze` alone, with its result kept until the clock stops; mean per
    analysis of `repeat` in a row including freeing each result and the collections they
    cause). The second is what a process that checks again and again pays."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = analyze(text)
        times.append((time.perf_counter() - started) * 1000)
        del result
    gc.collect()
    started = time.perf_counter()
    for _ in range(repeat):
        analyze(text)
    gc.collect()
    return statistics.median(times), (time.perf_counter() - started) * 1000 / repeat


def in_process(label: str, text: str, target_ms: float, repeat: int) -> None:
    analysis = analyze(text)  # warm-up (and a sanity check that the file is clean)
    ours, with_cleanup = analyze_ms(text, repeat)
    base = median_ms(lambda: floor(text), repeat)
    lines = text.count("\n")
    verdict = "ok" if ours <= target_ms else "OVER TARGET"
    print(
        f"{label}: {lines:,} lines, {len(analysis.diagnostics)} diagnostics\n"
        f"  ame analyze (load+resolve+checks): {ours:7.1f} ms  (target ≤ {target_ms:.0f} ms: {verdict})\n"
        f"    with freeing and collection:     {with_cleanup:7.1f} ms\n"
        f"  floor, CSafeLoader event stream:   {base:7.1f} ms\n"
        f"  ratio ame / floor:                 {ours / base:7.2f}×  (aim ≤ 3×)"
    )


def process_wall(cmd: list[str], repeat: int) -> float:
    # As a user runs it: with bytecode caches (some sandboxes set PYTHONDONTWRITEBYTECODE,
    # which would recompile every module of every dependency on each start).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def run() -> None:
        subprocess.run(cmd, capture_output=True, check=False, env=env)

    run()
    return median_ms(run, repeat)


def whole_process(repeat: int) -> None:
    bin_dir = Path(sys.executable).parent
    quickstart = REPO / "examples" / "quickstart" / "ame.yml"
    analysis = analyze(quickstart.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        map_spelling = Path(tmp) / "ame.yml"
        map_spelling.write_text(yaml.safe_dump(project_view(analysis.project), sort_keys=False))
        ours = process_wall([str(bin_dir / "ame"), "lint", str(quickstart)], repeat)
        peer = process_wall(
            [
                str(bin_dir / "check-jsonschema"),
                "--schemafile",
                str(REPO / "schema" / "ame.schema.json"),
                str(map_spelling),
            ],
            repeat,
        )
    verdict = "ok" if ours <= 500 else "OVER TARGET"
    print(
        "whole process on examples/quickstart/ame.yml\n"
        f"  ame lint:                          {ours:7.1f} ms  (target ≤ 500 ms: {verdict})\n"
        f"  check-jsonschema (map spelling):   {peer:7.1f} ms\n"
        f"  ratio check-jsonschema / ame:      {peer / ours:7.2f}×"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    in_process("generated project", generate_project(1450), 250, args.repeat)
    in_process("merge keys", generate_merge_keys(1000), 300, args.repeat)
    whole_process(max(5, args.repeat // 2))


if __name__ == "__main__":
    main()
