"""Do the speed conclusions the notebooks print in fast mode hold when the cells are run again?

Reruns, several times, the fast-mode measurements whose conclusions the notebooks print:

- 02: the standard against the depthwise-separable layer, and whether the time saved is below the
  MACs saved;
- 05: swish against h-swish on a 96 x 28 x 28 feature map;
- 06: ShuffleNetV2's guideline experiments G1-G4 at the paper's x1 widths, and concat + shuffle +
  split merged into one operation;
- 07: whether MACs or memory access ranks the models' latencies better (its fast-mode timing: one
  thread, 1 warm-up, 3 runs);
- 08, where the deploy packages are installed: eager PyTorch against ONNX Runtime float32 and int8
  (per channel) for the shipped networks, at 1 thread and every core, and G1/G4 in ONNX Runtime.

For every comparison it prints the verdict of each run, and flags a comparison whose runs reach
*opposite* clear conclusions ("no clear difference here" in one run and a direction in another is
allowed: that is what a verdict near the noise looks like). Exit status 1 if any conclusion flips.
Run it on an idle machine::

    python scripts/check_stable_conclusions.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

from lightnets_course import deploy
from lightnets_course.benchmark import latency_table
from lightnets_course.comparison import latency_rank_correlations, ranking_verdict
from lightnets_course.complexity import profile
from lightnets_course.datasets import cifar10_calibration
from lightnets_course.guidelines import GUIDELINES, guideline, guideline_verdicts
from lightnets_course.machine import describe_machine, machine_info
from lightnets_course.models import get_model, list_models
from lightnets_course.models.blocks import ConcatShuffleSplit, DepthwiseSeparable
from lightnets_course.shipped import list_pretrained_cifar10, load_pretrained_cifar10
from lightnets_course.timing import compare_speed


def _direction(verdict: str) -> str | None:
    for word in ("same direction", "opposite direction"):
        if word in verdict:
            return word
    if "faster than" in verdict:
        return verdict.split(" is ")[0]  # which one was faster
    if verdict.startswith("time saved here"):
        return verdict
    if "ranks the latency better" in verdict or "rank the latency better" in verdict:
        return verdict.split(" rank")[0]  # which cost ranked better
    return None


def deployment_variants(folder: Path) -> dict[str, dict[str, object]]:
    """Notebook 08's candidates: each shipped network eager, exported, and int8 per channel (fast mode)."""
    calibration = cifar10_calibration().subset(range(0, 500, 5))  # fast mode's 100 images
    variants = {}
    for name in ("mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x0_5"):  # notebook 08's MODELS
        if name in list_pretrained_cifar10():
            model = load_pretrained_cifar10(name, "cpu")
        else:  # as notebook 08 does: an untrained stand-in, as fast as the trained network
            model = get_model(name, num_classes=10, cifar=True).eval()
        exported = deploy.export_onnx(model, folder / f"{name}.onnx")
        int8 = deploy.quantize_int8(exported, folder / f"{name}.int8.onnx", calibration, model=model)
        variants[name] = {"PyTorch eager": model, "ORT float32": exported, "ORT int8": int8}
    return variants


def deployment_verdicts(variants: dict[str, dict[str, object]]) -> dict[str, str]:
    """One fast-mode run of notebook 08's latency verdicts and of G1/G4 in ONNX Runtime."""
    threads = [1, os.cpu_count() or 1]
    latency = deploy.compare_runtimes(
        variants, threads=threads, rounds=3, warmup=3, repeats=5, min_seconds=0.0
    )
    verdicts = {}
    for count in threads:
        for name in variants:
            for first, second in (("PyTorch eager", "ORT float32"), ("ORT float32", "ORT int8")):
                comparison = deploy.speedup(latency, (name, first), (name, second), count)
                verdicts[f"08 {name} {first} vs {second}, {count} thread(s)"] = comparison.verdict()
    for name in ("G1", "G4"):
        for line in guideline_verdicts(guideline(name, runtime="onnxruntime", fast=True)):
            verdicts[f"08 {name} {line.split(': here')[0].strip()} (ONNX Runtime)"] = line
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="how many times to rerun each measurement")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(describe_machine(machine_info("cpu")))
    verdicts: dict[str, list[str]] = {}
    # Notebook 02: MobileNetV1's Table 3 layer, standard against depthwise-separable (M = N = 512, 14x14).
    standard = nn.Conv2d(512, 512, 3, padding=1, bias=False).eval()
    separable = DepthwiseSeparable(512, 512).eval()
    macs_saved = profile(standard, (512, 14, 14)).macs / profile(separable, (512, 14, 14)).macs
    # Notebook 07: every course model at 224x224, batch 1, as its fast mode times them.
    models = {name: get_model(name) for name in list_models()}
    for _ in range(args.runs):
        result = compare_speed(
            standard, separable, (512, 14, 14), ("standard", "separable"), min_seconds=0.06
        )
        verdicts.setdefault("02 standard vs separable", []).append(result.verdict())
        if result.clear and result.ratio > 1:  # what notebook 02 prints under its verdict
            saved = f"time saved here {'<' if result.ratio < macs_saved else '>='} MACs saved"
            verdicts.setdefault("02 time saved vs MACs saved", []).append(saved)
        seam = compare_speed(
            ConcatShuffleSplit(merged=False),
            ConcatShuffleSplit(merged=True),
            (116, 28, 28),
            ("three operations", "merged"),
            threads=1,
        )
        verdicts.setdefault("06 concat + shuffle + split, merged", []).append(seam.verdict())
        activations = compare_speed(nn.SiLU(), nn.Hardswish(), (96, 28, 28), ("swish", "h-swish"), threads=1)
        verdicts.setdefault("05 swish vs h-swish", []).append(activations.verdict())
        for name in GUIDELINES:
            for line in guideline_verdicts(guideline(name, 1, "cpu", fast=True)):
                verdicts.setdefault(f"06 {name} {line.split(': here')[0].strip()}", []).append(line)
        timings = latency_table(
            models,
            (3, 224, 224),
            batch_sizes=(1,),
            device="cpu",
            warmup=1,
            repeats=3,
            min_seconds=0.0,
            threads=1,
        )
        verdicts.setdefault("07 MACs vs mem_access", []).append(
            ranking_verdict(latency_rank_correlations(timings))
        )
    if deploy.deploy_packages_missing():
        print(f"notebook 08 skipped: {deploy.INSTALL_DEPLOY}")
    else:
        with tempfile.TemporaryDirectory() as folder:
            variants = deployment_variants(Path(folder))
            for _ in range(args.runs):
                for comparison, line in deployment_verdicts(variants).items():
                    verdicts.setdefault(comparison, []).append(line)
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
