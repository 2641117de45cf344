# Fast R-CNN VGG_CNN_M_1024 (Chatfield et al. 2014 trunk, as in Fast R-CNN
# and the OHEM paper's Table 1): conv1 96x7x7/2 + LRN + pool, conv2
# 256x5x5/2 + LRN + pool, conv3-5 512x3x3 (stride 16; conv1 frozen) ->
# RoIPool 6x6 -> fc6 4096 -> fc7 1024 (ReLU + dropout 0.5 each) -> cls +
# class-specific deltas. Sampling as the VGG16 FRCN baseline.
#
# RoIPool is CUDA-only in mmcv: on CPU override roi_layer with
#   dict(type='RoIAlign', output_size=6, sampling_ratio=2).
#
# Init: the Caffe ImageNet model (BGR, 0-255, mean-subtracted, no std),
# dumped to .npz and converted with `python tools/convert_weights.py --arch
# vgg_cnn_m_1024 VGG_CNN_M_1024.npz
# checkpoints/vgg_cnn_m_1024_fast_rcnn_init.pth` (README).
_base_ = './fast_rcnn_vgg16.py'

model = dict(
    init_cfg=dict(checkpoint='checkpoints/vgg_cnn_m_1024_fast_rcnn_init.pth'),
    data_preprocessor=dict(
        mean=[102.9801, 115.9465, 122.7717],
        std=[1., 1., 1.],
        bgr_to_rgb=False),
    backbone=dict(_delete_=True, type='VGGCNNM1024', frozen_stages=1),
    roi_head=dict(
        bbox_roi_extractor=dict(roi_layer=dict(output_size=6)),
        bbox_head=dict(fc_channels=(4096, 1024), roi_feat_size=6)))
