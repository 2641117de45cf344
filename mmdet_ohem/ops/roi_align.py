"""RoIAlign of the read-only pass on CPU, as one multithreaded gather.

mmcv's CPU RoIAlign loops over RoIs and channels on one thread: for the
read-only pass over 2 x 2000 RoIs of VGG16 it took longer than fc6 and fc7
together. Without a gradient, RoIAlign is a weighted sum of feature
vectors: with channels last, every output bin sums ``4 * grid_h * grid_w``
(bilinear taps x samples) rows of the feature table, which
``F.embedding_bag`` computes on all cores. The sample points, the boundary
rules and the weights are mmcv's (``roi_align.cpp``); only the order of the
additions differs, so the result agrees with mmcv's to float rounding.
"""
import contextlib
from typing import Iterator, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.ops import RoIAlign
from torch import Tensor, nn


def _axis_taps(start: Tensor, length: Tensor, size: int, out_size: int,
               grid: int) -> tuple:
    """Bilinear taps of the sample points along one axis, as mmcv does.

    Args:
        start (Tensor): (n, ) RoI start in feature coordinates.
        length (Tensor): (n, ) RoI length in feature coordinates.
        size (int): Feature map size along the axis.
        out_size (int): Output bins along the axis.
        grid (int): Samples per bin along the axis.

    Returns:
        tuple[Tensor]: Each (n, out_size * grid): whether the sample lies
        inside [-1, size], the low and high cell, and their weights.
    """
    bin_size = (length / out_size)[:, None, None]
    bins = torch.arange(out_size, dtype=start.dtype)[None, :, None]
    steps = torch.arange(grid, dtype=start.dtype)[None, None, :] + 0.5
    pos = start[:, None, None] + bins * bin_size + steps * bin_size / grid
    pos = pos.flatten(1)
    inside = (pos >= -1.0) & (pos <= size)
    pos = pos.clamp(min=0)
    low = pos.long()
    # on the last cell both taps are that cell
    edge = low >= size - 1
    low = low.clamp(max=size - 1)
    high = torch.where(edge, low, low + 1)
    pos = torch.where(edge, low.to(pos.dtype), pos)
    frac = pos - low
    return inside, low, high, 1. - frac, frac


