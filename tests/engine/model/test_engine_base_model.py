"""BaseModel as a user sees it: train/val/test steps, loss parsing and its
errors, device handling."""
from contextlib import contextmanager

import pytest
import torch
import torch.nn as nn

from engine.model import (BaseDataPreprocessor, BaseModel,
                          ImgDataPreprocessor, NonFiniteLossError)


class RecordingOptimWrapper:
    """Stands in for OptimWrapper: records what the model hands it."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.contexts = []
        self.losses = []

    @contextmanager
    def optim_context(self, model):
        self.contexts.append(model)
        yield

    def update_params(self, loss):
        self.losses.append(loss)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()


class ToyModel(BaseModel):
    """The seed document's toy model."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.linear = nn.Linear(1, 1)

    def forward(self, img, label, mode='tensor'):
        feat = self.linear(img)
        if mode == 'loss':
            return dict(loss1=(feat - label).pow(2),
                        loss2=(feat - label).abs())
        if mode == 'predict':
            return [f for f in feat]
        return feat


class ReturnsModel(BaseModel):
    """Returns whatever it was given as its loss output."""

    def __init__(self, output):
        super().__init__()
        self.output = output

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.output


def test_train_step_updates_and_returns_detached_log_vars():
    torch.manual_seed(0)
    model = ToyModel()
    wrapper = RecordingOptimWrapper(torch.optim.SGD(model.parameters(), 0.1))
    before = model.linear.weight.detach().clone()
    data = [torch.ones(2, 1), torch.ones(2, 1)]
    log_vars = model.train_step(data, wrapper)

    assert wrapper.contexts == [model]
    assert list(log_vars) == ['loss', 'loss1', 'loss2']
    assert all(not v.requires_grad for v in log_vars.values())
    assert torch.equal(log_vars['loss'], wrapper.losses[0].detach())
    assert not torch.equal(model.linear.weight, before)


def test_val_and_test_step_return_one_prediction_per_sample():
    model = ToyModel()
    data = dict(img=torch.ones(3, 1), label=torch.zeros(3, 1))
    for step in (model.val_step, model.test_step):
        preds = step(data)
        assert isinstance(preds, list) and len(preds) == 3


def test_parse_losses_sums_every_loss_key_after_mean():
    model = ReturnsModel(None)
    a = torch.tensor([1., 3.])
    b = [torch.tensor([2., 4.]), torch.tensor(5.)]
    total, log_vars = model.parse_losses(
        dict(loss_a=a, loss_b=b, accuracy=torch.tensor([10., 20.])))
    assert total.item() == 2. + (3. + 5.)
    assert list(log_vars) == ['loss', 'loss_a', 'loss_b', 'accuracy']
    assert log_vars['accuracy'].item() == 15.


def test_parse_losses_keeps_a_model_loss_key_in_first_place():
    # mmengine quirk kept: the model's own 'loss' entry is what is logged
    # under 'loss', while the total of all loss keys is optimized
    total, log_vars = ReturnsModel(None).parse_losses(
        dict(loss=torch.tensor(1.), loss_aux=torch.tensor(2.)))
    assert total.item() == 3.
    assert list(log_vars) == ['loss', 'loss_aux']
    assert log_vars['loss'].item() == 1.


@pytest.mark.parametrize('output, match', [
    ([torch.tensor(1.)], r"ReturnsModel.forward\(mode=\"loss\"\) must "
     r"return a dict of loss tensors, but returned list"),
    (dict(loss=1.0), r"ReturnsModel.*'loss' is a float"),
    (dict(loss=[torch.tensor(1.), 2]), r"ReturnsModel.*'loss' is a list"),
    (dict(loss=torch.tensor(3)), r"'loss' as a torch.int64 tensor"),
])
def test_bad_loss_output_names_model_key_and_type(output, match):
    model = ReturnsModel(output)
    wrapper = RecordingOptimWrapper(None)
    with pytest.raises(TypeError, match=match):
        model.train_step(dict(inputs=torch.ones(1)), wrapper)


def test_loss_output_without_a_loss_key_is_an_error():
    model = ReturnsModel(dict(acc=torch.tensor(1.)))
    with pytest.raises(ValueError, match=r"no entry whose key contains "
                       r"\"loss\" \(keys: \['acc'\]\)"):
        model.train_step([torch.ones(1)], RecordingOptimWrapper(None))


def test_preprocessor_output_of_wrong_type_is_an_error():

    class Weird(BaseDataPreprocessor):

        def forward(self, data, training=False):
            return torch.ones(1)

    model = ToyModel(data_preprocessor=Weird())
    with pytest.raises(TypeError, match='should return a dict, list or '
                       'tuple, but returned Tensor'):
        model.val_step([torch.ones(1, 1), torch.ones(1, 1)])


def test_forward_is_abstract():
    with pytest.raises(TypeError, match='abstract'):
        BaseModel()


def test_data_preprocessor_argument():
    assert type(ToyModel().data_preprocessor) is BaseDataPreprocessor
    built = ToyModel(
        data_preprocessor=dict(type='ImgDataPreprocessor', mean=[1], std=[2]))
    assert isinstance(built.data_preprocessor, ImgDataPreprocessor)
    with pytest.raises(TypeError, match='dict or an nn.Module, but got str'):
        ToyModel(data_preprocessor='ImgDataPreprocessor')


def test_moving_the_model_moves_the_preprocessor_device():
    model = ToyModel()
    model.to('meta')
    assert model.data_preprocessor.device == torch.device('meta')
    model.to(torch.float64)  # no device: unchanged
    assert model.data_preprocessor.device == torch.device('meta')
    other = ToyModel()
    assert other.cpu() is other
    assert other.data_preprocessor.device == torch.device('cpu')


def test_non_finite_loss_error_message():
    err = NonFiniteLossError(dict(loss=float('nan'), loss1=0.5), iteration=7)
    assert isinstance(err, FloatingPointError)
    assert err.iteration == 7 and err.losses['loss1'] == 0.5
    assert 'iteration 7' in str(err) and 'loss=nan' in str(err)
