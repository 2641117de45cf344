"""Collect what mmengine wrote into work dirs and tabulate it against the
paper's numbers (kept in ``configs/manifest.yml`` with their sources).

Work-dir layout (what ``mim train/test --work-dir <root>/<config stem>``
and ``tools/run_suite.py`` produce)::

    <root>/<config stem>/<timestamp>/vis_data/scalars.json   training log
    <root>/<config stem>/<timestamp>/<timestamp>.json        test metrics
    <root>/<config stem>/<timestamp>/vis_data/config.py      its load_from
    <root>/<config stem>/last_checkpoint                     the final one
"""
import glob
import json
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

# The manifest of the installed package (configs/manifest.yml in a clone).
DEFAULT_MANIFEST = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim', 'configs',
    'manifest.yml')
NOT_RUN = 'not run'
UNREADABLE = 'log unreadable'
# Per-class metrics of PerClassVOCMetric: pascal_voc/AP50_<class>
_CLASS_AP = re.compile(r'^pascal_voc/AP50_(.+)$')
_TIMESTAMP = re.compile(r'^\d{8}_\d{6}$')
_LOAD_FROM = re.compile(r"^load_from = '(.+)'$", re.MULTILINE)


@dataclass
class RunResult:
    """What a work dir holds.

    Attributes:
        work_dir (str): The work dir.
        metrics (dict, optional): The readable test metrics of the final
            checkpoint (see :func:`read_run`); None if there are none.
        metrics_file (str, optional): Where they were read.
        checkpoint (str, optional): The checkpoint they score, as the
            test's config names it.
        final_checkpoint (str, optional): The training's last checkpoint
            (``last_checkpoint`` of the work dir).
        scalars_file (str, optional): The latest training log.
        sec_per_iter (float, optional): Mean training time per iteration
            in it.
        problems (list[str]): Files that could not be read, and why.
    """
    work_dir: str
    metrics: Optional[dict] = None
    metrics_file: Optional[str] = None
    checkpoint: Optional[str] = None
    final_checkpoint: Optional[str] = None
    scalars_file: Optional[str] = None
    sec_per_iter: Optional[float] = None
    problems: List[str] = field(default_factory=list)

    @property
    def scores_final(self) -> bool:
        """Whether the metrics score the training's final checkpoint."""
        return (self.checkpoint is not None
                and self.final_checkpoint is not None and osp.basename(
                    self.checkpoint) == osp.basename(self.final_checkpoint))

    @property
    def checkpoint_cell(self) -> str:
        """The checkpoint's file name, marked if not the final one."""
        if self.checkpoint is None:
            return ''
        name = osp.basename(self.checkpoint)
        if self.final_checkpoint and not self.scores_final:
            name += (' (not the final '
                     f'{osp.basename(self.final_checkpoint)})')
        return name

    @property
    def class_aps(self) -> Dict[str, float]:
        """Class name -> AP at IoU 0.5 in [0, 1] (PerClassVOCMetric)."""
        aps = {}
        for key, value in (self.metrics or {}).items():
            match = _CLASS_AP.match(key)
            if match:
                aps[match.group(1)] = value
        return aps


def load_manifest(path: str) -> dict:
    """Read ``configs/manifest.yml``: ``tables`` -> name -> ``title``,
    ``metric`` and ``rows`` (``config``, ``method``, ``paper``, ...)."""
    with open(path) as f:
        manifest = yaml.safe_load(f)
    if not isinstance(manifest, dict) or 'tables' not in manifest:
        raise ValueError(f'{path}: no `tables` in it')
    return manifest


def config_stem(config: str) -> str:
    """``'ablations/fast_rcnn_vgg16_n1_voc.py'`` -> its work-dir name,
    ``'fast_rcnn_vgg16_n1_voc'`` (mmengine's default for ``--work-dir``)."""
    return osp.splitext(osp.basename(config))[0]


def _run_dirs(work_dir: str) -> List[str]:
    """The timestamped run folders of a work dir, oldest first."""
    return sorted(
        d for d in glob.glob(osp.join(work_dir, '*'))
        if osp.isdir(d) and _TIMESTAMP.match(osp.basename(d)))


def _tested_checkpoint(run_dir: str) -> Optional[str]:
    """The ``load_from`` of a test run, from the config it logged."""
    try:
        with open(osp.join(run_dir, 'vis_data', 'config.py')) as f:
            found = _LOAD_FROM.search(f.read())
    except OSError:
        return None
    return found.group(1) if found else None


def _final_checkpoint(work_dir: str) -> Optional[str]:
    """The last checkpoint that training saved in a work dir."""
    try:
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            return f.read().strip() or None
    except OSError:
        return None


