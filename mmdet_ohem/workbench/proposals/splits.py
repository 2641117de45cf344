"""The images of a dataset split, as the proposal tools see them."""
import argparse
import json
import os.path as osp
from dataclasses import dataclass
from typing import Tuple

from ...datasets.voc import find_voc_image
from ...errors import MissingDataError
from ...proposals import proposal_file_name, proposal_key

DATA_HINT = 'Download it as README, section "Data", describes.'


@dataclass(frozen=True)
class Split:
    """A split of PASCAL VOC or COCO.

    Attributes:
        dataset (str): ``'voc'`` or ``'coco'``.
        year (str): e.g. ``'2007'``.
        split (str): e.g. ``'trainval'``.
        data_root (str): The configs' ``data_root``.
        ann_file (str): Split list (VOC) or annotation json (COCO),
            relative to ``data_root``.
        img_prefix (str): The VOC folder (``sub_data_root``) or COCO's image
            folder, relative to ``data_root``.
        keys (tuple[str]): Proposal key of each image, in split order.
        img_paths (tuple[str]): Path of each image.
        pixel_inclusive (bool): Whether the dataset's boxes end at their
            last pixel (VOC: ``x2 = xmax - 1`` of a 1-based ``xmax``)
            rather than after it (COCO: ``x2 = x + w``).
    """
    dataset: str
    year: str
    split: str
    data_root: str
    ann_file: str
    img_prefix: str
    keys: Tuple[str, ...]
    img_paths: Tuple[str, ...]
    pixel_inclusive: bool

    @property
    def name(self) -> str:
        """e.g. ``'voc_2007_trainval'``."""
        return f'{self.dataset}_{self.year}_{self.split}'

    def default_proposal_file(self, method: str, ext: str = '.npz') -> str:
        """Where our tools write proposals of ``method`` by default, e.g.
        ``data/proposals/selective_search_voc_2007_trainval.npz``."""
        return osp.join(
            self.data_root, 'proposals',
            proposal_file_name(method, self.dataset, self.year, self.split,
                               ext))

    def dataset_cfg(self, **kwargs) -> dict:
        """Return an mmdet dataset config of this split: our dataset
        class, updated with ``kwargs``."""
        cfg = dict(data_root=self.data_root, ann_file=self.ann_file)
        if self.dataset == 'voc':
            cfg.update(
                type='ProposalVOCDataset',
                data_prefix=dict(sub_data_root=self.img_prefix))
        else:
            cfg.update(
                type='ProposalCocoDataset',
                data_prefix=dict(img=self.img_prefix))
        cfg.update(kwargs)
        return cfg


def _require(path: str, what: str) -> None:
    if not osp.exists(path):
        raise MissingDataError(f'{what} {path} does not exist. {DATA_HINT}')


def voc_split(data_root: str,
              year: str = '2007',
              split: str = 'trainval',
              voc_dir: str = None) -> Split:
    """Read a PASCAL VOC split list.

    Args:
        data_root (str): The configs' ``data_root``, e.g. ``'data/'``.
        year (str): ``'2007'`` or ``'2012'``.
        split (str): ``'trainval'``, ``'test'``, ...
        voc_dir (str, optional): The VOC folder relative to ``data_root``
            (``''``: ``data_root`` itself). Defaults to
            ``'VOCdevkit/VOC<year>/'``.

    Returns:
        Split: Its images, keyed ``'JPEGImages/<file name>'`` (``<id>.jpg``,
            else the image :func:`find_voc_image` finds).
    """
    if voc_dir is None:
        voc_dir = f'VOCdevkit/VOC{year}/'
    ann_file = osp.join(voc_dir, 'ImageSets', 'Main', f'{split}.txt')
    path = osp.join(data_root, ann_file)
    _require(path, f'VOC{year} split list')
    with open(path) as f:
        img_ids = [line.split()[0] for line in f if line.strip()]
    img_dir = osp.join(data_root, voc_dir, 'JPEGImages')
    img_paths = tuple(
        osp.join(
            img_dir,
            find_voc_image(
                img_dir, img_id,
                osp.join(data_root, voc_dir, 'Annotations', f'{img_id}.xml')))
        for img_id in img_ids)
    return Split('voc', str(year), split, data_root, ann_file, voc_dir,
                 tuple(proposal_key(p) for p in img_paths), img_paths, True)


def coco_split(data_root: str,
               year: str = '2017',
               split: str = 'train',
               ann_file: str = None,
               img_prefix: str = None) -> Split:
    """Read the image list of a COCO annotation file.

    Args:
        data_root (str): The configs' ``data_root``, e.g. ``'data/'``.
        year (str): e.g. ``'2017'``.
        split (str): e.g. ``'train'``, ``'val'``.
        ann_file (str, optional): Relative to ``data_root``. Defaults to
            ``'coco/annotations/instances_<split><year>.json'``.
        img_prefix (str, optional): Image folder relative to ``data_root``.
            Defaults to ``'coco/<split><year>/'``.

    Returns:
        Split: Its images in the file's order, keyed
        ``'<image folder>/<file name>'``.
    """
    if ann_file is None:
        ann_file = f'coco/annotations/instances_{split}{year}.json'
    if img_prefix is None:
        img_prefix = f'coco/{split}{year}/'
    path = osp.join(data_root, ann_file)
    _require(path, 'COCO annotation json')
    with open(path) as f:
        images = json.load(f)['images']
    img_paths = tuple(
        osp.join(data_root, img_prefix, img['file_name']) for img in images)
    return Split('coco', str(year), split, data_root, ann_file, img_prefix,
                 tuple(proposal_key(p) for p in img_paths), img_paths, False)


def add_split_arguments(parser: argparse.ArgumentParser,
                        options: argparse.ArgumentParser = None):
    """Add the ``voc`` and ``coco`` sub-commands that choose a split.

    Args:
        parser (ArgumentParser): The tool's parser.
        options (ArgumentParser, optional): A parser (made with
            ``add_help=False``) of the tool's own options, which both
            sub-commands then accept.

    Returns:
        The sub-parsers action, to add a tool's own sub-commands to.
    """
    kinds = parser.add_subparsers(
        dest='dataset', required=True, metavar='{voc,coco}')
    parents = [options] if options is not None else []
    voc = kinds.add_parser('voc', help='a PASCAL VOC split', parents=parents)
    voc.add_argument('--year', default='2007')
    voc.add_argument('--split', default='trainval')
    voc.add_argument(
        '--voc-dir',
        help='the folder with Annotations/, JPEGImages/ and '
        "ImageSets/Main/<split>.txt, relative to --data-root; '' for "
        '--data-root itself (default: VOCdevkit/VOC<year>/; --year then '
        'only names the default output)')
    coco = kinds.add_parser(
        'coco', help='a COCO annotation file', parents=parents)
    coco.add_argument('--year', default='2017')
    coco.add_argument('--split', default='train')
    coco.add_argument(
        '--ann-file',
        help='relative to --data-root '
        '(default: coco/annotations/instances_<split><year>.json)')
    coco.add_argument(
        '--img-prefix',
        help="image folder relative to --data-root; '' for --data-root "
        'itself (default: coco/<split><year>/)')
    for sub in (voc, coco):
        sub.add_argument(
            '--data-root', default='data/', help='as in the configs')
    return kinds


def split_from_args(args: argparse.Namespace) -> Split:
    """Read the split that :func:`add_split_arguments` chose."""
    if args.dataset == 'voc':
        return voc_split(args.data_root, args.year, args.split, args.voc_dir)
    return coco_split(args.data_root, args.year, args.split, args.ann_file,
                      args.img_prefix)
