"""Convert ImageNet VGG weights into the initial weights of our configs.

    python tools/convert_vgg.py vgg16-397923af.pth \
        checkpoints/vgg16_fast_rcnn_init.pth
    python tools/convert_vgg.py --arch vgg_cnn_m_1024 VGG_CNN_M_1024.npz \
        checkpoints/vgg_cnn_m_1024_fast_rcnn_init.pth

Prints how every source key mapped. See mmdet_ohem/models/convert.py.
"""
import argparse

from mmdet_ohem.engine.checkpoint import save_checkpoint_safely
from mmdet_ohem.models.convert import (KEY_MAPS, convert_vgg_state_dict,
                                       load_source_weights)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='ImageNet weights (.pth or .npz)')
    parser.add_argument('dst', help='converted checkpoint to write')
    parser.add_argument(
        '--arch',
        default='vgg16',
        choices=sorted(KEY_MAPS),
        help='layout of src (default: torchvision vgg16)')
    return parser.parse_args()


def main():
    args = parse_args()
    state_dict, report = convert_vgg_state_dict(
        load_source_weights(args.src), args.arch)
    width = max(len(src) for src, _ in report)
    for src, dst in report:
        shape = tuple(state_dict[dst].shape) if dst else ''
        print(f'{src:<{width}} -> {dst or "(dropped)"} {shape}')
    save_checkpoint_safely(
        dict(
            state_dict=state_dict,
            meta=dict(converted_from=args.src, arch=args.arch)), args.dst)
    print(f'wrote {len(state_dict)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
