"""Run ``lightnets ARGS...`` in this process and stop it for real at a chosen moment.

    python tests/interrupted_run.py int STEP -- train ...   # SIGINT to itself at training step STEP
    python tests/interrupted_run.py kill EPOCH -- train ...  # SIGKILL half-way through writing
                                                             # last.pt at the end of epoch EPOCH

The signals are real (``os.kill`` on this process): SIGINT becomes a KeyboardInterrupt wherever the
training loop is, SIGKILL ends the process at once, in the middle of ``torch.save``'s output. Only the
moment is chosen here, so that the tests do not depend on the machine's speed. Used by
tests/test_reproducible_runs.py.
"""

from __future__ import annotations

import os
import signal
import sys

import torch
from torch import nn

from lightnets_course.cli import main


def interrupt_at_step(step: int) -> None:
    forward = nn.CrossEntropyLoss.forward
    calls = 0

    def counting_forward(self, *args, **kwargs):  # the training loss is computed once per step
        nonlocal calls
        calls += 1
        if calls == step:
            os.kill(os.getpid(), signal.SIGINT)
        return forward(self, *args, **kwargs)

    nn.CrossEntropyLoss.forward = counting_forward


def kill_while_saving(epoch: int) -> None:
    save = torch.save

    def half_save(obj, file, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("epoch") == epoch and hasattr(file, "write"):
            save(obj, file, *args, **kwargs)
            file.flush()
            os.ftruncate(file.fileno(), file.tell() // 2)  # half of the checkpoint is on disk ...
            os.kill(os.getpid(), signal.SIGKILL)  # ... when the process dies
        return save(obj, file, *args, **kwargs)

    torch.save = half_save


if __name__ == "__main__":
    how, when, separator, *command = sys.argv[1:]
    assert separator == "--", __doc__
    {"int": interrupt_at_step, "kill": kill_while_saving}[how](int(when))
    sys.exit(main(command))
