"""Seeded synthetic training batches, as a dataloader gives them: for the
benchmark, the tests and the golden run."""
from typing import List, Sequence, Tuple

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torch import Tensor


def synthetic_batch(num_imgs: int = 2,
                    size: Tuple[int, int] = (64, 96),
                    num_gts: Sequence[int] = (3, 2),
                    num_proposals: Sequence[int] = (40, 50),
                    num_classes: int = 3,
                    gt_size: Tuple[float, float] = (12, 32),
                    proposal_size: Tuple[float, float] = (8, 48),
                    near_fraction: float = 0.5,
                    jitter: float = 4,
                    seed: int = 0) -> Tuple[Tensor, List[DetDataSample]]:
    """Random images with GT boxes and proposals, some jittered GT copies.

    GT boxes lie in the top-left quarter of the image, ``gt_size`` pixels a
    side; ``near_fraction`` of each image's proposals are copies of its GT
    boxes jittered by ``jitter`` pixels (foreground RoIs and near-duplicates
    for the NMS to remove), the rest anywhere, ``proposal_size`` pixels a
    side.

    Args:
        num_gts, num_proposals (Sequence[int]): Per image.

    Returns:
        tuple[Tensor, list[DetDataSample]]: (N, 3, H, W) float images in
        [0, 255) and their samples with ``gt_instances``,
        ``ignored_instances`` and ``proposals``.
    """
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    imgs = torch.rand(num_imgs, 3, h, w, generator=gen) * 255
    samples = []
    for i in range(num_imgs):
        n_gt, n_prop = num_gts[i], num_proposals[i]
        xy = torch.rand(n_gt, 2, generator=gen) * torch.tensor([w / 2, h / 2])
        wh = gt_size[0] + torch.rand(
            n_gt, 2, generator=gen) * (
                gt_size[1] - gt_size[0])
        gt = torch.cat([xy, xy + wh], dim=1)
        num_near = int(n_prop * near_fraction)
        near = gt[torch.randint(
            max(n_gt, 1),
            (num_near, ), generator=gen)] if n_gt else gt.new_zeros(0, 4)
        near = near + torch.randn(len(near), 4, generator=gen) * jitter
        xy = torch.rand(
            n_prop - len(near), 2, generator=gen) * torch.tensor(
                [w - 16, h - 16])
        wh = proposal_size[0] + torch.rand(
            len(xy), 2, generator=gen) * (
                proposal_size[1] - proposal_size[0])
        anywhere = torch.cat([xy, xy + wh], dim=1)
        props = torch.cat([near, anywhere])
        props[:, 0::2] = props[:, 0::2].clamp(0, w - 1)
        props[:, 1::2] = props[:, 1::2].clamp(0, h - 1)
        props[:, 2:] = torch.maximum(props[:, 2:], props[:, :2] + 2)
        sample = DetDataSample(
            metainfo=dict(
                img_id=i,
                img_path=f'img_{i}.jpg',
                img_shape=(h, w),
                ori_shape=(h, w),
                pad_shape=(h, w),
                batch_input_shape=(h, w),
                scale_factor=(1., 1.),
                flip=False))
        sample.gt_instances = InstanceData(
            bboxes=gt,
            labels=torch.randint(num_classes, (n_gt, ), generator=gen))
        sample.ignored_instances = InstanceData(
            bboxes=torch.zeros(0, 4), labels=torch.zeros(0).long())
        sample.proposals = InstanceData(
            bboxes=props, scores=torch.rand(len(props), generator=gen))
        samples.append(sample)
    return imgs, samples


def as_data_batch(imgs: Tensor, samples: List[DetDataSample]) -> dict:
    """The batch as a dataloader collates it: uint8 images, samples."""
    return dict(
        inputs=[img.to(torch.uint8) for img in imgs], data_samples=samples)