class ChannelsLastRoIAlign:
    """mmcv's average RoIAlign with a fixed sampling grid, without grad.

    The features are copied channels-last once, when it is built; each call
    pools a chunk of RoIs from that table. With ``reuse_output``, the k-th
    call since :meth:`next_chunk` writes into the k-th of the buffers it
    keeps (grown as needed), so that a pass over many chunks allocates (and
    page-faults) its largest tensors once instead of once per chunk; a
    result is valid until the same call after the next :meth:`next_chunk`.

    Args:
        feat (Tensor): (N, C, H, W) features.
        output_size (Sequence[int]): (out_h, out_w).
        spatial_scale (float): Feature cells per image pixel.
        sampling_ratio (int): Samples per bin and axis; must be > 0.
        aligned (bool): Shift by half a cell (mmcv's ``aligned``).
        table_dtype (torch.dtype, optional): dtype of the table, in which
            the taps and the weights are; by default ``feat``'s.
        out_dtype (torch.dtype, optional): dtype of the result; by default
            the table's.
        reuse_output (bool): See above.
    """

    #: RoIs per gather: 128 x 7 x 7 x 512 channels is 6.4 MB in bf16
    PIECE = 128

    def __init__(self,
                 feat: Tensor,
                 output_size: Sequence[int],
                 spatial_scale: float,
                 sampling_ratio: int,
                 aligned: bool = True,
                 table_dtype: Optional[torch.dtype] = None,
                 out_dtype: Optional[torch.dtype] = None,
                 reuse_output: bool = False) -> None:
        if sampling_ratio <= 0:
            raise ValueError('ChannelsLastRoIAlign needs a fixed sampling '
                             f'grid, got sampling_ratio={sampling_ratio}')
        num_imgs, self.channels, self.height, self.width = feat.shape
        self.output_size = tuple(output_size)
        self.spatial_scale = spatial_scale
        self.grid = sampling_ratio
        self.aligned = aligned
        table_dtype = table_dtype or feat.dtype
        self.out_dtype = out_dtype or table_dtype
        # one copy: channels last, in the table's dtype
        self.table = feat.new_empty(
            (num_imgs, self.height, self.width, self.channels),
            dtype=table_dtype).copy_(feat.permute(0, 2, 3,
                                                  1)).view(-1, self.channels)
        self.reuse_output = reuse_output
        self._buffers: List[Tensor] = []
        self._calls = 0

    def __call__(self, rois: Tensor) -> Tensor:
        """Pool ``rois``.

        Args:
            rois (Tensor): (n, 5) RoIs (batch index, x1, y1, x2, y2) in
                image coordinates.

        Returns:
            Tensor: (n, C, out_h, out_w) contiguous pooled features.
        """
        out = self._output(len(rois))
        taps = self._taps(rois)
        # The outer sums and products of the taps, the gather and its output
        # go in pieces whose temporaries stay below glibc's mmap threshold:
        # malloc then reuses their memory instead of mapping and faulting it
        # in afresh for every piece.
        for start in range(0, len(rois), self.PIECE):
            piece = slice(start, start + self.PIECE)
            self._pool([t[piece] for t in taps], out[piece])
        return out

    def next_chunk(self) -> None:
        """The next call writes into the first buffer again."""
        self._calls = 0

    def _output(self, num_rois: int) -> Tensor:
        shape = (num_rois, self.channels, *self.output_size)
        if not self.reuse_output:
            return self.table.new_empty(shape, dtype=self.out_dtype)
        k, self._calls = self._calls, self._calls + 1
        if k == len(self._buffers) or len(self._buffers[k]) < num_rois:
            buffer = self.table.new_empty(shape, dtype=self.out_dtype)
            self._buffers[k:k + 1] = [buffer]
        return self._buffers[k][:num_rois]

    def _taps(self, rois: Tensor) -> List[Tensor]:
        """Per axis and RoI, the rows of the table (y) or the columns (x)
        that each bin reads, with their weights: (n, bins, (2 * grid) ** 2)
        each, in a bin's order of taps: (y sample, y tap, x sample, x tap).

        A bin's taps are the outer sum (rows) and product (weights) of its
        y and x taps; :meth:`_pool` forms them with both factors laid out
        whole along the last axis (y repeated, x tiled), so that those
        broadcasts run over (2 * grid) ** 2 contiguous values rather than
        pairs: with pairs, building them cost more than the gather itself.
        The mean over a bin's samples is folded into the y weights (a power
        of two for the usual grids, so exact). The order of additions is
        not mmcv's; the result agrees with mmcv's to float rounding.
        """
        out_h, out_w = self.output_size
        grid, height, width = self.grid, self.height, self.width
        boxes = rois[:, 1:].float() * self.spatial_scale - (0.5 if self.aligned
                                                            else 0.)
        wh = boxes[:, 2:] - boxes[:, :2]
        if not self.aligned:  # mmcv's legacy mode: RoIs are at least 1 cell
            wh = wh.clamp(min=1.)
        in_y, y_lo, y_hi, hy, ly = _axis_taps(boxes[:, 1], wh[:, 1], height,
                                              out_h, grid)
        in_x, x_lo, x_hi, hx, lx = _axis_taps(boxes[:, 0], wh[:, 0], width,
                                              out_w, grid)
        num_rois, k = len(rois), 2 * grid
        rows = (rois[:, 0].long() * height)[:, None, None]
        y_shape, x_shape = (num_rois, out_h, k), (num_rois, out_w, k)
        tap_y = ((rows + torch.stack([y_lo, y_hi], -1)) * width).view(y_shape)
        w_y = (torch.stack([hy, ly], -1) *
               (in_y / (grid * grid))[..., None]).view(y_shape)
        tap_x = torch.stack([x_lo, x_hi], -1).view(x_shape)
        w_x = (torch.stack([hx, lx], -1) * in_x[..., None]).view(x_shape)

        # y repeated (y0, y0, .., y1, y1, ..), x tiled (x0, x1, .., x0, ..)
        return [
            tap_y.repeat_interleave(k, -1),
            w_y.repeat_interleave(k, -1),
            tap_x.repeat(1, 1, k),
            w_x.repeat(1, 1, k)
        ]

    def _pool(self, taps: Sequence[Tensor], out: Tensor) -> None:
        """Pool into ``out``, (n, C, out_h, out_w), the RoIs of ``taps``
        (see :meth:`_taps`)."""
        tap_y, w_y, tap_x, w_x = taps
        (num_rois, out_h, kk), out_w = tap_y.shape, tap_x.shape[1]
        rows = tap_y[:, :, None] + tap_x[:, None]
        weight = w_y[:, :, None] * w_x[:, None]
        pooled = F.embedding_bag(
            rows.view(-1, kk),
            self.table,
            per_sample_weights=weight.view(-1, kk).to(self.table.dtype),
            mode='sum')
        # (n, out_h, out_w, C) -> contiguous (n, C, out_h, out_w), cast on
        # the way where the result has another dtype
        out.copy_(
            pooled.view(num_rois, out_h, out_w,
                        self.channels).permute(0, 3, 1, 2))


