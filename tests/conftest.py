"""Fixtures shared by the package tests."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """Run a test's tiny models on one torch thread.

    A second thread gains nothing for small models, and on a busy 2-core runner threads that wait
    for each other make a training step ten times slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
