"""A training hook that draws the RoIs OHEM picks, every few steps."""
import contextlib
import os.path as osp
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from .hard_examples import (batch_images, draw_hard_examples,
                            find_ohem_sampler, split_mined)


@HOOKS.register_module()
class HardExampleHook(Hook):
    """Every ``interval`` iterations, save the step's images with their
    RoIs: all of them faint, the hard ones coloured by loss, foreground
    solid and background dashed, ground truth dotted.

    Only for those steps (and only in the main process) does the sampler
    keep its RoIs (``OnlineHardExampleSampler.recording()``), so the other
    steps cost nothing. Off unless a config lists it in ``custom_hooks``::

        custom_hooks = [dict(type='HardExampleHook', interval=200)]

    Args:
        interval (int): Draw every this many iterations.
        max_imgs (int): Images of the batch to draw.
        out_dir (str): Folder of the PNGs (``iter_<n>.png``), relative to
            the work dir.
        channel_order (str): Of the images the pipeline loads
            (``LoadImageFromFile``: ``'bgr'``).
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 200,
                 max_imgs: int = 4,
                 out_dir: str = 'hard_examples',
                 channel_order: str = 'bgr') -> None:
        if interval < 1 or max_imgs < 1:
            raise ValueError('HardExampleHook: interval and max_imgs must be '
                             f'positive, got {interval}, {max_imgs}')
        self.interval = interval
        self.max_imgs = max_imgs
        self.out_dir = out_dir
        self.channel_order = channel_order
        self.sampler = None
        self.num_classes = None
        self.saved = []
        self._recording = contextlib.ExitStack()
        self._records = None

    def before_train(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        self.sampler = find_ohem_sampler(model)
        self.num_classes = model.roi_head.bbox_head.num_classes

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if (is_main_process()
                and self.every_n_train_iters(runner, self.interval)):
            self._records = self._recording.enter_context(
                self.sampler.recording())

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if self._records is None:
            return
        self._recording.close()
        records, self._records = self._records, None
        mined = split_mined(records)[:self.max_imgs]
        samples = data_batch['data_samples'][:len(mined)]
        out_file = osp.join(runner.work_dir, self.out_dir,
                            f'iter_{runner.iter + 1:06d}.png')
        draw_hard_examples(
            batch_images(data_batch, self.channel_order)[:len(mined)],
            mined,
            self.num_classes,
            out_file,
            gt_bboxes=[s.gt_instances.bboxes.cpu().numpy() for s in samples],
            titles=[
                osp.basename(s.metainfo.get('img_path', f'image {i}'))
                for i, s in enumerate(samples)
            ],
            suptitle=f'Hard RoIs at iteration {runner.iter + 1}')
        self.saved.append(out_file)
        runner.logger.info(f'HardExampleHook: wrote {out_file}')