def readonly_roi_pooler(extractor,
                        x: Sequence[Tensor]) -> Optional[ChannelsLastRoIAlign]:
    """A :class:`ChannelsLastRoIAlign` for a read-only pass, where it applies.

    It applies to a single-level extractor with mmcv's average
    :class:`~mmcv.ops.RoIAlign` of a fixed sampling grid, on CPU, without
    grad. Anything else returns None: use the extractor. Build it in the
    pass (under its autocast), use it for the pass's chunks (calling
    :meth:`~ChannelsLastRoIAlign.next_chunk` before each: its outputs are
    reused), then drop it.

    Args:
        extractor: The RoI head's ``bbox_roi_extractor``.
        x (Sequence[Tensor]): Multi-level features, each (N, C, H, W).
    """
    layers = getattr(extractor, 'roi_layers', None)
    if (torch.is_grad_enabled() or layers is None or len(layers) != 1
            or extractor.num_inputs != 1 or x[0].device.type != 'cpu'):
        return None
    layer = layers[0]
    if (type(layer) is not RoIAlign or layer.pool_mode != 'avg'
            or layer.sampling_ratio <= 0 or layer.use_torchvision):
        return None
    # Outside autocast the sums are in fp32 (mmcv's RoI kernels have no
    # bf16). Under bf16 autocast the table and the bilinear weights are
    # bf16, as autocast makes the inputs of any bf16 op: the gather and the
    # (n, C, 7, 7) copy then move half the bytes, and the result stays
    # within 2**-7 of sum(|weight * tap|) of the fp32 one. Under fp16
    # autocast, fp32 sums come out in fp16. Either way the result is in the
    # dtype the fc layers would cast it to.
    table_dtype, out_dtype = torch.float32, None
    if torch.is_autocast_enabled('cpu'):
        out_dtype = torch.get_autocast_dtype('cpu')
        if out_dtype == torch.bfloat16:
            table_dtype = out_dtype
    return ChannelsLastRoIAlign(
        x[0],
        layer.output_size,
        layer.spatial_scale,
        layer.sampling_ratio,
        layer.aligned,
        table_dtype=table_dtype,
        out_dtype=out_dtype,
        reuse_output=True)


class _GatherLayer(nn.Module):
    """A RoI layer that pools ``feat`` by a :class:`ChannelsLastRoIAlign`
    and any other features by the layer it stands in for."""

    def __init__(self, layer: nn.Module, feat: Tensor,
                 pool: ChannelsLastRoIAlign) -> None:
        super().__init__()
        self.layer, self.pool = layer, pool
        self.feat = feat
        self.output_size = layer.output_size  # the extractor reads it

    def forward(self, feat: Tensor, rois: Tensor) -> Tensor:
        if feat is self.feat:
            return self.pool(rois)
        return self.layer(feat, rois)


@contextlib.contextmanager
def readonly_roi_layer(
        extractor,
        x: Sequence[Tensor]) -> Iterator[Optional[ChannelsLastRoIAlign]]:
    """While active, ``extractor`` pools ``x[0]`` by the gather of
    :func:`readonly_roi_pooler`, where that applies; otherwise nothing
    changes. Whatever the RoI head's own forward does with the extractor
    (Double-Head calls it twice, once with scaled RoIs) stays as it is:
    only the RoI layer is swapped. Yields the gather (None where it does
    not apply): call its ``next_chunk`` before each chunk of RoIs.

    Args:
        extractor: A RoI extractor with ``roi_layers`` (mmdet's
            ``SingleRoIExtractor`` and subclasses).
        x (Sequence[Tensor]): Multi-level features, each (N, C, H, W).
    """
    pool = readonly_roi_pooler(extractor, x)
    if pool is None:
        yield None
        return
    layer = extractor.roi_layers[0]
    extractor.roi_layers[0] = _GatherLayer(layer, x[0], pool)
    try:
        yield pool
    finally:
        extractor.roi_layers[0] = layer
