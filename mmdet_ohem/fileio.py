"""Files in and out: whole-or-nothing writes, the package's one way to
write a file a reader may see while it is written, and the complete decode
of an image."""
import contextlib
import os
import os.path as osp
import uuid
from typing import IO, Iterator, Tuple, Union

from .errors import DataFileError, MissingDataError


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


def read_image(path: str) -> Tuple[int, int]:
    """Decode an image completely; return its ``(width, height)``.

    Raises:
        MissingDataError: The file does not exist.
        DataFileError: The file cannot be decoded, or its data ends early
            (a truncated JPEG or PNG, which OpenCV would fill with grey).
    """
    from PIL import Image
    try:
        with Image.open(path) as img:
            img.load()  # raises for truncated data, unlike cv2.imread
            return img.size
    except FileNotFoundError as e:
        raise MissingDataError(f'{path}: the image does not exist.') from e
    except (OSError, SyntaxError, ValueError) as e:
        raise DataFileError(f'{path}: the image does not decode '
                            f'completely ({e}).') from e
