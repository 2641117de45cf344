"""Whole-or-nothing file writes: the package's one way to write a file a
reader may see while it is written."""
import contextlib
import os
import os.path as osp
import uuid
from typing import IO, Iterator, Union


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path beside ``path`` that becomes ``path`` on success.

    A reader sees the old file or the new one, never a half-written one;
    the temporary file is removed if the block raises. The folder is made
    if needed.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(
        folder,
        f'.{osp.basename(path)}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp')
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'wb') -> Iterator[IO]:
    """``open(path, mode)`` through :func:`atomic_path`."""
    with atomic_path(path) as tmp:
        with open(tmp, mode) as f:
            yield f


def write_atomic(path: str, data: Union[bytes, str]) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_open`."""
    with atomic_open(path, 'wb' if isinstance(data, bytes) else 'w') as f:
        f.write(data)
