"""Fixtures of the codelm tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    """Run torch on one thread (much faster on a shared, loaded CPU); restore afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
