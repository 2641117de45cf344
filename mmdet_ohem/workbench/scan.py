"""Scan whole dataset splits before training: ``tools/check_dataset.py``.

Each split is built as training builds it, so the same checks run
(:class:`~mmdet_ohem.datasets.checks.AnnotationCheck`, proposal loading),
but lenient, to collect every finding instead of stopping at the first:
objects with unknown labels and images without proposals are counted, and
each error is reported in one table. On top of what loading checks, every
image is decoded completely and its size compared with the annotation's.
"""
import copy
import json
import os.path as osp
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Iterator, List, Tuple

from mmdet.registry import DATASETS
from mmengine.utils import ProgressBar

from ..datasets.checks import MAX_NAMES
from ..errors import DataFileError, MissingDataError
from ..fileio import read_image

ERROR, WARNING, OK = 'error', 'warning', 'ok'


@dataclass
class Finding:
    """One row of the report: a check, how many it concerns, and where."""
    check: str
    count: int
    status: str = OK
    files: List[str] = field(default_factory=list)


@dataclass
class SplitReport:
    """The findings of one split."""
    name: str
    findings: List[Finding] = field(default_factory=list)
    classes: Tuple[str, ...] = ()
    class_counts: Tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return all(f.status != ERROR for f in self.findings)

    def add(self, check: str, files: List[str], status: str) -> None:
        """Add a finding over ``files``: ``status`` if any, else ok."""
        self.findings.append(
            Finding(check, len(files), status if files else OK, files))


def dataset_cfgs(cfg) -> Iterator[Tuple[str, dict]]:
    """Yield ``(name, dataset config)`` of each split of an mmengine
    config (train, val, test; a split used twice once), unwrapping
    ``ConcatDataset`` and ``RepeatDataset``-like wrappers."""
    seen = []

    def leaves(dataset):
        if 'datasets' in dataset:
            for sub in dataset['datasets']:
                yield from leaves(sub)
        elif 'dataset' in dataset:
            yield from leaves(dataset['dataset'])
        else:
            yield dataset

    for key in ('train', 'val', 'test'):
        loader = cfg.get(f'{key}_dataloader')
        if not loader:
            continue
        for i, dataset in enumerate(leaves(loader['dataset'])):
            plain = dict(copy.deepcopy(dataset))
            plain.pop('pipeline', None)
            plain.pop('test_mode', None)
            if plain in seen:
                continue
            seen.append(plain)
            yield f'{key}[{i}]' if i else key, dataset


def split_labels(split) -> Tuple[str, ...]:
    """Return the labels of a split
    (:class:`~mmdet_ohem.workbench.proposals.splits.Split`): a COCO file's
    category names in its order, or the sorted object names of a VOC
    split's annotations (unreadable ones left to :func:`scan_dataset` to
    report)."""
    if split.dataset == 'coco':
        with open(osp.join(split.data_root, split.ann_file)) as f:
            return tuple(c['name'] for c in json.load(f)['categories'])
    names = set()
    for img_path in split.img_paths:
        folder, name = osp.split(img_path)
        xml = osp.join(
            osp.dirname(folder), 'Annotations',
            osp.splitext(name)[0] + '.xml')
        try:
            root = ET.parse(xml).getroot()
        except (OSError, ET.ParseError):
            continue
        names.update(
            (o.findtext('name') or '').strip() for o in root.iter('object'))
    return tuple(sorted(names))


def scan_dataset(dataset_cfg: dict,
                 name: str = 'split',
                 decode: bool = True) -> SplitReport:
    """Check one split and return its report.

    Args:
        dataset_cfg (dict): Of a :class:`ProposalVOCDataset` or
            :class:`ProposalCocoDataset`.
        name (str): For the report.
        decode (bool): Decode every image completely. Defaults to True.
    """
    report = SplitReport(name)
    cfg = dict(copy.deepcopy(dataset_cfg))
    unknown_policy = cfg.get('unknown_classes', 'error')
    proposal_policy = cfg.get('missing_proposals', 'error')
    # Every image, every object, every proposal row: count, don't stop.
    cfg.update(
        test_mode=True,
        pipeline=[],
        unknown_classes='skip',
        missing_proposals='skip')
    try:
        dataset = DATASETS.build(cfg)
    except (MissingDataError, DataFileError) as e:
        report.findings.append(Finding(str(e), 1, ERROR))
        return report
    check = dataset.annotation_check
    unknown = [f for files in check.unknown_files.values() for f in files]
    report.add(
        'objects with a label not in classes' +
        (f' ({check.unknown_message()} Add them to classes, or set '
         "unknown_classes='skip' in the dataset to train without them.)"
         if unknown else ''), unknown,
        WARNING if unknown_policy == 'skip' else ERROR)
    report.add('boxes clipped to their image', check.clipped, WARNING)
    for why, files in sorted(check.dropped.items()):
        report.add(f'boxes dropped ({why})', files, WARNING)

    bad_images, wrong_size = [], []
    counts = [0] * len(dataset.metainfo['classes'])
    progress = ProgressBar(len(dataset)) if decode else None
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        for instance in info['instances']:
            counts[instance['bbox_label']] += 1
        if not decode:
            continue
        path = info['img_path']
        try:
            size = read_image(path)
        except (DataFileError, FileNotFoundError) as e:
            bad_images.append(f'{dataset._short(path)} ({e})')
        else:
            if size != (info['width'], info['height']):
                wrong_size.append(
                    f'{dataset._short(path)} is {size[0]}x{size[1]}, its '
                    f'annotation says {info["width"]}x{info["height"]}')
        progress.update()
    if decode:
        progress.file.write('\n')
        report.add('images that do not decode completely', bad_images, ERROR)
        report.add('images whose size differs from the annotation', wrong_size,
                   ERROR)
    report.classes = tuple(dataset.metainfo['classes'])
    report.class_counts = tuple(counts)
    empty = [c for c, n in zip(report.classes, counts) if not n]
    report.add('classes without objects', empty, WARNING)
    report.findings.insert(
        0, Finding(f'images ({sum(counts)} objects)', len(dataset)))
    report.findings[0].status = OK if sum(counts) else ERROR

    if dataset.proposal_file:
        stats = dataset.proposal_stats
        missing = stats.get('skipped_images', 0)
        report.findings.append(
            Finding(f'images without proposals in {dataset.proposal_file}',
                    missing, (WARNING if proposal_policy == 'skip' else ERROR)
                    if missing else OK))
        report.findings.append(
            Finding('proposals per image (mean, after clipping and capping)',
                    round(stats['boxes'] / max(stats['images'], 1))))
    return report


def format_report(reports: List[SplitReport],
                  max_names: int = MAX_NAMES) -> str:
    """Return the reports as one markdown table, then the class counts."""
    lines = ['| split | check | count | status | where |', '|---' * 5 + '|']
    for report in reports:
        for f in report.findings:
            where = '; '.join(sorted(set(f.files))[:max_names])
            if len(set(f.files)) > max_names:
                where += f'; and {len(set(f.files)) - max_names} more'
            check = f.check.replace('\n', ' ').replace('|', '/')
            lines.append(f'| {report.name} | {check} | {f.count} | '
                         f'{f.status} | {where} |')
    lines.append('')
    for report in reports:
        if report.classes:
            counts = ', '.join(
                f'{c} {n}'
                for c, n in zip(report.classes, report.class_counts))
            lines.append(f'{report.name}: objects per class: {counts}')
    return '\n'.join(lines)
