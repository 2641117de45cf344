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
process (the tool runs each variant in its own process, so that peak
memory is the variant's own, and interleaves their steps);
:func:`compute_floor` counts the FLOPs of a step and of the read-only pass;
:func:`selection_overlap` compares the hard sets of the fp32 and the bf16
read-only pass on the same inputs.
"""
import contextlib
import copy
import os
import os.path as osp
import platform
import resource
import statistics
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.structures import InstanceData

from .samplers import ohem_sampler

#: GT boxes per synthetic image
NUM_GTS = 4
#: glibc malloc settings of ``tools/benchmark.py --caching-malloc``: keep
#: freed memory for reuse instead of handing every large block back to the
#: kernel. With glibc's defaults each VGG16 step on CPU maps and unmaps its
#: large tensors afresh, about 1.6 M page faults and a fifth of the step in
#: the kernel, for every variant; this is the caching that PyTorch's CPU
#: tuning guide gets from jemalloc or tcmalloc. Peak RSS then counts the
#: cached memory too.
MALLOC_TUNABLES = ('glibc.malloc.mmap_threshold=4294967296:'
                   'glibc.malloc.trim_threshold=17179869184')
CONFIG_ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '.mim', 'configs')

#: key -> (label, description)
VARIANTS = {
    'frcn': ('a', 'Fast R-CNN, RandomSampler (bg_lo 0.1, fg:bg 1:3)'),
    'mmdet_ohem': ('b', "mmdet's OHEMSampler, StandardRoIHead"),
    'ohem_sampler': ('c', 'OnlineHardExampleSampler, StandardRoIHead'),
    'ohem_head': ('d', 'OHEMRoIHead, fp32 read-only pass'),
    'ohem_head_bf16': ('e', 'OHEMRoIHead, bf16 read-only pass'),
}
#: model key -> config under configs/ whose ``model`` is benchmarked
MODELS_CFG = {
    'vgg16': 'fast_rcnn_vgg16_voc.py',
    'vgg_cnn_m_1024': 'fast_rcnn_vgg_cnn_m_1024_voc.py',
    'tiny': 'fast_rcnn_vgg16_voc.py',
}


def caching_malloc_env(env: Optional[dict] = None) -> dict:
    """A copy of ``env`` (default: ``os.environ``) whose ``GLIBC_TUNABLES``
    add :data:`MALLOC_TUNABLES`. It takes effect in processes started with
    it; other C libraries ignore it."""
    env = dict(os.environ if env is None else env)
    tunables = [t for t in env.get('GLIBC_TUNABLES', '').split(':') if t]
    env['GLIBC_TUNABLES'] = ':'.join(tunables + [MALLOC_TUNABLES])
    return env


def model_config(model: str,
                 variant: str,
                 device: str,
                 roi_layer: Optional[str] = None) -> ConfigDict:
    """The detector config of a variant, with seeded random weights.

    Args:
        model (str): A key of :data:`MODELS_CFG`. ``'tiny'`` is the VGG16
            config with a 16-channel ResNet trunk (stride 8) and 64-unit fcs,
            for tests.
        variant (str): A key of :data:`VARIANTS`.
        device (str): ``'cpu'`` or ``'cuda'``.
        roi_layer (str, optional): ``'RoIPool'`` or ``'RoIAlign'``; by
            default the config's on CUDA and RoIAlign on CPU (mmcv has no
            CPU RoIPool).
    """
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, MODELS_CFG[model])).model
    cfg.pop('init_cfg', None)
    cfg.backbone.init_cfg = None
    if model == 'tiny':
        cfg.backbone = dict(
            type='ResNet',
            depth=18,
            num_stages=2,
            strides=(1, 2),
            dilations=(1, 1),
            out_indices=(1, ),
            stem_channels=8,
            base_channels=8,
            norm_cfg=dict(type='BN', requires_grad=False),
            norm_eval=True,
            init_cfg=None)
        cfg.data_preprocessor.pad_size_divisor = 8
        cfg.roi_head.bbox_roi_extractor.update(
            out_channels=16, featmap_strides=[8])
        cfg.roi_head.bbox_head.update(in_channels=16, fc_channels=(64, 64))
    layer = cfg.roi_head.bbox_roi_extractor.roi_layer
    if roi_layer is None and device == 'cpu':
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
    return Config.fromfile(osp.join(CONFIG_ROOT,
                                    MODELS_CFG[model])).optim_wrapper


def synthetic_batch(num_imgs: int = 2,
                    size: Tuple[int, int] = (600, 1000),
                    num_proposals: int = 2000,
                    num_gts: int = NUM_GTS,
                    num_classes: int = 20,
                    seed: int = 0) -> dict:
    """A seeded batch as a dataloader gives it: uint8 images and samples.

    A quarter of the proposals are jittered copies of the GT boxes (many
    foreground RoIs and near-duplicates for the NMS to remove), the rest
    anywhere in the image, 16 to 400 pixels a side.

    Returns:
        dict: ``inputs`` (list of (3, H, W) uint8) and ``data_samples``
        (list of DetDataSample with ``gt_instances``, ``ignored_instances``
        and ``proposals``).
    """
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    inputs, samples = [], []
    for i in range(num_imgs):
        inputs.append(
            torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        scale = torch.tensor([w, h], dtype=torch.float32)
        xy = torch.rand(num_gts, 2, generator=gen) * scale * 0.6
        wh = (0.1 + torch.rand(num_gts, 2, generator=gen) * 0.3) * scale
        gt = torch.cat([xy, xy + wh], dim=1)
        near = gt[torch.randint(
            num_gts, (num_proposals // 4, ), generator=gen)]
        near = near + torch.randn(len(near), 4, generator=gen) * 12
        xy = torch.rand(num_proposals - len(near), 2, generator=gen) * scale
        wh = 16 + torch.rand(len(xy), 2, generator=gen) * 384
        props = torch.cat([near, torch.cat([xy, xy + wh], dim=1)])
        props[:, 0::2] = props[:, 0::2].clamp(0, w - 1)
        props[:, 1::2] = props[:, 1::2].clamp(0, h - 1)
        props[:, 2:] = torch.maximum(props[:, 2:], props[:, :2] + 4)
        sample = DetDataSample(
            metainfo=dict(
                img_id=i,
                img_path=f'synthetic_{i}.jpg',
                img_shape=(h, w),
                ori_shape=(h, w),
                scale_factor=(1., 1.),
                flip=False))
        sample.gt_instances = InstanceData(
            bboxes=gt,
            labels=torch.randint(num_classes, (num_gts, ), generator=gen))
        sample.ignored_instances = InstanceData(
            bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
        sample.proposals = InstanceData(
            bboxes=props, scores=torch.ones(len(props)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


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


class Peak:
    """Peak memory of the code run since :meth:`reset`, in MiB.

    CUDA: ``max_memory_allocated``. CPU: the resident set's high-water mark
    (``VmHWM``, reset through ``/proc/self/clear_refs``); where that cannot
    be reset, the process's peak RSS.
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self.kind = ('cuda_max_allocated'
                     if device == 'cuda' else 'cpu_peak_rss')

    def reset(self) -> None:
        if self.device == 'cuda':
            torch.cuda.reset_peak_memory_stats()
            return
        with contextlib.suppress(OSError):
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')

    def read(self) -> float:
        if self.device == 'cuda':
            return torch.cuda.max_memory_allocated() / 2**20
        with contextlib.suppress(OSError):
            with open('/proc/self/status') as f:
                for line in f:
                    if line.startswith('VmHWM:'):
                        return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StageTimer:
    """Wall time of named functions, patched in place while it is active.

    Args:
        targets (dict): name -> (owner, attribute); ``owner.attribute`` is
            wrapped to add its wall time (after a device sync) to the name.
        sync (bool): Synchronise CUDA before reading the clock.
    """

    def __init__(self, targets: Dict[str, tuple], sync: bool) -> None:
        self.targets = targets
        self.sync = sync
        self.totals = {name: 0.0 for name in targets}

    def _sync(self) -> None:
        if self.sync:
            torch.cuda.synchronize()

    @contextlib.contextmanager
    def active(self):
        originals = {}

        def wrap(name, func):

            def timed(*args, **kwargs):
                self._sync()
                start = time.perf_counter()
                out = func(*args, **kwargs)
                self._sync()
                self.totals[name] += time.perf_counter() - start
                return out

            return timed

        for name, (owner, attr) in self.targets.items():
            originals[name] = getattr(owner, attr)
            setattr(owner, attr, wrap(name, originals[name]))
        try:
            yield self
        finally:
            for name, (owner, attr) in self.targets.items():
                setattr(owner, attr, originals[name])


