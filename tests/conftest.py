"""Fixtures shared by the test suite (``tests/corpus.py`` holds the malformed-file corpus)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cpgym.instances import JobShopInstance, load


@pytest.fixture(scope="session")
def ft06() -> JobShopInstance:
    """Fisher & Thompson's 6x6 instance (optimum 55), with its bounds."""
    return load("ft06")


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """``write_file(name, content)``: a file under the test's tmp folder holding text or bytes."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    return write


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny graphs: one intra-op torch thread is fastest (and avoids spinning on a busy machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
