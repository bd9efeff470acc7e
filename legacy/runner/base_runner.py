"""mmcv's BaseRunner: state, hook registration and checkpoint plumbing.

The training loops of the subclasses only orchestrate: hooks are called
through the engine's event core, parameter updates are done by the optimizer
hooks through the engine's OptimWrapper, checkpoints are written and read by
the engine's checkpoint I/O. What stays here is mmcv's observable state
(``epoch``, ``iter``, ``inner_iter``, ``outputs``, ``log_buffer``, ``mode``,
``meta``...) and its registration API.
"""
import logging
import os
import os.path as osp
import warnings
from abc import ABCMeta, abstractmethod
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import torch
from torch.optim import Optimizer

from engine.dist import get_dist_info
from engine.hooks.priority import Priority, get_priority
from engine.runner.hook_dispatch import describe, dispatches_with
from ..checkpoint import load_checkpoint
from ..errors import MissingOutputError
from ..hooks.hook import HOOKS, Hook
from ..log_buffer import LogBuffer
from ..parallel import is_module_wrapper
from .dispatch import LegacyHookDispatcher
from .exact_resume import ExactResumeMixin
from .training_hooks import TrainingHooksMixin
from .utils import get_host_info, get_time_str

# Stages of the epoch loop that the training code needs from the model.
_MODE_METHODS = {'train': 'train_step', 'val': 'val_step'}


def _priority_name(hook: Hook) -> str:
    try:
        return Priority(hook.priority).name
    except ValueError:
        return str(hook.priority)