def _stage_targets(variant: str) -> Dict[str, tuple]:
    """What to time inside a step: the read-only pass and the selection."""
    if variant == 'frcn':
        return {}
    if variant == 'mmdet_ohem':
        from mmdet.models.task_modules.samplers import OHEMSampler

        # its per-pool forward + loss + top-k; it has no NMS
        return dict(readonly=(OHEMSampler, 'hard_mining'))
    return dict(
        readonly=(ohem_sampler.OnlineHardExampleSampler, 'readonly_losses'),
        selection=(ohem_sampler, 'select_hard_examples'))


class VariantRunner:
    """Full training steps (forward, backward, SGD step) of one variant.

    The data is deep-copied before each step, outside the timed region (the
    RoI head renames the proposals' fields in place). Steps are driven from
    outside (:meth:`step`), so that a tool can interleave the steps of
    variants that live in different processes.

    Args:
        variant (str): A key of :data:`VARIANTS`.
        model, device, num_imgs, size, num_proposals, roi_layer, seed: The
            workload; see :func:`model_config` and :func:`synthetic_batch`.
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
        self.data = synthetic_batch(
            num_imgs, size, num_proposals, num_classes=num_classes, seed=seed)
        self.cuda = device == 'cuda'
        self.peak = Peak(device)
        self.timer = StageTimer(_stage_targets(variant), sync=self.cuda)
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
            faults = _minor_faults()
            start = time.perf_counter()
            self.log_vars = self.detector.train_step(batch, self.optim_wrapper)
            if self.cuda:
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            faults = _minor_faults() - faults
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
        if self.cuda and self.timer.targets:
            with self.timer.active():
                self.step(timed=False)
            stage_steps = 1
        for name in ('readonly', 'selection'):
            total = self.timer.totals.get(name)
            result[f'{name}_s'] = (
                total / stage_steps if total is not None else None)
        return result


def _minor_faults() -> int:
    """Minor page faults of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def run_variant(variant: str,
                warmup: int = 1,
                iters: int = 3,
                **workload) -> dict:
    """Time ``iters`` steps of a variant after ``warmup`` steps, in this
    process; see :class:`VariantRunner` for the workload and the result."""
    runner = VariantRunner(variant, **workload)
    for _ in range(warmup):
        runner.step(timed=False)
    runner.peak.reset()
    for _ in range(iters):
        runner.step()
    return runner.result()