def read_run(work_dir: str, latest: bool = False) -> RunResult:
    """Read the test metrics and training speed of a work dir.

    The test of the final checkpoint (the work dir's ``last_checkpoint``)
    wins, the latest of them if it was tested more than once; without
    one, or with ``latest``, the latest test does. A metrics file that does
    not parse is listed in ``problems`` and skipped.
    """
    result = RunResult(work_dir)
    if not osp.isdir(work_dir):
        return result
    result.final_checkpoint = _final_checkpoint(work_dir)
    run_dirs = _run_dirs(work_dir)
    tests = []
    for run_dir in reversed(run_dirs):
        path = osp.join(run_dir, f'{osp.basename(run_dir)}.json')
        if not osp.isfile(path):
            continue  # a training run
        try:
            with open(path) as f:
                metrics = json.load(f)
            if not isinstance(metrics, dict):
                raise ValueError('not a json object')
        except (OSError, ValueError) as err:
            result.problems.append(f'{path}: {err}')
            continue
        tests.append((metrics, path, _tested_checkpoint(run_dir)))
    final = [
        t for t in tests if t[2] and result.final_checkpoint
        and osp.basename(t[2]) == osp.basename(result.final_checkpoint)
    ]
    chosen = (tests if latest else final or tests)[:1]
    for metrics, path, checkpoint in chosen:
        result.metrics, result.metrics_file = metrics, path
        result.checkpoint = checkpoint
    for run_dir in reversed(run_dirs):
        path = osp.join(run_dir, 'vis_data', 'scalars.json')
        if osp.isfile(path):
            result.scalars_file = path
            try:
                result.sec_per_iter = train_speed(read_scalars(path))
            except ValueError as err:
                result.problems.append(f'{path}: {err}')
            break
    return result


def read_scalars(path: str) -> List[dict]:
    """Read a ``vis_data/scalars.json`` (one json object per line).

    Raises:
        ValueError: A line is not json; names the line.
    """
    records = []
    with open(path) as f:
        for num, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError as err:
                raise ValueError(f'line {num} is not json ({err})') from None
    return records


def train_speed(records: Sequence[dict]) -> Optional[float]:
    """Mean ``time`` (s/iter) of the training records, without the first
    logged window (start-up)."""
    times = [r['time'] for r in records if 'loss' in r and 'time' in r]
    times = times[1:] if len(times) > 1 else times
    return sum(times) / len(times) if times else None


def _fmt(value: Optional[float], scale: float = 100.0) -> str:
    return '' if value is None else f'{value * scale:.1f}'


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def _cell(run: RunResult, metric: Optional[str]) -> Tuple[str, bool]:
    """The table cell of a run's metric (x100), and whether it is one."""
    if metric is None:
        return 'server', False
    if run.metrics is None:
        return UNREADABLE if run.problems else NOT_RUN, False
    if metric not in run.metrics:
        return f'no {metric}', False
    return _fmt(run.metrics[metric]), True


def manifest_tables(manifest: dict,
                    work_root: str,
                    tables: Optional[Sequence[str]] = None,
                    per_class: bool = True,
                    latest: bool = False) -> Tuple[str, List[str]]:
    """Markdown tables of our results beside the paper's.

    Args:
        manifest (dict): As :func:`load_manifest` returns.
        work_root (str): Folder of the work dirs, ``<root>/<config stem>``.
        tables (Sequence[str], optional): Which tables; default all.
        per_class (bool): Add a per-class AP table where runs have one.
        latest (bool): Take each run's latest test, not its final
            checkpoint's; see :func:`read_run`.

    Returns:
        tuple[str, list[str]]: The markdown, and the problems met (files
        that could not be read), each naming its file.
    """
    names = list(tables or manifest['tables'])
    unknown = sorted(set(names) - set(manifest['tables']))
    if unknown:
        raise KeyError(f'no tables {unknown} in the manifest; it has '
                       f'{sorted(manifest["tables"])}')
    runs, problems, parts = {}, [], []
    for name in names:
        table = manifest['tables'][name]
        metric = table.get('metric')
        rows, class_runs = [], []
        for row in table['rows']:
            stem = config_stem(row['config'])
            if stem not in runs:
                runs[stem] = read_run(osp.join(work_root, stem), latest)
                problems += runs[stem].problems
            run = runs[stem]
            ours, ok = _cell(run, metric)
            paper = row.get('paper')
            delta = (f'{float(ours) - paper:+.1f}'
                     if ok and paper is not None else '')
            source = row.get('source', '') if paper is not None else ''
            speed = ('' if run.sec_per_iter is None else
                     f'{run.sec_per_iter:.2f}')
            rows.append([
                row['config'],
                row.get('net', ''), row['method'], ours,
                '' if paper is None else f'{paper:.1f}', delta, source, speed,
                run.checkpoint_cell
            ])
            if run.class_aps:
                class_runs.append((row['method'], run))
        parts.append(f'### {table["title"]}\n\n' + _markdown([
            'config', 'net', 'method', 'ours', 'paper', 'Δ', 'paper source',
            's/iter', 'checkpoint'
        ], rows))
        if per_class and class_runs:
            parts.append(f'Per-class AP (IoU 0.5), {name}:\n\n' +
                         class_ap_table(class_runs))
    return '\n\n'.join(parts) + '\n', problems


def class_ap_table(runs: Sequence[Tuple[str, RunResult]]) -> str:
    """Markdown: one row per class, one column per run (AP x100)."""
    classes = []
    for _, run in runs:
        classes += [c for c in run.class_aps if c not in classes]
    rows = [[c] + [_fmt(run.class_aps.get(c)) for _, run in runs]
            for c in classes]
    return _markdown(['class'] + [label for label, _ in runs], rows)
