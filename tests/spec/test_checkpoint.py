import copy
import copyreg
import os
import pickle
import pickletools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint
from torch import nn
from torch.serialization import get_unsafe_globals_in_checkpoint

from mmdet_ohem.engine.checkpoint import (convert_trusted_checkpoint,
                                          load_from_local_weights_only,
                                          register_safe_checkpoints)
from mmdet_ohem.errors import UnsafeCheckpointError

REPO_ROOT = Path(__file__).resolve().parents[2]


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels, mode='tensor'):
        out = self.linear(inputs).squeeze(1)
        if mode == 'loss':
            return dict(loss=((out - labels)**2).mean())
        return out


class ToyDataset(torch.utils.data.Dataset):
    metainfo = dict(classes=('toy', ))

    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return dict(
            inputs=torch.full((2, ), float(idx)), labels=torch.tensor(0.5))


class Foreign:
    """A class no allowlist knows, standing in for third-party state."""


class Pwn:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def make_runner(work_dir, name, **kwargs):
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=2,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(
            type='MultiStepLR', milestones=[2], by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=4),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False)),
        randomness=dict(seed=0),
        **kwargs)


def buffer_contents(log_scalars):
    return {
        key: [values.tolist() for values in buffer.data] + [buffer.max_length]
        for key, buffer in log_scalars.items()
    }


def pickle_globals(obj):
    data = pickle.dumps(obj, protocol=2)
    return {
        arg
        for op, arg, _ in pickletools.genops(data) if op.name == 'GLOBAL'
    }


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A real training run: its checkpoint and its final message hub."""
    register_safe_checkpoints()
    work_dir = tmp_path_factory.mktemp('train')
    runner = make_runner(work_dir, 'train')
    runner.train()
    return work_dir / 'iter_4.pth', buffer_contents(
        runner.message_hub.log_scalars)


def test_register_is_idempotent():
    register_safe_checkpoints()
    register_safe_checkpoints()
    assert CheckpointLoader._get_checkpoint_loader(
        'a.pth') is load_from_local_weights_only
    assert HistoryBuffer in torch.serialization.get_safe_globals()


def test_history_buffer_pickles_without_numpy_or_getattr():
    register_safe_checkpoints()
    buffer = HistoryBuffer([1.5, 2.5], [1, 2], max_length=5)
    buffer.update(3.0)
    assert pickle_globals(buffer) == {
        'mmengine.logging.history_buffer HistoryBuffer'
    }
    for clone in (pickle.loads(pickle.dumps(buffer)), copy.deepcopy(buffer)):
        assert clone is not buffer
        assert clone.max_length == 5
        for got, expected in zip(clone.data, buffer.data):
            np.testing.assert_array_equal(got, expected)
            assert got.dtype == expected.dtype
        assert clone.mean() == buffer.mean()


def test_trained_checkpoint_loads_and_resumes(trained, tmp_path):
    path, trained_buffers = trained
    assert get_unsafe_globals_in_checkpoint(path) == []
    checkpoint = _load_checkpoint(str(path), map_location='cpu')
    assert checkpoint['meta']['iter'] == 4

    runner = make_runner(tmp_path, 'resume', load_from=str(path), resume=True)
    runner.load_or_resume()
    assert runner.iter == 4
    assert buffer_contents(runner.message_hub.log_scalars) == trained_buffers


def test_missing_checkpoint_is_named(tmp_path):
    register_safe_checkpoints()
    path = str(tmp_path / 'absent.pth')
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        _load_checkpoint(path)


def test_foreign_global_is_refused_without_running(tmp_path):
    register_safe_checkpoints()
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, meta=dict(x=Pwn(marker))), path)
    with pytest.raises(UnsafeCheckpointError) as err:
        _load_checkpoint(str(path))
    message = str(err.value)
    assert str(path) in message
    assert f'{os.system.__module__}.system' in message
    assert 'mmdet-ohem trust_checkpoint' in message and '--trust' in message
    assert not marker.exists()


def run_tool(*args):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), env.get('PYTHONPATH')]))
    return subprocess.run(
        [sys.executable,
         str(REPO_ROOT / 'tools' / 'trust_checkpoint.py')] +
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        env=env)


VANILLA = """
import sys, torch
from mmengine.logging import MessageHub
hub = MessageHub.get_instance('vanilla')
hub.update_scalar('train/loss', 1.5)
hub.update_scalar('train/loss', 0.5)
hub.update_info('iter', 3)
torch.save(dict(state_dict=dict(w=torch.ones(2)), message_hub=hub.state_dict(),
                meta=dict(iter=3)), sys.argv[1])
assert not [m for m in sys.modules if m.startswith('mmdet_ohem')]
"""


def test_plain_mmengine_checkpoint_loads_safely(tmp_path):
    """Written by a process that never imported this package: its
    HistoryBuffers pickle their statistics as getattr(HistoryBuffer, ...);
    exactly that shape loads, through the loader ``mim test`` uses."""
    path = tmp_path / 'vanilla.pth'
    subprocess.run([sys.executable, '-c', VANILLA, str(path)], check=True)
    assert 'builtins.getattr' in get_unsafe_globals_in_checkpoint(path)
    register_safe_checkpoints()
    checkpoint = CheckpointLoader.load_checkpoint(str(path), 'cpu')
    loss = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert (loss.current(), loss.mean()) == (0.5, 1.0)
    assert checkpoint['state_dict']['w'].tolist() == [1., 1.]


class GetAttr:
    """Pickles as ``getattr(obj, name)``, called on load."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return getattr, (self.obj, self.name)


@pytest.mark.parametrize('obj, name', [(HistoryBuffer, 'update'),
                                       (HistoryBuffer, '__init__'),
                                       (np.ndarray, 'tofile'),
                                       (torch.Tensor, 'numpy')])
