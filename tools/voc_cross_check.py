"""A test run's mAP by the config's metric and by the VOC devkit's rules.

The config's own test pipeline and metric, and an independent
transcription of the VOC devkit reading the XML files, score the same
detections. They must agree; a difference names a bug in one of them.

    mim test mmdet CONFIG --checkpoint CKPT --out dets.pkl
    python tools/voc_cross_check.py CONFIG dets.pkl [--cfg-options k=v ...]
"""
import pickle

from mmdet.utils import register_all_modules
from mmengine.config import Config, DictAction

from mmdet_ohem.workbench.cli import doc_parser
from mmdet_ohem.workbench.voc_devkit import cross_check


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument('results', help='the pickle of `mim test --out`')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    with open(args.results, 'rb') as f:
        predictions = pickle.load(f)  # noqa: S301 (the user's own file)
    result = cross_check(cfg, predictions)
    print('| class | metric AP | devkit AP |\n|---|---|---|')
    for name, (ours, devkit) in result['per_class'].items():
        print(f'| {name} | {100 * ours:.2f} | {100 * devkit:.2f} |')
    print(f'| **mAP** | {100 * result["metric"]:.3f} | '
          f'{100 * result["devkit"]:.3f} |')
    print(f'difference (metric - devkit): {100 * result["difference"]:+.4f} '
          'points')


if __name__ == '__main__':
    main()
