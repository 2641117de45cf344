"""Whole-or-nothing file writes."""
import os
import os.path as osp


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it.

    A reader sees the old file or the new one, never a half-written one;
    the temporary file is removed if the write fails.
    """
    tmp_path = f'{path}.{os.getpid()}.tmp'
    try:
        with open(tmp_path, 'wb') as f:
            f.write(data)
        os.replace(tmp_path, path)
    finally:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