def test_other_getattr_is_refused(obj, name, tmp_path):
    """Any other getattr, even on HistoryBuffer, is code: refused."""
    register_safe_checkpoints()
    path = tmp_path / 'getattr.pth'
    torch.save(dict(state_dict={}, meta=dict(x=GetAttr(obj, name))), path)
    with pytest.raises(UnsafeCheckpointError, match='builtins.getattr'):
        CheckpointLoader.load_checkpoint(str(path), 'cpu')


def test_plain_mmengine_checkpoint_with_code_is_refused(tmp_path):
    """The HistoryBuffer shape does not let other code in beside it."""
    register_safe_checkpoints()
    path = tmp_path / 'vanilla.pth'
    subprocess.run([sys.executable, '-c', VANILLA, str(path)], check=True)
    checkpoint = torch.load(path, weights_only=False)
    marker = tmp_path / 'pwned'
    checkpoint['meta']['x'] = Pwn(marker)
    with pytest.MonkeyPatch.context() as patch:
        patch.delitem(copyreg.dispatch_table, HistoryBuffer)
        torch.save(checkpoint, path)
    with pytest.raises(UnsafeCheckpointError, match='system'):
        CheckpointLoader.load_checkpoint(str(path), 'cpu')
    assert not marker.exists()


@pytest.mark.slow
def test_other_foreign_checkpoint_needs_trust(trained, tmp_path):
    """A global no allowlist knows: refused; the trust tool converts it
    (refusing without --trust) into a file that loads."""
    checkpoint = torch.load(trained[0], weights_only=True)
    checkpoint['meta']['x'] = np.array(['a', 'b'])  # a string array
    legacy = tmp_path / 'legacy.pth'
    torch.save(checkpoint, legacy)
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint(str(legacy))

    out = tmp_path / 'converted.pth'
    result = run_tool(legacy, out)
    assert result.returncode != 0
    assert '--trust' in result.stderr
    assert not out.exists()

    result = run_tool(legacy, out, '--trust')
    assert result.returncode == 0, result.stderr
    assert get_unsafe_globals_in_checkpoint(out) == []
    converted = _load_checkpoint(str(out))
    assert converted['meta']['x'] == ['a', 'b']
    assert buffer_contents(
        converted['message_hub']['log_scalars']) == trained[1]


def test_failed_conversion_writes_nothing(trained, tmp_path):
    checkpoint = torch.load(trained[0], weights_only=True)
    checkpoint['meta']['extra'] = [Foreign()]
    src = tmp_path / 'src' / 'foreign.pth'
    src.parent.mkdir()
    torch.save(checkpoint, src)
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    with pytest.raises(UnsafeCheckpointError) as err:
        convert_trusted_checkpoint(str(src), str(out_dir / 'converted.pth'))
    message = str(err.value)
    assert f'{__name__}.Foreign' in message
    assert 'meta/extra/0' in message
    assert os.listdir(out_dir) == []


NUMERIC_META = dict(
    step=np.int64(7),
    lr=np.float32(0.5),
    half=np.float16(1.5),
    flag=np.bool_(True),
    hist=np.arange(6, dtype=np.int32).reshape(2, 3),
    scores=np.linspace(0, 1, 4))


def test_numeric_numpy_values_load_with_weights_only(tmp_path):
    register_safe_checkpoints()
    path = tmp_path / 'numpy.pth'
    torch.save(
        dict(
            state_dict={},
            meta=NUMERIC_META,
            message_hub=dict(
                runtime_info=dict(eta=np.float64(3.25), epoch=np.uint8(2)))),
        path)
    loaded = _load_checkpoint(str(path))
    for key, value in NUMERIC_META.items():
        assert type(loaded['meta'][key]) is type(value), key
        np.testing.assert_array_equal(loaded['meta'][key], value)
    assert loaded['message_hub']['runtime_info'] == dict(eta=3.25, epoch=2)


@pytest.mark.parametrize('payload', ['object_array', 'string_array'])
def test_object_and_string_arrays_stay_refused(payload, tmp_path):
    register_safe_checkpoints()
    marker = tmp_path / 'pwned'
    value = (
        np.array([Pwn(marker), 1], dtype=object)
        if payload == 'object_array' else np.array(['a', 'b']))
    path = tmp_path / 'arrays.pth'
    torch.save(dict(state_dict={}, meta=dict(x=value)), path)
    with pytest.raises(
            UnsafeCheckpointError, match='mmdet-ohem trust_checkpoint'):
        _load_checkpoint(str(path))
    assert not marker.exists()


def test_trust_converts_the_numpy_values_it_refuses(tmp_path):
    state_dict = nn.Linear(2, 1).state_dict()
    src, dst = tmp_path / 'src.pth', tmp_path / 'dst.pth'
    torch.save(
        dict(
            state_dict=state_dict,
            meta=dict(
                NUMERIC_META,
                mixed=np.array([1, 'x', None], dtype=object),
                names=np.array(['a', 'b']),
                name=np.str_('c'),
                nested=[(np.array([2.5], dtype=object), )])), src)
    convert_trusted_checkpoint(str(src), str(dst))
    assert get_unsafe_globals_in_checkpoint(dst) == []
    loaded = _load_checkpoint(str(dst))
    meta = loaded['meta']
    assert meta['mixed'] == [1, 'x', None]
    assert meta['names'] == ['a', 'b'] and meta['name'] == 'c'
    assert meta['nested'] == [([2.5], )]
    # numeric values load as they are, weights and their metadata too
    for key, value in NUMERIC_META.items():
        assert type(meta[key]) is type(value), key
    assert loaded['state_dict']._metadata == state_dict._metadata
    torch.testing.assert_close(loaded['state_dict']['weight'],
                               state_dict['weight'])
