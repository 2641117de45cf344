"""Convert a proposal file between mmdet's pickle and our npz.

Reading a pickle runs whatever code it holds: convert only pickles you
made or trust. The npz that comes out is plain arrays, safe to pass on.

Example:
    python tools/convert_proposals.py proposals.pkl \
        data/proposals/rpn_coco_2017_train.npz
"""

from mmengine.logging import print_log

from mmdet_ohem.proposals import load_proposals, save_proposals
from mmdet_ohem.workbench.cli import doc_parser


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument('src', help='.pkl/.pickle (mmdet) or .npz (ours)')
    parser.add_argument('dst', help='.npz or .pkl, written atomically')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    proposals = load_proposals(args.src)
    save_proposals(args.dst, proposals)
    print_log(f'Wrote {args.dst}: {len(proposals)} images.', logger='current')


if __name__ == '__main__':
    main()
