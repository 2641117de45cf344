"""Short mmengine training runs of the demo configs on generated data."""
import os.path as osp

from mmengine.config import Config
from mmengine.hooks import Hook

from mmdet_ohem.workbench.synthetic import make_voc_dataset

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = {
    'ohem': osp.join(REPO, 'configs/demo/fast_rcnn_tiny_ohem_synthvoc.py'),
    'baseline': osp.join(REPO, 'configs/demo/fast_rcnn_tiny_synthvoc.py'),
}
OHEM_STATS = ('ohem_num_hard', 'ohem_hard_fg_frac', 'ohem_all_fg_frac',
              'ohem_hard_loss', 'ohem_all_loss', 'ohem_invalid_rois')


def skip_config_formatting(monkeypatch=None):
    """Let the Runner write its config unformatted.

    mmengine formats the whole config with yapf each time it logs, dumps or
    checkpoints it, about 2 s on 2 cores; these tests never read that text.
    """

    def text(cfg):
        return repr(cfg.to_dict())

    if monkeypatch is None:
        Config.pretty_text = property(text)
    else:
        monkeypatch.setattr(Config, 'pretty_text', property(text))


def make_data(root):
    """8 trainval images of 96 x 128 with 60 proposals each."""
    make_voc_dataset(
        str(root),
        num_trainval=8,
        num_test=4,
        img_size=(96, 128),
        max_proposals=60)
    return str(root)


def demo_cfg(name, data_root, work_dir, max_iters, **options):
    """A demo config that trains ``max_iters`` iterations of 2 images,
    deterministically, logs every iteration and does not validate.

    Args:
        name (str): ``'ohem'`` or ``'baseline'``.
        options: ``merge_from_dict`` options on top.
    """
    cfg = Config.fromfile(CONFIGS[name])
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': str(data_root),
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': max_iters + 1,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': max_iters,
        'default_hooks.checkpoint.max_keep_ckpts': -1,
        'randomness': dict(seed=0, deterministic=True),
        'work_dir': str(work_dir),
        # Runners made in the same second would share a message hub
        'experiment_name': f'{osp.basename(str(work_dir))}_{max_iters}',
        **options
    })
    for key in ('val', 'test'):
        cfg[f'{key}_dataloader'] = cfg[f'{key}_cfg'] = None
        cfg[f'{key}_evaluator'] = None
    return cfg


class RecordHook(Hook):
    """Records each iteration's loss and the OHEM statistics it logged."""

    priority = 'LOWEST'

    def __init__(self):
        self.losses = {}
        self.stats = {}

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        step = runner.iter + 1
        self.losses[step] = outputs['loss'].item()
        scalars = runner.message_hub.log_scalars
        self.stats[step] = {
            key: scalars[f'train/{key}'].current()
            for key in OHEM_STATS if f'train/{key}' in scalars
        }
