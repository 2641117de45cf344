"""What OHEM costs: training steps of five RoI-sampling variants, timed.

The same detector (same seeded weights) trains on the same seeded synthetic
batch in each variant; only the RoI head and its sampler change:

- ``frcn``: heuristic Fast R-CNN (mmdet's ``RandomSampler``, bg_lo 0.1,
  fg:bg 1:3);
- ``mmdet_ohem``: mmdet's ``OHEMSampler`` in ``StandardRoIHead``;
- ``ohem_sampler``: our ``OnlineHardExampleSampler`` in ``StandardRoIHead``
  (one read-only pass per image);
- ``ohem_head``: ``OHEMRoIHead``, fp32 read-only pass over the batch;
- ``ohem_head_bf16``: ``OHEMRoIHead`` with ``readonly_dtype='bfloat16'``.

Both OHEM samplers see the paper's OHEM background range (IoU in [0, 0.5),
so every RoI is a candidate) and the same budget of hard RoIs per image.

:class:`VariantRunner` times the steps of one variant in the calling
process (:mod:`.processes` runs each variant in its own process, so that
peak memory is the variant's own, and interleaves their steps);
:func:`compute_floor` counts the FLOPs of a step and of the read-only pass;
:func:`selection_overlap` compares the hard sets of the fp32 and the bf16
read-only pass on the same inputs.
"""
import contextlib
import copy
import os.path as osp
import statistics
import time
from typing import Dict, List, Optional, Set, Tuple

import torch
import torch.nn as nn
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.utils import register_all_modules
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.utils import get_installed_path

from ..batch import as_data_batch, synthetic_batch
from .flops import compute_floor
from .measure import Peak, minor_faults

#: GT boxes per synthetic image
NUM_GTS = 4
CONFIG_ROOT = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), '.mim',
    'configs')

#: key -> (label, description)
VARIANTS = {
    'frcn': ('a', "RandomSampler, the config's heuristics (Fast R-CNN: bg_lo "
             '0.1, fg:bg 1:3)'),
    'mmdet_ohem': ('b', "mmdet's OHEMSampler, StandardRoIHead"),
    'ohem_sampler': ('c', 'OnlineHardExampleSampler, StandardRoIHead'),
    'ohem_head': ('d', 'OHEMRoIHead, fp32 read-only pass'),
    'ohem_head_bf16': ('e', 'OHEMRoIHead, bf16 read-only pass'),
}
#: model key -> config under configs/ (or mmdet's, ``mmdet::``) whose
#: ``model`` is benchmarked
MODELS_CFG = {
    'vgg16': 'fast_rcnn_vgg16_voc.py',
    'vgg_cnn_m_1024': 'fast_rcnn_vgg_cnn_m_1024_voc.py',
    'tiny': 'demo/fast_rcnn_tiny_synthvoc.py',
    'r50_fpn': 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
}


def _config(model: str) -> Config:
    name = MODELS_CFG[model]
    if name.startswith('mmdet::'):
        return Config.fromfile(
            osp.join(
                get_installed_path('mmdet'), '.mim', 'configs',
                name[len('mmdet::'):]))
    return Config.fromfile(osp.join(CONFIG_ROOT, name))


