# fast_rcnn_mobilenetv2_ohem_bccd.py with its read-only pass in bfloat16
# (autocast; the ranking loss stays fp32), the cheaper OHEM step: the same
# hard set up to bf16 rounding of the losses. Fast on CPUs with AVX512-BF16
# or AMX and on GPUs; emulated, and slower, elsewhere (the sampler warns).
_base_ = ['./fast_rcnn_mobilenetv2_ohem_bccd.py']

model = dict(
    train_cfg=dict(rcnn=dict(sampler=dict(readonly_dtype='bfloat16'))))