def _layer_macs(module: nn.Module, inputs: tuple) -> List[tuple]:
    """(name, MACs, trainable, input needs grad) of each conv / fc layer
    in the order a forward of ``module`` on ``inputs`` runs them.

    Shapes come from a forward on the meta device, so nothing is computed.
    An input needs a gradient when a trainable layer ran before it.
    """
    meta = copy.deepcopy(module).to('meta')
    names = {mod: name for name, mod in meta.named_modules()}
    layers = []

    def hook(mod, args, out):
        if isinstance(mod, nn.Linear):
            macs = out.numel() * mod.in_features
        else:
            kh, kw = mod.kernel_size
            macs = out.numel() * mod.in_channels // mod.groups * kh * kw
        layers.append((names[mod], macs, mod.weight.requires_grad))

    for mod in meta.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            mod.register_forward_hook(hook)
    with torch.no_grad():
        meta(*[x.to('meta') for x in inputs])
    seen_trainable = False
    rows = []
    for name, macs, trainable in layers:
        rows.append((name, macs, trainable, seen_trainable))
        seen_trainable = seen_trainable or trainable
    return rows


def _train_flops(rows: List[tuple], input_needs_grad: bool = False) -> dict:
    """Forward and backward FLOPs (2 per multiply-add) of layer rows."""
    forward = backward = 0
    for _, macs, trainable, needs_grad in rows:
        forward += 2 * macs
        backward += 2 * macs * (
            int(trainable) + int(needs_grad or input_needs_grad))
    return dict(forward=forward, backward=backward)