def model_config(model: str,
                 variant: str,
                 device: str,
                 roi_layer: Optional[str] = None) -> ConfigDict:
    """The detector config of a variant, with seeded random weights.

    Args:
        model (str): A key of :data:`MODELS_CFG`. ``'tiny'`` is the
            demo's ResNet trunk of 16 channels (stride 8) with 256-unit fcs;
            ``'r50_fpn'`` mmdet's Faster R-CNN R50-FPN (its RPN makes the
            proposals; 512 RoIs per image).
        variant (str): A key of :data:`VARIANTS`.
        device (str): ``'cpu'`` or ``'cuda'``.
        roi_layer (str, optional): ``'RoIPool'`` or ``'RoIAlign'``; by
            default the config's, RoIPool replaced by RoIAlign on CPU (mmcv
            has no CPU RoIPool).
    """
    cfg = _config(model).model
    cfg.pop('init_cfg', None)
    cfg.backbone.init_cfg = None
    layer = cfg.roi_head.bbox_roi_extractor.roi_layer
    if roi_layer is None and device == 'cpu' and layer.type == 'RoIPool':
        roi_layer = 'RoIAlign'
    if roi_layer == 'RoIAlign':
        layer.update(type='RoIAlign', sampling_ratio=2)
    elif roi_layer is not None:
        layer.type = roi_layer
        layer.pop('sampling_ratio', None)

    rcnn = cfg.train_cfg.rcnn
    num = rcnn.sampler.num
    if variant != 'frcn':
        # the paper's OHEM background range: every RoI is a candidate
        rcnn.assigner.neg_iou_thr = 0.5
    if variant == 'mmdet_ohem':
        rcnn.sampler = dict(
            type='OHEMSampler',
            num=num,
            pos_fraction=0.25,
            neg_pos_ub=-1,
            add_gt_as_proposals=True)
    elif variant != 'frcn':
        rcnn.sampler = dict(
            type='OnlineHardExampleSampler',
            num=num,
            nms_thr=0.7,
            readonly_dtype='bfloat16' if variant.endswith('bf16') else None)
        if variant.startswith('ohem_head'):
            cfg.roi_head.type = 'OHEMRoIHead'
    return cfg


def optim_config(model: str) -> ConfigDict:
    """The config's optimizer (SGD, momentum 0.9, weight decay 5e-4)."""
    return _config(model).optim_wrapper


def benchmark_batch(num_imgs: int = 2,
                    size: Tuple[int, int] = (600, 1000),
                    num_proposals: int = 2000,
                    num_classes: int = 20,
                    seed: int = 0) -> dict:
    """The benchmark's seeded batch, as a dataloader gives it.

    :data:`NUM_GTS` GT boxes of 60 to 240 pixels a side per image; a
    quarter of the proposals are jittered copies of them (many foreground
    RoIs and near-duplicates for the NMS to remove), the rest anywhere in
    the image, 16 to 400 pixels a side.
    """
    imgs, samples = synthetic_batch(
        num_imgs,
        size,
        num_gts=[NUM_GTS] * num_imgs,
        num_proposals=[num_proposals] * num_imgs,
        num_classes=num_classes,
        gt_size=(60, 240),
        proposal_size=(16, 400),
        near_fraction=0.25,
        jitter=12,
        seed=seed)
    return as_data_batch(imgs, samples)


def build_model(model: str,
                variant: str,
                device: str,
                roi_layer: Optional[str] = None,
                seed: int = 0) -> nn.Module:
    """The detector of a variant with seeded weights, in train mode."""
    register_all_modules(init_default_scope=True)
    torch.manual_seed(seed)
    detector = MODELS.build(model_config(model, variant, device, roi_layer))
    detector.init_weights()
    return detector.to(device).train()


class StageTimer:
    """Wall time of the named stages of a step, while :meth:`active`.

    ``timer(name)`` is a context manager that adds the wall time of its
    block to ``totals[name]`` (after a device sync on CUDA); outside
    :meth:`active` it does nothing, so it may stay installed.

    Args:
        sync (bool): Synchronise CUDA before reading the clock.
    """

    def __init__(self, sync: bool) -> None:
        self.sync = sync
        self.enabled = False
        self.totals: Dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        if not self.enabled:
            yield
            return
        if self.sync:
            torch.cuda.synchronize()
        start = time.perf_counter()
        yield
        if self.sync:
            torch.cuda.synchronize()
        self.totals[name] = (
            self.totals.get(name, 0.0) + time.perf_counter() - start)

    @contextlib.contextmanager
    def active(self):
        self.enabled = True
        try:
            yield self
        finally:
            self.enabled = False