class BaseRunner(TrainingHooksMixin, ExactResumeMixin, metaclass=ABCMeta):
    """The base class of mmcv's runners.

    Args:
        model: the model; it must have ``train_step`` (and ``val_step`` for
            validation) unless ``batch_processor`` is given.
        batch_processor: deprecated ``batch_processor(model, data,
            train_mode)`` used instead of the model's step methods.
        optimizer: an optimizer, a dict of optimizers, or None.
        work_dir: where checkpoints and logs go (created if missing).
        logger: the ``logging.Logger`` used during training.
        meta: information saved in checkpoints and logged at start.
        max_iters / max_epochs: the length of training; only one of them.
    """

    def __init__(self,
                 model: torch.nn.Module,
                 batch_processor: Optional[Callable] = None,
                 optimizer: Union[Dict, Optimizer, None] = None,
                 work_dir: Optional[str] = None,
                 logger: Optional[logging.Logger] = None,
                 meta: Optional[Dict] = None,
                 max_iters: Optional[int] = None,
                 max_epochs: Optional[int] = None) -> None:
        inner = model.module if is_module_wrapper(model) else model
        if batch_processor is not None:
            if not callable(batch_processor):
                raise TypeError('batch_processor must be callable, but got '
                                f'{type(batch_processor).__name__}')
            warnings.warn(
                'batch_processor is deprecated, please implement '
                'train_step() and val_step() in the model instead.',
                DeprecationWarning)
            if hasattr(inner, 'train_step') or hasattr(inner, 'val_step'):
                raise RuntimeError(
                    'batch_processor and model.train_step()/model.val_step() '
                    'cannot be both available.')
        elif not hasattr(model, 'train_step'):
            raise TypeError(
                f'{type(inner).__name__} has no train_step(data, optimizer) '
                'method, and no batch_processor was given')

        if isinstance(optimizer, dict):
            for name, optim in optimizer.items():
                if not isinstance(optim, Optimizer):
                    raise TypeError(
                        'optimizer must be a dict of torch.optim.Optimizers, '
                        f'but optimizer["{name}"] is a '
                        f'{type(optim).__name__}')
        elif optimizer is not None and not isinstance(optimizer, Optimizer):
            raise TypeError('optimizer must be a torch.optim.Optimizer, a '
                            'dict of them or None, but got '
                            f'{type(optimizer).__name__}')
        if not isinstance(logger, logging.Logger):
            raise TypeError('logger must be a logging.Logger (e.g. from '
                            f'get_logger(name)), but got '
                            f'{type(logger).__name__}')
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(
                f'meta must be a dict or None, but got {type(meta).__name__}')
        for name, value in (('max_epochs', max_epochs),
                            ('max_iters', max_iters)):
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int)
                                      or value < 0):
                raise TypeError(f'{name} must be a non-negative int or None, '
                                f'but got {type(value).__name__}: {value!r}')
        if max_epochs is not None and max_iters is not None:
            raise ValueError(
                'Only one of `max_epochs` or `max_iters` can be set, got '
                f'max_epochs={max_epochs} and max_iters={max_iters}.')

        self.model = model
        self.batch_processor = batch_processor
        self.optimizer = optimizer
        self.logger = logger
        self.meta = meta
        if isinstance(work_dir, str):
            self.work_dir: Optional[str] = osp.abspath(work_dir)
            os.makedirs(self.work_dir, exist_ok=True)
        elif work_dir is None:
            self.work_dir = None
        else:
            raise TypeError('"work_dir" must be a str or None, but got '
                            f'{type(work_dir).__name__}')
        self._model_name = type(inner).__name__

        self._rank, self._world_size = get_dist_info()
        self.timestamp = get_time_str()
        self.mode: Optional[str] = None
        self._dispatcher = LegacyHookDispatcher()
        self._epoch = 0
        self._iter = 0
        self._inner_iter = 0
        self._max_epochs = max_epochs
        self._max_iters = max_iters
        self.log_buffer = LogBuffer()

    @property
    def model_name(self) -> str:
        """Name of the model class (inside any wrapper)."""
        return self._model_name

    @property
    def rank(self) -> int:
        return self._rank

    @property
    def world_size(self) -> int:
        return self._world_size

    @property
    def hooks(self) -> List[Hook]:
        """The registered hooks, in the order they are called."""
        return self._dispatcher.hooks

    @property
    def _hooks(self) -> List[Hook]:
        # mmcv's attribute name, read by hooks such as EvalHook.
        return self._dispatcher.hooks

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    @property
    def inner_iter(self) -> int:
        return self._inner_iter

    @property
    def max_epochs(self) -> Optional[int]:
        return self._max_epochs

    @property
    def max_iters(self) -> Optional[int]:
        return self._max_iters

    @abstractmethod
    def train(self, data_loader, **kwargs) -> None:
        pass

    @abstractmethod
    def val(self, data_loader, **kwargs) -> None:
        pass

    @abstractmethod
    def run(self, data_loaders: List, workflow: List[Tuple[str, int]],
            **kwargs) -> Any:
        pass

    @abstractmethod
    def save_checkpoint(self,
                        out_dir: str,
                        filename_tmpl: str,
                        save_optimizer: bool = True,
                        meta: Optional[Dict] = None,
                        create_symlink: bool = True) -> None:
        pass

    # ------------------------------------------------------------ optimizer
    def _optimizers(self) -> Dict[str, Optimizer]:
        if isinstance(self.optimizer, Optimizer):
            return {'': self.optimizer}
        if isinstance(self.optimizer, dict):
            return self.optimizer
        raise RuntimeError(
            'lr and momentum are not available: the runner has no optimizer')

    def current_lr(self) -> Union[List[float], Dict[str, List[float]]]:
        """Learning rates of all param groups (a dict per optimizer name when
        the runner has a dict of optimizers)."""
        lrs = {
            name: [group['lr'] for group in optim.param_groups]
            for name, optim in self._optimizers().items()
        }
        return lrs[''] if isinstance(self.optimizer, Optimizer) else lrs

    def current_momentum(self) -> Union[List[float], Dict[str, List[float]]]:
        """Momentums of all param groups (``betas[0]`` for Adam-like
        optimizers, 0 without momentum)."""

        def momentum(group: dict) -> float:
            if 'momentum' in group:
                return group['momentum']
            if 'betas' in group:
                return group['betas'][0]
            return 0

        values = {
            name: [momentum(group) for group in optim.param_groups]
            for name, optim in self._optimizers().items()
        }
        return values[''] if isinstance(self.optimizer,
                                        Optimizer) else values

    # ---------------------------------------------------------------- hooks
    def register_hook(self,
                      hook: Hook,
                      priority: Union[int, str, Priority] = 'NORMAL') -> None:
        """Insert ``hook``; hooks of equal priority run in registration
        order. ``hook.priority`` is set to the integer priority."""
        if not isinstance(hook, Hook):
            raise TypeError('register_hook expects a legacy Hook instance, '
                            f'but got {type(hook).__name__}')
        if hasattr(hook, 'priority'):
            raise ValueError('"priority" is a reserved attribute for hooks')
        priority = get_priority(priority)
        hook.priority = priority  # type: ignore[attr-defined]
        self._dispatcher.add(hook, priority)

    def register_hook_from_cfg(self, hook_cfg: Dict) -> None:
        """Build a hook from ``HOOKS`` (``type`` and its arguments; an
        optional ``priority`` key is the registration priority)."""
        hook_cfg = hook_cfg.copy()
        priority = hook_cfg.pop('priority', 'NORMAL')
        self.register_hook(HOOKS.build(hook_cfg), priority=priority)

    def call_hook(self, fn_name: str) -> None:
        """Run stage ``fn_name`` on every hook that implements it."""
        dispatcher = self._dispatcher
        methods = dispatcher.methods.get(fn_name)
        if methods is None:  # a stage no hook base class declares
            methods = dispatcher.methods_for(fn_name)
        for method in methods:
            method(self)

    def _direct_stages(self) -> Optional[Dict[str, tuple]]:
        """The dispatcher's stage -> methods mapping, for a loop that calls
        the per-iteration stages itself; None when this runner dispatches
        differently (a subclass or an instance overriding ``call_hook``).
        The mapping is updated in place when hooks are registered."""
        if not dispatches_with(self, BaseRunner):
            return None
        return self._dispatcher.methods

    def get_hook_info(self) -> str:
        """Which hooks run at each stage, as logged when the run starts."""
        return describe(self._dispatcher, _priority_name)

    # --------------------------------------------------------- checkpoints
    # how this runner counts iterations in its checkpoints (mmcv's
    # IterBasedRunner saves the index of the last completed iteration)
    _checkpoint_by_epoch = True

    def _legacy_checkpoint(self, checkpoint: Dict) -> Dict:
        """An engine-layout checkpoint (saved by ``engine.runner.Runner``)
        in mmcv's layout, so that this runner resumes it; others as they
        are."""
        if 'message_hub' not in checkpoint:
            return checkpoint
        from compat.checkpoints import engine_to_legacy
        return engine_to_legacy(checkpoint, by_epoch=self._checkpoint_by_epoch)

    def load_checkpoint(
        self,
        filename: str,
        map_location: Union[str, Callable] = 'cpu',
        strict: bool = False,
        revise_keys: List = [(r'^module.', '')],
    ) -> Dict:
        """Load the weights of ``filename`` into the model (safe load)."""
        return load_checkpoint(
            self.model,
            filename,
            map_location,
            strict,
            self.logger,
            revise_keys=revise_keys)

    def _default_map_location(self) -> Union[str, Callable]:
        if torch.cuda.is_available():
            device_id = torch.cuda.current_device()
            return lambda storage, loc: storage.cuda(device_id)
        return 'cpu'

    def _resume_optimizer(self, checkpoint: Dict) -> None:
        state = checkpoint['optimizer']
        if isinstance(self.optimizer, Optimizer):
            self.optimizer.load_state_dict(state)
        elif isinstance(self.optimizer, dict):
            for name, optim in self.optimizer.items():
                if name not in state:
                    raise KeyError(
                        f'the checkpoint has no optimizer state for '
                        f'"{name}"; it has {sorted(state)}')
                optim.load_state_dict(state[name])
        else:
            raise TypeError('Optimizer should be dict or '
                            'torch.optim.Optimizer but got '
                            f'{type(self.optimizer).__name__}')

    def resume(self,
               checkpoint: str,
               resume_optimizer: bool = True,
               map_location: Union[str, Callable] = 'default') -> None:
        """Continue from ``checkpoint``: weights, epoch, iter, meta (hook
        messages included) and, by default, the optimizer state. Engine
        checkpoints are converted to mmcv's layout first."""
        if map_location == 'default':
            map_location = self._default_map_location()
        ckpt = self._legacy_checkpoint(
            self.load_checkpoint(checkpoint, map_location=map_location))
        meta = self._checkpoint_meta(ckpt, checkpoint)
        self._take_resume_state(meta)
        self._epoch = meta['epoch']
        self._iter = meta['iter']
        if self.meta is None:
            self.meta = {}
        self.meta.setdefault('hook_msgs', {})
        self.meta['hook_msgs'].update(meta.get('hook_msgs', {}))
        self._rescale_iter_for_world_size(meta)
        self.meta = meta
        if 'optimizer' in ckpt and resume_optimizer:
            self._resume_optimizer(ckpt)
        self.logger.info('resumed epoch %d, iter %d', self.epoch, self.iter)

    def _rescale_iter_for_world_size(self, meta: Dict) -> None:
        """mmcv rescales the iteration count when a run saved with N GPUs
        (``gpu_ids`` in the saved config) resumes with another number."""
        config = meta.get('config')
        if not isinstance(config, str):
            return
        from engine.config import Config
        try:
            gpu_ids = Config.fromstring(config, '.py').get('gpu_ids', None)
        except Exception:  # a config that no longer parses: keep the iter
            return
        if gpu_ids and len(gpu_ids) != self.world_size:
            self._iter = int(self._iter * len(gpu_ids) / self.world_size)
            self.logger.info('the iteration number is changed due to '
                             'change of GPU number')

    # ------------------------------------------------------------- helpers
    def _check_workflow(self, data_loaders: List, workflow: List) -> None:
        """Fail before the run starts on a workflow the runner or the model
        cannot execute (mmcv fails in the middle of the run)."""
        if not isinstance(data_loaders, list):
            raise TypeError('data_loaders must be a list, but got '
                            f'{type(data_loaders).__name__}')
        if not isinstance(workflow, list) or not all(
                isinstance(flow, tuple) and len(flow) == 2
                for flow in workflow):
            raise TypeError('workflow must be a list of (mode, count) '
                            f'tuples such as [("train", 1)], got {workflow!r}')
        if len(data_loaders) != len(workflow):
            raise ValueError(
                f'got {len(data_loaders)} data loaders for a workflow of '
                f'{len(workflow)} phases {workflow}: one loader per phase')
        model = self.model.module if is_module_wrapper(self.model) \
            else self.model
        for mode, count in workflow:
            if not isinstance(mode, str):
                raise TypeError('mode in workflow must be a str, but got '
                                f'{type(mode).__name__}')
            if not isinstance(count, int) or count < 0:
                raise ValueError(f'the count of phase {mode!r} must be a '
                                 f'non-negative int, got {count!r}')
            if mode.startswith('_') or not callable(getattr(self, mode, None)):
                raise ValueError(
                    f'runner has no method named "{mode}" to run a workflow '
                    f"phase; use 'train' or 'val'")
            step = _MODE_METHODS.get(mode)
            if (step and self.batch_processor is None
                    and not hasattr(model, step)):
                raise ValueError(
                    f'the workflow has a {mode!r} phase but '
                    f'{type(model).__name__} has no {step}() method')
        if not any(mode == 'train' and count > 0 for mode, count in workflow):
            # the run ends after max epochs/iterations of training: without
            # a train phase mmcv loops forever
            raise ValueError(f'the workflow {workflow} has no train phase; '
                             'the run would never end')

    def _log_start(self, workflow: List, unit: str, total: int) -> None:
        work_dir = self.work_dir if self.work_dir is not None else 'NONE'
        self.logger.info('Start running, host: %s, work_dir: %s',
                         get_host_info(), work_dir)
        self.logger.info('Hooks will be executed in the following order:\n%s',
                         self.get_hook_info())
        self.logger.info('workflow: %s, max: %d %s', workflow, total, unit)

    def _check_outputs(self, outputs: Any, method: str) -> None:
        if not isinstance(outputs, dict):
            raise TypeError(
                f'{method} must return a dict (with "loss", "log_vars" and '
                f'"num_samples" for training), but {self._model_name}.'
                f'{method} returned {type(outputs).__name__}')

    def _update_log_buffer(self, outputs: Dict, method: str) -> None:
        log_vars = outputs.get('log_vars')
        if log_vars is None:
            return
        try:
            num_samples = outputs['num_samples']
        except KeyError:
            raise MissingOutputError(
                f'{self._model_name}.{method} returned "log_vars" without '
                '"num_samples", which weights them in the log') from None
        self.log_buffer.update(log_vars, num_samples)

    def _meta_for_checkpoint(self, meta: Optional[Dict]) -> Dict:
        """``meta`` updated with the runner's meta; hooks with state to save
        (``before_save_checkpoint``) write it into ``self.meta`` first."""
        if meta is None:
            meta = {}
        elif not isinstance(meta, dict):
            raise TypeError('meta should be a dict or None, but got '
                            f'{type(meta).__name__}')
        self.call_hook('before_save_checkpoint')
        if self.meta is not None:
            meta.update(self.meta)
        self._add_resume_state(meta)
        return meta
