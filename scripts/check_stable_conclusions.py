"""Do the speed conclusions the notebooks print in fast mode hold when the cells are run again?

Reruns, several times, the fast-mode measurements whose conclusions notebooks 02 and 06 print: the
standard against the depthwise-separable layer (notebook 02) and ShuffleNetV2's guideline
experiments G1-G4 at the paper's x1 widths (notebook 06). For every comparison it prints the verdict
of each run, and flags a comparison whose runs reach *opposite* clear conclusions ("no clear
difference here" in one run and a direction in another is allowed: that is what a verdict near the
noise looks like). Exit status 1 if any conclusion flips. Run it on an idle machine::

    python scripts/check_stable_conclusions.py --runs 5
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch import nn

from lightnets_course.guidelines import GUIDELINES, guideline, guideline_verdicts
from lightnets_course.machine import describe_machine, machine_info
from lightnets_course.models.blocks import DepthwiseSeparable
from lightnets_course.timing import compare_speed


def _direction(verdict: str) -> str | None:
    for word in ("same direction", "opposite direction"):
        if word in verdict:
            return word
    if "faster than" in verdict:
        return verdict.split(" is ")[0]  # which one was faster
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="how many times to rerun each measurement")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(describe_machine(machine_info("cpu")), f"load average {machine_info('cpu')['load_average']}")
    verdicts: dict[str, list[str]] = {}
    # Notebook 02: MobileNetV1's Table 3 layer, standard against depthwise-separable (M = N = 512, 14x14).
    standard = nn.Conv2d(512, 512, 3, padding=1, bias=False).eval()
    separable = DepthwiseSeparable(512, 512).eval()
    for _ in range(args.runs):
        result = compare_speed(
            standard, separable, (512, 14, 14), ("standard", "separable"), min_seconds=0.06
        )
        verdicts.setdefault("02 standard vs separable", []).append(result.verdict())
        for name in GUIDELINES:
            for line in guideline_verdicts(guideline(name, 1, "cpu", fast=True)):
                verdicts.setdefault(f"06 {name} {line.split(': here')[0].strip()}", []).append(line)
    flipped = 0
    for comparison, lines in verdicts.items():
        directions = {direction for direction in map(_direction, lines) if direction is not None}
        flip = len(directions) > 1
        flipped += flip
        clear = sum(_direction(line) is not None for line in lines)
        print(
            f"{'FLIPS' if flip else 'holds'}  {comparison}: {clear} of {len(lines)} runs clear; {sorted(directions) or ['no clear difference']}"
        )
    print(f"{flipped} of {len(verdicts)} conclusions flip between runs")
    return 1 if flipped else 0


if __name__ == "__main__":
    sys.exit(main())
