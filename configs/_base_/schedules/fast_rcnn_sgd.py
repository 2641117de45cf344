# Fast R-CNN's solver: SGD momentum 0.9, weight decay 5e-4, lr 1e-3 (biases
# 2x lr and no decay, as in the Caffe prototxts), x0.1 at 30k, 80k iterations
# of N=2 images on one GPU (VGG16 on VOC). The other schedules of the paper
# are below; a config picks one with
#   train_cfg = dict(max_iters=40000, val_interval=40000)
#   param_scheduler = _base_.param_scheduler_40k
# With more GPUs, keep 2 images in all or pass --auto-scale-lr
# (base_batch_size=2).
_base_ = 'mmdet::_base_/default_runtime.py'
custom_imports = dict(imports=['mmdet_ohem'], allow_failed_imports=False)

max_iters = 80000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=0.0005),
    paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[30000],
        gamma=0.1)
]
# VGG_CNN_M_1024 on VOC (Fast R-CNN's solver for it): 40k, x0.1 at 30k.
param_scheduler_40k = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=40000,
        milestones=[30000],
        gamma=0.1)
]
# COCO (as we read the paper; check it before citing): 320k, x0.1 at 240k.
param_scheduler_320k = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=320000,
        milestones=[240000],
        gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=2)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=10000,
        max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
# A NaN/inf in an input, a loss or a gradient stops the run before the
# weights change, naming the iteration and the images (the last checkpoint
# stays good); --resume continues exactly as an uninterrupted run would.
custom_hooks = [
    dict(type='NonFiniteLossHook', action='raise'),
    dict(type='ExactResumeHook')
]
