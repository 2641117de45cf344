"""``mmdet-ohem TOOL [ARGS]``: the tools of the installed package, from any
folder, each with its own ``--help``.

``mim run mmdet_ohem TOOL`` runs the same files, but its help path knows
only OpenMMLab's own packages: ``mim run mmdet_ohem TOOL --help`` prints
mim's "not an OpenMMLab codebase" instead of the tool's help.
"""
import argparse
import ast
import os
import os.path as osp
import runpy
import sys
from typing import Dict, List, Optional

# tools/ of a clone, linked (editable install) or copied (wheel) here
TOOLS = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim', 'tools')


def doc_parser(doc: str) -> argparse.ArgumentParser:
    """A tool's parser from its docstring: the first line describes it, the
    paragraphs after the first blank line (usage, details) close its
    ``--help`` as written."""
    first, _, rest = doc.strip().partition('\n')
    return argparse.ArgumentParser(
        description=first,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=rest.strip('\n'))


def tools() -> Dict[str, str]:
    """Tool name -> the first line of its docstring, read without running
    the tool."""
    found = {}
    for name in sorted(os.listdir(TOOLS)):
        if name.endswith('.py'):
            with open(osp.join(TOOLS, name)) as f:
                doc = ast.get_docstring(ast.parse(f.read())) or ''
            found[name[:-3]] = doc.strip().splitlines()[0] if doc else ''
    return found


def usage() -> str:
    listed = tools()
    width = max(map(len, listed))
    return ('usage: mmdet-ohem TOOL [ARGS]   (mmdet-ohem TOOL --help: the '
            "tool's options)\n\ntools:\n" +
            '\n'.join(f'  {name:<{width}}  {doc}'
                      for name, doc in listed.items()))


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ('-h', '--help'):
        print(usage())
        return 0
    name = argv[0][:-3] if argv[0].endswith('.py') else argv[0]
    if name not in tools():
        print(f'mmdet-ohem: no tool {argv[0]!r}\n\n{usage()}', file=sys.stderr)
        return 2
    path = osp.join(TOOLS, f'{name}.py')
    sys.argv = [path] + argv[1:]
    try:
        runpy.run_path(path, run_name='__main__')
    except SystemExit as done:  # the tool's own exit status
        return done.code if isinstance(
            done.code, int) else (0 if done.code is None else 1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
