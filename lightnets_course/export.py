"""``lightnets export``: a checkpoint to an ONNX file (and an int8 one), checked against PyTorch.

A thin shell over ``deploy``: load the checkpoint, ``export_onnx``, compare ONNX Runtime's logits with
PyTorch's, and with ``--int8`` ``quantize_int8`` on training images (for CIFAR-10 models the 500 that
ship with the course). Examples::

    lightnets export --checkpoint data/checkpoints/mobilenet_v2.pt --out mnv2.onnx
    lightnets export --checkpoint runs/mnv2 --int8                  # also mnv2.int8.onnx
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

from . import data, deploy
from .checkpoint import load_model
from .data import DATA_CHOICES, get_data

__all__ = ["EXPORT_TOLERANCE", "add_export_command", "run_export"]

# An exported float32 model computes the same logits as PyTorch up to rounding in another order.
EXPORT_TOLERANCE = 1e-3


def add_export_command(commands: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``lightnets export`` to the ``lightnets`` parser's ``commands``."""
    parser = commands.add_parser(
        "export",
        help="export a checkpoint to ONNX, optionally int8, and check it against PyTorch",
        description="Export a checkpoint to an ONNX file that ONNX Runtime (and other runtimes) can run, "
        "check that it computes what PyTorch computes, and with --int8 also write an 8-bit version "
        "calibrated on training images. Needs the [deploy] extra: pip install onnx onnxruntime onnxscript.",
        epilog="""examples:
  lightnets export --checkpoint data/checkpoints/mobilenet_v2.pt --out mnv2.onnx
  lightnets export --checkpoint runs/mnv2 --int8                  # also mnv2.int8.onnx
  lightnets export --checkpoint runs/flowers --int8 --calibration flowers""",
        formatter_class=formatter,
    )
    parser.add_argument(
        "--checkpoint", required=True, help="a .pt file written by training, or its run folder"
    )
    parser.add_argument("--out", default=None, help="the .onnx file to write (default: CHECKPOINT's name)")
    parser.add_argument(
        "--int8",
        action="store_true",
        help="also write OUT with .int8.onnx: weights and activations in 8 bits",
    )
    parser.add_argument(
        "--per-tensor",
        action="store_true",
        help="with --int8: one scale per weight tensor instead of one per output channel",
    )
    parser.add_argument(
        "--calibration",
        default=None,
        help="with --int8: training images to calibrate on: a data set (cifar10, flowers, a folder) "
        "whose training split is used; default for CIFAR-10 models: the 500 shipped training images",
    )
    parser.add_argument(
        "--calibration-images", type=int, default=500, help="with --int8: how many images to calibrate on"
    )
    parser.set_defaults(run=run_export)


def _calibration_images(args: argparse.Namespace, model: nn.Module) -> torch.Tensor:
    """Normalised training images for int8 calibration, as ``--calibration`` asks."""
    count = args.calibration_images
    if count < 1:
        raise ValueError(f"--calibration-images must be at least 1; got {count}")
    if args.calibration is None:
        if list(getattr(model, "class_names", []) or []) != list(data.CIFAR10_CLASSES):
            raise ValueError(
                "--int8 needs --calibration DATA for a model not trained on CIFAR-10: the data set it was "
                f"trained on ({DATA_CHOICES}), whose training images set the int8 ranges"
            )
        return deploy.normalised(data.cifar10_calibration(), model)[:count]
    image_size = model.image_size if isinstance(model.image_size, int) else None
    bundle = get_data(args.calibration, device="cpu", image_size=image_size)
    batches, total = [], 0
    for images, _ in bundle.train:
        batches.append(images)
        total += len(images)
        if total >= count:
            break
    return torch.cat(batches)[:count]


def _kilobytes(path: Path) -> str:
    return f"{path.stat().st_size / 1024:,.0f} KB"


def run_export(args: argparse.Namespace) -> int:
    missing = deploy.deploy_packages_missing()
    if missing:
        raise deploy.MissingDeployPackage(
            f"lightnets export needs {', '.join(missing)}, which is not installed. Run: {deploy.INSTALL_DEPLOY}"
        )
    model = load_model(args.checkpoint, device="cpu")
    source = Path(args.checkpoint)
    out = Path(args.out) if args.out else Path(f"{source.stem if source.suffix else source.name}.onnx")
    deploy.export_onnx(model, out)
    calibration = _calibration_images(args, model) if args.int8 else None
    check_images = (
        calibration[:256]
        if calibration is not None
        else torch.randn(
            16, 3, model.image_size, model.image_size, generator=torch.Generator().manual_seed(0)
        )
    )
    check = deploy.check_export(model, deploy.onnx_session(out), check_images)
    print(f"wrote {out} ({_kilobytes(out)}); ONNX Runtime against PyTorch on {check}")
    if check.max_abs_diff > EXPORT_TOLERANCE:
        print(
            f"lightnets export: the exported model differs from PyTorch by more than {EXPORT_TOLERANCE}",
            file=sys.stderr,
        )
        return 1
    if calibration is not None:
        int8_out = out.with_suffix(".int8.onnx")
        deploy.quantize_int8(out, int8_out, calibration, per_channel=not args.per_tensor)
        int8_check = deploy.check_export(model, deploy.onnx_session(int8_out), check_images)
        scales = "one scale per weight tensor" if args.per_tensor else "one scale per output channel"
        print(
            f"wrote {int8_out} ({_kilobytes(int8_out)}; int8, {scales}, calibrated on {len(calibration)} "
            f"training images); the same class as PyTorch for {100 * int8_check.agreement:.1f}% of them"
        )
    return 0