def install_stage_timer(detector: nn.Module, variant: str, timer: StageTimer,
                        stack: contextlib.ExitStack) -> Tuple[str, ...]:
    """Let ``timer`` time the read-only pass and the selection of a
    variant's steps for as long as ``stack`` is open.

    Returns:
        tuple[str]: The variant's stages (``frcn`` has none).
    """
    sampler = detector.roi_head.bbox_sampler
    if variant == 'frcn':
        return ()
    if variant == 'mmdet_ohem':
        # mmdet's OHEMSampler has no hook: time its per-pool forward, loss
        # and top-k (it has no NMS) by wrapping this instance's method.
        hard_mining = sampler.hard_mining

        def timed(*args, **kwargs):
            with timer('readonly'):
                return hard_mining(*args, **kwargs)

        sampler.hard_mining = timed
        return ('readonly', )
    stack.enter_context(sampler.timing(timer))
    return ('readonly', 'selection')


class VariantRunner:
    """Full training steps (forward, backward, SGD step) of one variant.

    The data is deep-copied before each step, outside the timed region (the
    RoI head renames the proposals' fields in place). Steps are driven from
    outside (:meth:`step`), so that a tool can interleave the steps of
    variants that live in different processes.

    Args:
        variant (str): A key of :data:`VARIANTS`.
        model, device, num_imgs, size, num_proposals, roi_layer, seed: The
            workload; see :func:`model_config` and :func:`benchmark_batch`.
    """

    def __init__(self,
                 variant: str,
                 model: str = 'vgg16',
                 device: str = 'cpu',
                 num_imgs: int = 2,
                 size: Tuple[int, int] = (600, 1000),
                 num_proposals: int = 2000,
                 roi_layer: Optional[str] = None,
                 seed: int = 0) -> None:
        self.variant = variant
        self.detector = build_model(model, variant, device, roi_layer, seed)
        self.optim_wrapper = build_optim_wrapper(self.detector,
                                                 optim_config(model))
        num_classes = self.detector.roi_head.bbox_head.num_classes
        self.data = benchmark_batch(
            num_imgs, size, num_proposals, num_classes=num_classes, seed=seed)
        self.cuda = device == 'cuda'
        self.peak = Peak(device)
        self.timer = StageTimer(sync=self.cuda)
        self._stack = contextlib.ExitStack()
        self.stages = install_stage_timer(self.detector, variant, self.timer,
                                          self._stack)
        self.times: List[float] = []
        self.faults: List[int] = []
        self.log_vars: dict = {}
        torch.manual_seed(seed)

    def step(self, timed: bool = True) -> float:
        """One training step; its wall time in seconds.

        Timed steps count in the result; on CPU they also time the read-only
        pass and the selection (on CUDA that needs syncs: see
        :meth:`result`).
        """
        batch = copy.deepcopy(self.data)
        stages = self.timer.active() if timed and not self.cuda \
            else contextlib.nullcontext()
        with stages:
            if self.cuda:
                torch.cuda.synchronize()
            faults = minor_faults()
            start = time.perf_counter()
            self.log_vars = self.detector.train_step(batch, self.optim_wrapper)
            if self.cuda:
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            faults = minor_faults() - faults
        if timed:
            self.times.append(seconds)
            self.faults.append(faults)
        return seconds

    def result(self) -> dict:
        """``times`` (s per timed step), ``median_s``, ``min_s``,
        ``peak_mem_mib`` (since :meth:`Peak.reset`, i.e. ``self.peak``),
        ``readonly_s`` and ``selection_s`` (per step, where the variant has
        them; on CUDA from one extra step), ``minor_faults`` (the process's
        page faults in each timed step), ``losses`` of the last step."""
        result = dict(
            variant=self.variant,
            times=self.times,
            median_s=statistics.median(self.times),
            min_s=min(self.times),
            peak_mem_mib=self.peak.read(),
            peak_mem_kind=self.peak.kind,
            minor_faults=self.faults,
            losses={
                k: float(torch.as_tensor(v).detach())
                for k, v in self.log_vars.items()
            })
        stage_steps = len(self.times)
        if self.cuda and self.stages:
            with self.timer.active():
                self.step(timed=False)
            stage_steps = 1
        for name in ('readonly', 'selection'):
            # a stage the steps never reached (mmdet's sampler mines only
            # where an image has more candidates than its budget) took 0 s
            result[f'{name}_s'] = (
                self.timer.totals.get(name, 0.0) /
                stage_steps if name in self.stages else None)
        return result


