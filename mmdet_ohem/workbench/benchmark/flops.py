"""FLOPs of a training step and of OHEM's read-only pass, counted from
the layers a forward runs (conv and fc only)."""
import copy
from typing import List, Sequence

import torch
import torch.nn as nn


def layer_macs(module: nn.Module, inputs: tuple) -> List[tuple]:
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


def train_flops(rows: List[tuple], input_needs_grad: bool = False) -> dict:
    """Forward and backward FLOPs (2 per multiply-add) of layer rows."""
    forward = backward = 0
    for _, macs, trainable, needs_grad in rows:
        forward += 2 * macs
        backward += 2 * macs * (
            int(trainable) + int(needs_grad or input_needs_grad))
    return dict(forward=forward, backward=backward)


class _Trunk(nn.Module):
    """What a detector runs on whole images: backbone, neck, RPN head."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.backbone = detector.backbone
        self.neck = detector.neck if detector.with_neck else None
        self.rpn_head = detector.rpn_head if getattr(detector, 'with_rpn',
                                                     False) else None

    def forward(self, img):
        x = self.backbone(img)
        if self.neck is not None:
            x = self.neck(x)
        if self.rpn_head is not None:
            self.rpn_head(x)
        return x


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

    ``baseline = trunk(fwd + bwd) + head(fwd + bwd) x num_train_rois``
    (the trunk: backbone, neck and RPN head, where the detector has them),
    ``readonly = head(fwd) x num_readonly_rois``,
    ``floor = (baseline + readonly) / baseline``.
    """
    h, w = batch_shape
    trunk = layer_macs(_Trunk(detector), (torch.zeros(num_imgs, 3, h, w), ))
    trunk_trains = any(p.requires_grad for p in detector.backbone.parameters())
    head = detector.roi_head
    extractor = head.bbox_roi_extractor
    size = head.bbox_head.roi_feat_size
    feats = torch.zeros(1, extractor.out_channels, *size)
    head_rows = layer_macs(head.bbox_head, (feats, ))
    trunk_f = train_flops(trunk)
    head_f = train_flops(head_rows, input_needs_grad=trunk_trains)
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
