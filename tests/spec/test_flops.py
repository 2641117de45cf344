"""FLOP counting of the benchmark's floor."""
from mmdet_ohem.workbench.benchmark.flops import train_flops


def test_frozen_layers_cost_their_forward_only():
    rows = [('conv1', 10, False, False), ('conv2', 20, True, False),
            ('conv3', 30, True, True)]
    flops = train_flops(rows)
    assert flops['forward'] == 2 * 60
    # conv2: weight gradient only; conv3: weight and input gradients
    assert flops['backward'] == 2 * (20 + 2 * 30)
