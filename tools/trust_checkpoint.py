"""Convert a checkpoint you trust so that it loads with weights_only=True.

Example:
    python tools/trust_checkpoint.py work_dirs/old.pth work_dirs/new.pth \
        --trust
"""
import argparse
import sys

# Importing the package registers the reducer, allowlist and loader.
from mmdet_ohem.engine.checkpoint import convert_trusted_checkpoint
from mmdet_ohem.errors import UnsafeCheckpointError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='checkpoint to convert')
    parser.add_argument('dst', help='where to write the converted checkpoint')
    parser.add_argument(
        '--trust',
        action='store_true',
        help='confirm that you trust SRC: converting unpickles it with '
        'weights_only=False, which runs any code it contains')
    args = parser.parse_args(argv)
    if not args.trust:
        parser.error(
            f'refusing to convert {args.src} without --trust: it is loaded '
            'with weights_only=False, which runs any code the file '
            'contains. Pass --trust only for a file whose origin you trust.')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        convert_trusted_checkpoint(args.src, args.dst)
    except UnsafeCheckpointError as err:
        sys.exit(f'error: {err}')
    print(f'Wrote {args.dst}. It loads with torch.load(weights_only=True) '
          'in any process that imports mmdet_ohem (our configs do, through '
          'custom_imports, so mim train/test load it); a bare torch.load '
          'also needs torch.serialization.add_safe_globals with '
          'mmdet_ohem.engine.checkpoint.SAFE_GLOBALS (its message hub holds '
          "mmengine's HistoryBuffer and numpy numbers).")


if __name__ == '__main__':
    main()
