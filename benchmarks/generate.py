"""Generated ame.yml files for the benchmarks: a large realistic project and a merge-key one.

`generate_project(n_tasks)` writes templates, tasks (tag and map executor spellings, template
references, data sets, schedules), pipelines over the tasks, data sets and models with
training/validation task references: ≈ 9 lines a task, so 1,450 tasks ≈ 13,000 lines.
`generate_merge_keys(n)` writes n tasks that each pull shared settings in through `<<: *anchor`
(≈ 8 lines a key).

    python benchmarks/generate.py project 1450 > big/ame.yml
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_SCRIPT = re.compile(r"command: python (\S+\.py)")


def write_project_files(folder: Path, text: str) -> None:
    """The files a generated project's tasks run (requirements.txt, each `python step_N.py`),
    empty: a real project has them, and without them every task gets a warning (AME403/404)."""
    (folder / "requirements.txt").write_text("")
    for script in set(_SCRIPT.findall(text)):
        (folder / script).write_text("")


def generate_project(n_tasks: int = 1450) -> str:
    n_templates = max(2, n_tasks // 50)
    out = ["project: bench", "", "templates:"]
    for t in range(n_templates):
        out += [
            f"  - name: tmpl_{t}",
            "    resources:",
            f"      cpu: {1 + t % 4}",
            f"      memory: {1 + t % 8}Gi",
            "    environment:",
            f"      - key: TEMPLATE_{t}",
            '        val: "yes"',
        ]
    n_pipelines = max(1, n_tasks // 25)
    plain = n_tasks - n_pipelines
    n_data_sets = max(1, n_tasks // 20)
    out += ["", "dataSets:"]
    for d in range(n_data_sets):
        out += [
            f"  - name: ds_{d}",
            f"    path: data/ds_{d}.csv",
            "    task:",
            f"      taskRef: task_{min(d * 20, plain - 1)}",
            "    size: 10Gi",
        ]
    out += ["", "tasks:"]
    for i in range(plain):
        out.append(f"  - name: task_{i}")
        out.append(f"    fromTemplate: tmpl_{i % n_templates}")
        if i % 3 == 0:
            out += [
                "    executor:",
                "      pip:",
                '        pythonVersion: "3.11"',
                f"        command: python step_{i}.py",
            ]
        else:
            out += [
                "    executor: !poetry",
                '      pythonVersion: "3.12"',
                f"      command: python step_{i}.py --seed {i}",
            ]
        if i % 2 == 0:
            out += ["    resources:", f"      cpu: {500 + i % 7 * 100}m"]
        if i % 4 == 1:
            out += ["    artifacts:", "      paths:", f"        - out/model_{i}.pkl"]
        if i % 3 == 2:
            out += ["    environment:", "      - key: STEP", f'        val: "{i}"']
        if i % 20 == 5:
            out += ["    dataSets:", f"      - ds_{(i // 20) % n_data_sets}"]
        if i % 50 == 7:
            out += ["    triggers:", '      schedule: "0 2 * * 1-5"']
    for p in range(n_pipelines):
        base = (p * 25) % max(1, plain - 3)
        out += [
            f"  - name: pipeline_{p}",
            "    pipeline:",
            f"      - taskRef: task_{base}",
            f"      - - taskRef: task_{base + 1}",
            f"        - taskRef: task_{base + 2}",
            f"      - taskRef: task_{base + 3}",
        ]
    n_models = max(1, n_tasks // 30)
    out += ["", "models:"]
    for m in range(n_models):
        out += [
            f"  - name: model_{m}",
            "    training:",
            "      task:",
            f"        taskRef: task_{(m * 7) % plain}",
            "    validation:",
            "      task:",
            f"        taskRef: task_{(m * 7 + 1) % plain}",
            "    deployment:",
            "      autoDeploy: true",
            "      resources:",
            "        cpu: 1",
            "        memory: 2Gi",
        ]
    return "\n".join(out) + "\n"


def generate_merge_keys(n: int = 1000) -> str:
    out = [
        "project: merge_bench",
        "",
        "templates:",
        "  - name: base",
        "    resources:",
        "      cpu: 1",
        "",
        "tasks:",
        "  - name: shared",
        "    executor: &shared_executor !pip",
        '      pythonVersion: "3.11"',
        "      command: python shared.py",
        "    resources: &shared_resources",
        "      cpu: 1",
        "      memory: 1Gi",
    ]
    for i in range(n):
        out += [
            f"  - name: merged_{i}",
            "    fromTemplate: base",
            "    executor: *shared_executor",
            "    resources:",
            "      <<: *shared_resources",
            f"      storage: {i % 9 + 1}Gi",
            "    environment:",
            f"      - {{key: INDEX, val: '{i}'}}",
        ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    kind = sys.argv[1] if len(sys.argv) > 1 else "project"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else (1450 if kind == "project" else 1000)
    text = generate_project(count) if kind == "project" else generate_merge_keys(count)
    sys.stdout.write(text)
