"""The README's code blocks, for the tests that run them as written."""
import os.path as osp
import re

from tiny import REPO


def readme_block(marker):
    """The code block that follows ``<!-- marker -->`` in README.md."""
    with open(osp.join(REPO, 'README.md')) as f:
        text = f.read()
    found = re.search(f'<!-- {marker} -->\n```[a-z]*\n(.*?)```', text,
                      re.DOTALL)
    assert found, f'README.md has no block after <!-- {marker} -->'
    return found.group(1)
