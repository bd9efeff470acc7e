"""Data preprocessors: moving batches without needless rebuilding, image
normalization errors."""
from collections import namedtuple

import pytest
import torch

from engine.model import BaseDataPreprocessor, ImgDataPreprocessor, \
    stack_batch

Pair = namedtuple('Pair', ['a', 'b'])


class Movable:
    """A data sample with its own ``to`` (like mmengine's data elements)."""

    def __init__(self, tensor):
        self.tensor = tensor

    def to(self, device, non_blocking=False):
        return Movable(self.tensor.to(device))


def test_nothing_to_move_returns_the_batch_itself():
    pre = BaseDataPreprocessor()
    batch = dict(inputs=[torch.ones(2), torch.zeros(2)],
                 data_samples=(Pair(torch.ones(1), 'x'), None, b'raw'))
    assert pre(batch) is batch
    listed = [torch.ones(1), torch.ones(1)]
    assert pre(listed, training=True) is listed


def test_moving_rebuilds_containers_with_their_types():
    pre = BaseDataPreprocessor().to('meta')
    assert pre.device == torch.device('meta')
    batch = dict(inputs=[torch.ones(2), 3],
                 data_samples=(Pair(torch.ones(1), 'x'), 'text', None),
                 sample=Movable(torch.ones(1)))
    out = pre(batch)
    assert out is not batch and batch['inputs'][0].device.type == 'cpu'
    assert isinstance(out['inputs'], list) and out['inputs'][1] == 3
    assert out['inputs'][0].device.type == 'meta'
    pair = out['data_samples'][0]
    assert isinstance(pair, Pair) and pair.a.device.type == 'meta'
    assert pair.b == 'x'
    assert isinstance(out['data_samples'], tuple)
    assert out['sample'].tensor.device.type == 'meta'
    assert pre.cpu().device == torch.device('cpu')


def test_img_preprocessor_leaves_the_input_dict_alone():
    pre = ImgDataPreprocessor(mean=[0.], std=[2.])
    batch = dict(inputs=torch.full((1, 1, 2, 2), 4, dtype=torch.uint8))
    out = pre(batch)
    assert batch['inputs'].dtype == torch.uint8
    assert out['data_samples'] is None
    assert torch.equal(out['inputs'], torch.full((1, 1, 2, 2), 2.))


@pytest.mark.parametrize('kwargs, match', [
    (dict(bgr_to_rgb=True, rgb_to_bgr=True), 'cannot both be True'),
    (dict(mean=[1, 2, 3]), 'both be given or both be None'),
    (dict(mean=[1, 2], std=[1, 2]), '`mean` should be a sequence of 1'),
    (dict(pad_size_divisor=0), 'positive int, but got 0'),
])
def test_img_preprocessor_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ImgDataPreprocessor(**kwargs)


@pytest.mark.parametrize('inputs, match', [
    (torch.zeros(3, 4, 4), r'\(N, C, H, W\) tensor or a list .* shape '
     r'\(3, 4, 4\)'),
    ([torch.zeros(1, 4, 4)], r'`mean` has 3 values, so inputs must have 3 '
     r'channels'),
    ([], 'non-empty list'),
])
def test_img_preprocessor_bad_inputs(inputs, match):
    pre = ImgDataPreprocessor(mean=[1, 2, 3], std=[1, 2, 3])
    with pytest.raises((ValueError, TypeError), match=match):
        pre(dict(inputs=inputs))


def test_img_preprocessor_needs_a_dict_with_inputs():
    with pytest.raises(TypeError, match='dict with an `inputs` key'):
        ImgDataPreprocessor()([torch.zeros(1, 3, 2, 2)])


def test_stack_batch_pads_right_and_bottom_to_divisor():
    batch = stack_batch([torch.ones(1, 2, 3), torch.ones(1, 3, 1)],
                        pad_size_divisor=2, pad_value=-1)
    assert batch.shape == (2, 1, 4, 4)
    assert batch[0, 0, :2, :3].eq(1).all() and batch[0, 0, 2:].eq(-1).all()
    assert batch[1, 0, :3, :1].eq(1).all() and batch[1, 0, :, 1:].eq(-1).all()
    with pytest.raises(ValueError, match='same number of dimensions'):
        stack_batch([torch.ones(1, 2), torch.ones(1, 2, 2)])


@pytest.mark.cuda
def test_cuda_device_follows_the_model_and_moves_batches():
    pre = BaseDataPreprocessor(non_blocking=True).cuda(0)
    assert pre.device == torch.device('cuda', 0)
    batch = dict(inputs=[torch.ones(2).pin_memory()], meta='m')
    out = pre(batch)
    assert out['inputs'][0].is_cuda and out['meta'] == 'm'
    assert pre(out) is out  # already there: returned as is
    img = ImgDataPreprocessor(mean=[1, 2, 3], std=[1, 1, 1]).cuda()
    res = img(dict(inputs=torch.zeros(1, 3, 2, 2, dtype=torch.uint8)))
    assert res['inputs'].is_cuda