def floor_for(model: str = 'vgg16',
              device: str = 'cpu',
              num_imgs: int = 2,
              size: Tuple[int, int] = (600, 1000),
              num_proposals: int = 2000,
              roi_layer: Optional[str] = None) -> dict:
    """:func:`compute_floor` for the benchmark's workload."""
    detector = build_model(model, 'frcn', 'cpu', roi_layer)
    divisor = detector.data_preprocessor.pad_size_divisor
    batch_shape = tuple(-(-s // divisor) * divisor for s in size)
    sampler = model_config(model, 'frcn', device).train_cfg.rcnn.sampler
    return compute_floor(
        detector,
        batch_shape,
        num_imgs,
        num_train_rois=sampler.num * num_imgs,
        num_readonly_rois=(num_proposals + NUM_GTS) * num_imgs)


def selection_overlap(model: str = 'vgg16',
                      device: str = 'cpu',
                      num_imgs: int = 2,
                      size: Tuple[int, int] = (600, 1000),
                      num_proposals: int = 2000,
                      roi_layer: Optional[str] = None,
                      seed: int = 0) -> dict:
    """How far the bf16 read-only pass changes the hard set.

    One batch, one trunk forward; the candidates of ``OHEMRoIHead`` are
    mined twice, with an fp32 and a bf16 read-only pass, from the same RNG
    state (the read-only pass keeps dropout active, as in training).

    Returns:
        dict: :func:`hard_set_overlap` of the fp32 and the bf16 hard set.
    """
    detector = build_model(model, 'ohem_head', device, roi_layer, seed)
    num_classes = detector.roi_head.bbox_head.num_classes
    data = benchmark_batch(
        num_imgs, size, num_proposals, num_classes=num_classes, seed=seed)
    head = detector.roi_head
    bf16_cfg = model_config(model, 'ohem_head_bf16', device,
                            roi_layer).train_cfg.rcnn.sampler
    samplers = dict(
        fp32=head.bbox_sampler,
        bf16=TASK_UTILS.build(bf16_cfg, default_args=dict(context=head)))
    with torch.no_grad():
        batch = detector.data_preprocessor(data, True)
        x = detector.extract_feat(batch['inputs'])
        samples = batch['data_samples']
        candidates = head.gather_candidates([s.proposals for s in samples],
                                            samples)
    hard = {}
    for key, sampler in samplers.items():
        torch.manual_seed(seed)
        results = sampler.mine(x, candidates)
        hard[key] = {(i, int(j))
                     for i, res in enumerate(results)
                     for j in torch.cat([res.pos_inds, res.neg_inds])}
    return hard_set_overlap(hard['fp32'], hard['bf16'])


def hard_set_overlap(exact: Set[tuple], fast: Set[tuple]) -> dict:
    """How far two hard sets agree.

    Args:
        exact (set[tuple]): The hard RoIs of the fp32 pass, each
            ``(image index, RoI index)``.
        fast (set[tuple]): The same of the bf16 pass.

    Returns:
        dict: ``iou`` (|exact & fast| / |exact | fast|), ``fraction``
        (|exact & fast| / |exact|; the issue's "identical on 98 % of hard
        RoIs"), ``num_exact``, ``num_fast`` and ``num_common``. An empty
        denominator counts as 1.
    """
    both = len(exact & fast)
    return dict(
        iou=both / max(len(exact | fast), 1),
        fraction=both / max(len(exact), 1),
        num_exact=len(exact),
        num_fast=len(fast),
        num_common=both)
