"""Model wrappers for real: two CPU processes with gloo."""
import io
import logging

import pytest
import torch
import torch.nn as nn
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import \
    allreduce_hook
from torch.nn.parallel import DataParallel, DistributedDataParallel

from engine.logging import MMLogger
from engine.model import (BaseModel, MMDistributedDataParallel,
                          MMSeparateDistributedDataParallel, is_model_wrapper)
from engine.optim import OptimWrapper, OptimWrapperDict
from engine.registry import MODEL_WRAPPERS
from model_dist_helper import run_distributed

torch.manual_seed(123)
INPUTS = torch.randn(16, 2)
TARGETS = torch.randn(16, 1)
BATCH = 4  # per rank; one process uses 2 * BATCH


def _batch(step, rank, world_size):
    """Rank ``rank``'s share of global batch ``step``."""
    per_rank = 2 * BATCH // world_size
    start = step * 2 * BATCH + rank * per_rank
    return [INPUTS[start:start + per_rank], TARGETS[start:start + per_rank]]


class Regressor(BaseModel):

    def __init__(self, unused_param=False):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(2, 1)
        if unused_param:
            self.unused = nn.Linear(1, 1)

    def forward(self, inputs, targets, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss_mse=(out - targets).pow(2))
        return list(out)


def _train_ddp(rank, world_size=2, accumulative_counts=2):
    model = MMDistributedDataParallel(Regressor())
    calls = []

    def counting_hook(state, bucket):
        calls.append(1)
        return allreduce_hook(state, bucket)

    model.register_comm_hook(None, counting_hook)
    wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1),
        accumulative_counts=accumulative_counts)
    for step in range(2):
        log_vars = model.train_step(_batch(step, rank, world_size), wrapper)
    preds = model.val_step(_batch(0, rank, world_size))
    return dict(
        params=[p.detach().clone() for p in model.module.parameters()],
        syncs=len(calls), log_keys=list(log_vars), n_preds=len(preds),
        is_wrapper=is_model_wrapper(model))


def test_ddp_train_step_matches_one_process_and_syncs_only_on_updates():
    results = run_distributed(_train_ddp)
    single = Regressor()
    wrapper = OptimWrapper(
        torch.optim.SGD(single.parameters(), lr=0.1), accumulative_counts=2)
    for step in range(2):
        single.train_step(_batch(step, 0, 1), wrapper)
    for result in results:
        # 2 iterations, accumulating over 2: one all-reduce (one bucket)
        assert result['syncs'] == 1
        assert result['log_keys'] == ['loss', 'loss_mse']
        assert result['n_preds'] == BATCH and result['is_wrapper']
        for got, expected in zip(result['params'], single.parameters()):
            torch.testing.assert_close(got, expected.detach(), rtol=1e-6,
                                       atol=0)


class TwoPart(BaseModel):
    """A GAN-shaped model: two sub-modules, one optimizer each, and a
    parameter-free sub-module the wrapper must leave alone."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.gen = nn.Linear(2, 2)
        self.disc = nn.Linear(2, 1)
        self.frozen = nn.Linear(2, 2).requires_grad_(False)

    def forward(self, inputs, targets, mode='tensor'):
        return self.disc(self.gen(inputs))

    def train_step(self, data, optim_wrapper):
        inputs, targets = self.data_preprocessor(data, True)
        loss_disc = (self.disc(self.gen(inputs).detach()) -
                     targets).pow(2).mean()
        optim_wrapper['disc'].update_params(loss_disc)
        loss_gen = self.disc(self.gen(inputs)).pow(2).mean()
        optim_wrapper['gen'].update_params(loss_gen)
        return dict(loss_disc=loss_disc.detach(), loss_gen=loss_gen.detach())


def _optim_for(model):
    return OptimWrapperDict(
        gen=OptimWrapper(torch.optim.SGD(model.gen.parameters(), lr=0.1)),
        disc=OptimWrapper(torch.optim.SGD(model.disc.parameters(), lr=0.1)))


class SeedStyleWrapper(MMSeparateDistributedDataParallel):
    """The seed document's custom wrapper: overrides train_step in terms of
    ``self.data_preprocessor`` and ``self(...)``."""

    def train_step(self, data, optim_wrapper):
        data = self.data_preprocessor(data, training=True)
        out = self(*data, mode='loss')
        loss = (out - data[1]).pow(2).mean()
        optim_wrapper['gen'].update_params(loss)
        return dict(loss=loss.detach())


def _train_separate(rank, world_size=2):
    model = TwoPart()
    wrapped = MMSeparateDistributedDataParallel(model)
    optim_wrapper = _optim_for(model)
    for step in range(2):
        wrapped.train_step(_batch(step, rank, world_size), optim_wrapper)
    with wrapped.no_sync():
        pass
    wrapped.eval()
    modes = [model.training, model.gen.training]
    wrapped.train()
    custom = SeedStyleWrapper(TwoPart())
    custom.train_step(_batch(0, rank, world_size),
                      _optim_for(custom.module))
    return dict(
        types={name: type(sub).__name__
               for name, sub in model.named_children()},
        params={k: v.clone() for k, v in model.state_dict().items()},
        custom=[p.detach().clone() for p in custom.module.gen.parameters()],
        modes=modes, is_wrapper=is_model_wrapper(wrapped))


def test_separate_ddp_wraps_trainable_parts_and_matches_one_process():
    results = run_distributed(_train_separate)
    single = TwoPart()
    optim_wrapper = _optim_for(single)
    for step in range(2):
        single.train_step(_batch(step, 0, 1), optim_wrapper)
    for result in results:
        assert result['types'] == dict(
            data_preprocessor='BaseDataPreprocessor',
            gen='MMDistributedDataParallel',
            disc='MMDistributedDataParallel', frozen='Linear')
        assert result['modes'] == [False, False] and result['is_wrapper']
        for key, value in single.state_dict().items():
            wrapped_key = key.replace('gen.', 'gen.module.').replace(
                'disc.', 'disc.module.')
            torch.testing.assert_close(
                result['params'][wrapped_key], value, rtol=1e-6, atol=0)
    # the custom wrapper synchronized its update across ranks
    for a, b in zip(results[0]['custom'], results[1]['custom']):
        assert torch.equal(a, b)


def _detect_unused(rank):
    stream = io.StringIO()
    logger = MMLogger.get_instance(f'test_engine_wrappers_unused_{rank}')
    logger.handlers.append(logging.StreamHandler(stream))
    model = MMDistributedDataParallel(
        Regressor(unused_param=True), detect_anomalous_params=True,
        find_unused_parameters=True)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    model.train_step(_batch(0, rank, 2), wrapper)
    return stream.getvalue()


def test_detect_anomalous_params_names_the_unused_parameter():
    for text in run_distributed(_detect_unused):
        assert 'module.unused.weight with shape (1, 1) is not in the ' \
            'computational graph' in text
        assert 'linear.weight' not in text


def test_wrapper_registry_and_is_model_wrapper():
    for cls in (DistributedDataParallel, DataParallel,
                MMDistributedDataParallel, MMSeparateDistributedDataParallel):
        assert MODEL_WRAPPERS.get(cls.__name__) is cls
    assert is_model_wrapper(DataParallel(nn.Linear(1, 1)))
    assert not is_model_wrapper(Regressor())


def test_a_failing_rank_fails_the_test_instead_of_hanging():

    def fail_on_rank_1(rank):
        if rank == 1:
            raise RuntimeError('boom on rank 1')
        return rank

    with pytest.raises(AssertionError, match='boom on rank 1'):
        run_distributed(fail_on_rank_1, timeout=20)