def compute_floor(detector: nn.Module, batch_shape: Sequence[int],
                  num_imgs: int, num_train_rois: int,
                  num_readonly_rois: int) -> dict:
    """FLOPs of a baseline step and of OHEM's read-only pass.

    Conv and fc layers only (2 FLOPs per multiply-add); ReLU, pooling, RoI
    pooling, losses and NMS are left out. Backward per layer: the weight
    gradient (as many FLOPs as the forward) if its weights train, plus the
    input gradient (again as many) if any earlier layer trains; frozen
    layers in front of the first trainable one (VGG16's conv1_1 ... conv2_2)
    cost their forward only, and the first trainable one its weight
    gradient only.

    ``baseline = trunk(fwd + bwd) + head(fwd + bwd) x num_train_rois``,
    ``readonly = head(fwd) x num_readonly_rois``,
    ``floor = (baseline + readonly) / baseline``.
    """
    h, w = batch_shape
    trunk = _layer_macs(detector.backbone, (torch.zeros(num_imgs, 3, h, w), ))
    trunk_trains = any(p.requires_grad for p in detector.backbone.parameters())
    head = detector.roi_head
    extractor = head.bbox_roi_extractor
    size = head.bbox_head.roi_feat_size
    feats = torch.zeros(1, extractor.out_channels, *size)
    head_rows = _layer_macs(head.bbox_head, (feats, ))
    trunk_f = _train_flops(trunk)
    head_f = _train_flops(head_rows, input_needs_grad=trunk_trains)
    baseline = (
        trunk_f['forward'] + trunk_f['backward'] +
        (head_f['forward'] + head_f['backward']) * num_train_rois)
    readonly = head_f['forward'] * num_readonly_rois
    return dict(
        batch_shape=[h, w],
        num_train_rois=num_train_rois,
        num_readonly_rois=num_readonly_rois,
        trunk_forward_tflop=trunk_f['forward'] / 1e12,
        trunk_backward_tflop=trunk_f['backward'] / 1e12,
        head_forward_gflop_per_roi=head_f['forward'] / 1e9,
        baseline_step_tflop=baseline / 1e12,
        readonly_tflop=readonly / 1e12,
        floor=(baseline + readonly) / baseline)


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
        dict: ``iou`` (|fp32 & bf16| / |fp32 | bf16|), ``fraction``
        (|fp32 & bf16| / |fp32|) and the set sizes.
    """
    detector = build_model(model, 'ohem_head', device, roi_layer, seed)
    num_classes = detector.roi_head.bbox_head.num_classes
    data = synthetic_batch(
        num_imgs, size, num_proposals, num_classes=num_classes, seed=seed)
    head = detector.roi_head
    sampler = head.bbox_sampler
    with torch.no_grad():
        batch = detector.data_preprocessor(data, True)
        x = detector.extract_feat(batch['inputs'])
    candidates = []
    for sample in batch['data_samples']:
        proposals = sample.proposals
        proposals.priors = proposals.pop('bboxes')
        assign = head.bbox_assigner.assign(proposals, sample.gt_instances,
                                           sample.ignored_instances)
        candidates.append(
            sampler.sample(assign, proposals, sample.gt_instances))
    hard = {}
    for dtype in (None, torch.bfloat16):
        sampler.readonly_dtype = dtype
        torch.manual_seed(seed)
        results = sampler.mine(head, x, candidates)
        hard[dtype] = {(i, int(j))
                       for i, res in enumerate(results)
                       for j in torch.cat([res.pos_inds, res.neg_inds])}
    exact, fast = hard[None], hard[torch.bfloat16]
    both = len(exact & fast)
    return dict(
        iou=both / max(len(exact | fast), 1),
        fraction=both / max(len(exact), 1),
        num_exact=len(exact),
        num_fast=len(fast),
        num_common=both)


def environment() -> dict:
    """Date, device and versions, for the record."""
    import mmcv
    import mmdet
    import mmengine

    from .version import __version__
    cpu = platform.processor()
    flags = ''
    with contextlib.suppress(OSError):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                if line.startswith('flags'):
                    flags = line
                    break
    env = dict(
        date=time.strftime('%Y-%m-%d %H:%M:%S %Z'),
        cpu=cpu,
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        amx_bf16='amx_bf16' in flags.split(),
        avx512_bf16='avx512_bf16' in flags.split(),
        torch=torch.__version__,
        mmcv=mmcv.__version__,
        mmdet=mmdet.__version__,
        mmengine=mmengine.__version__,
        mmdet_ohem=__version__)
    if torch.cuda.is_available():
        env['gpu'] = torch.cuda.get_device_name()
        env['cuda'] = torch.version.cuda
    return env
