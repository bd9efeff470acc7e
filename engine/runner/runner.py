"""The Runner: mmengine's training helper, orchestration only.

Parts are built from configs in :mod:`.builders`, checkpoints are read and
written by :mod:`.checkpoint`, what goes into them by :mod:`.resume`, and
hooks are called through :mod:`.hook_dispatch`. Training, validation and
test components are built lazily, when ``train()``, ``val()`` or ``test()``
needs them, so a test-only config does not need an optimizer.
"""
import copy
import inspect
import os
import os.path as osp
import time
from typing import Any, Callable, Dict, List, Optional, Union

import torch.nn as nn

from engine.config import Config
from engine.dist.failures import report_rank_failures
from engine.hooks import Hook, Priority, get_priority
from engine.logging.json_lines import flush_open_files
from engine.registry import RUNNERS
from . import builders, resume as resume_lib
from .checkpoint import (_load_checkpoint_to_model, find_latest_checkpoint,
                         load_checkpoint_file, save_checkpoint)
from .hook_dispatch import ENGINE_STAGE_HELPERS, HookDispatcher, describe
from .loops import BaseLoop
from .randomness import set_random_seed
from .signals import (DEFAULT_STOP_SIGNALS, StopRequest, TrainingInterrupted,
                      interrupt_message)


def _unique_name(manager: Any, name: str) -> str:
    """Global instances (logger, message hub) are looked up by name; two
    runners started in the same second must not share them."""
    candidate, n = name, 0
    while manager.check_instance_created(candidate):
        n += 1
        candidate = f'{name}_{n}'
    return candidate


@RUNNERS.register_module()
class Runner:
    """Train, validate and test a model; see mmengine's Runner for the
    meaning of each argument. Differences are listed in
    docs/differences/runner.md."""

    def __init__(
        self,
        model: Union[nn.Module, Dict],
        work_dir: str,
        train_dataloader: Optional[Any] = None,
        val_dataloader: Optional[Any] = None,
        test_dataloader: Optional[Any] = None,
        train_cfg: Optional[Dict] = None,
        val_cfg: Optional[Dict] = None,
        test_cfg: Optional[Dict] = None,
        auto_scale_lr: Optional[Dict] = None,
        optim_wrapper: Optional[Any] = None,
        param_scheduler: Optional[Any] = None,
        val_evaluator: Optional[Any] = None,
        test_evaluator: Optional[Any] = None,
        default_hooks: Optional[Dict[str, Any]] = None,
        custom_hooks: Optional[List[Any]] = None,
        data_preprocessor: Optional[Any] = None,
        load_from: Optional[str] = None,
        resume: bool = False,
        launcher: str = 'none',
        env_cfg: Dict = dict(dist_cfg=dict(backend='nccl')),
        log_processor: Optional[Dict] = None,
        log_level: Union[str, int] = 'INFO',
        visualizer: Optional[Any] = None,
        default_scope: Optional[str] = 'mmengine',
        randomness: Dict = dict(seed=None),
        experiment_name: Optional[str] = None,
        cfg: Optional[Any] = None,
    ) -> None:
        builders.check_runner_args(locals())
        self._work_dir = osp.abspath(os.fspath(work_dir))
        os.makedirs(self._work_dir, exist_ok=True)

        if isinstance(cfg, Config):
            self.cfg = copy.deepcopy(cfg)
        elif isinstance(cfg, dict):
            self.cfg = Config(cfg)
        elif cfg is None:
            self.cfg = Config(dict())
        else:
            raise TypeError('Runner argument cfg must be a dict, a Config or '
                            f'None, but got {type(cfg).__name__}')

        self._train_dataloader = train_dataloader
        self._train_loop: Any = train_cfg
        self.optim_wrapper: Any = optim_wrapper
        self.auto_scale_lr = auto_scale_lr
        self.param_schedulers: Any = param_scheduler
        self._val_dataloader = val_dataloader
        self._val_loop: Any = val_cfg
        self._val_evaluator = val_evaluator
        self._test_dataloader = test_dataloader
        self._test_loop: Any = test_cfg
        self._test_evaluator = test_evaluator

        self._launcher = launcher
        self._distributed = launcher != 'none'
        self.setup_env(env_cfg)
        # Signals are delivered to each rank on its own, at different
        # iterations; stopping one rank alone would hang the others in their
        # next collective, so distributed runs keep the default handling.
        self.stop_request = StopRequest(
            env_cfg.get('stop_signals', DEFAULT_STOP_SIGNALS)
            if self._world_size == 1 else None,
            on_signal=self._on_stop_signal,
            where='env_cfg["stop_signals"]')
        self._randomness_cfg = dict(randomness)
        self.set_randomness(**self._randomness_cfg)

        if experiment_name is not None:
            self._experiment_name = f'{experiment_name}_{self._timestamp}'
        elif self.cfg.filename is not None:
            stem = osp.splitext(osp.basename(self.cfg.filename))[0]
            self._experiment_name = f'{stem}_{self._timestamp}'
        else:
            self._experiment_name = self._timestamp
        self._log_dir = osp.join(self._work_dir, self._timestamp)
        os.makedirs(self._log_dir, exist_ok=True)
        self.default_scope = default_scope

        self.log_processor = builders.build_log_processor(
            {} if log_processor is None else log_processor)
        self.logger = self.build_logger(log_level=log_level)
        self._log_env(env_cfg)
        self.message_hub = self.build_message_hub()
        self.visualizer = builders.visualizer_from(visualizer, self.logger)

        self._load_from = load_from
        self._resume = resume
        self._has_loaded = False
        self._grads_restored = False

        if isinstance(model, dict) and data_preprocessor is not None:
            model = dict(model)
            model.setdefault('data_preprocessor', data_preprocessor)
        self.model = self.build_model(model)
        self.model = self.wrap_model(self.cfg.get('model_wrapper_cfg'),
                                     self.model)
        inner = getattr(self.model, 'module', self.model)
        self._model_name = type(inner).__name__

        self._dispatcher = HookDispatcher(Hook, Hook.stages,
                                          ENGINE_STAGE_HELPERS)
        self._hooks = self._dispatcher.hooks
        self._hook_methods = self._dispatcher.methods
        self.register_hooks(default_hooks, custom_hooks)
        self.logger.info('Hooks will be executed in the following order:\n'
                         f'{self.get_hooks_info()}')
        self.dump_config()

    @classmethod
    def from_cfg(cls, cfg: Any) -> 'Runner':
        """Build a runner from a config holding the constructor arguments
        (``model`` and ``work_dir`` required, the rest optional)."""
        cfg = copy.deepcopy(cfg)
        kwargs = {}
        for name, param in inspect.signature(cls).parameters.items():
            if name == 'cfg' or param.kind is param.VAR_KEYWORD:
                continue
            if param.default is param.empty:
                if name not in cfg:
                    raise KeyError(f'the config has no {name!r}, which '
                                   f'{cls.__name__}.from_cfg needs')
                kwargs[name] = cfg[name]
            else:
                kwargs[name] = cfg.get(name, param.default)
        return cls(**kwargs, cfg=cfg)

    # ------------------------------------------------------------ properties
    experiment_name = property(lambda self: self._experiment_name)
    model_name = property(lambda self: self._model_name)
    work_dir = property(lambda self: self._work_dir)
    log_dir = property(lambda self: self._log_dir)
    launcher = property(lambda self: self._launcher)
    distributed = property(lambda self: self._distributed)
    rank = property(lambda self: self._rank)
    world_size = property(lambda self: self._world_size)
    deterministic = property(lambda self: self._deterministic)
    seed = property(lambda self: self._seed)
    timestamp = property(lambda self: self._timestamp)
    hooks = property(lambda self: self._hooks)

    def _from_train_loop(name: str) -> property:
        return property(lambda self: getattr(self._train_loop, name)
                        if isinstance(self._train_loop, BaseLoop) else 0)

    max_epochs = _from_train_loop('max_epochs')
    max_iters = _from_train_loop('max_iters')
    epoch = _from_train_loop('epoch')
    iter = _from_train_loop('iter')
    del _from_train_loop

    def _lazy_loop(kind: str) -> property:
        """The loop of ``kind``, built from its config on first use."""
        def get(self: 'Runner') -> Any:
            loop = getattr(self, f'_{kind}_loop')
            if loop is not None and not isinstance(loop, BaseLoop):
                loop = getattr(self, f'build_{kind}_loop')(loop)
                setattr(self, f'_{kind}_loop', loop)
            return loop
        return property(get)

    train_loop = _lazy_loop('train')
    val_loop = _lazy_loop('val')
    test_loop = _lazy_loop('test')
    del _lazy_loop

    train_dataloader = property(lambda self: self.train_loop.dataloader)
    val_dataloader = property(lambda self: self.val_loop.dataloader)
    test_dataloader = property(lambda self: self.test_loop.dataloader)
    val_evaluator = property(lambda self: self.val_loop.evaluator)
    test_evaluator = property(lambda self: self.test_loop.evaluator)
    val_interval = property(lambda self: self.train_loop.val_interval)
    val_begin = property(lambda self: self.train_loop.val_begin)

    # ------------------------------------------------------------- set-up
    def setup_env(self, env_cfg: Dict) -> None:
        """cuDNN benchmark, the process group (when a launcher is given),
        rank/world size and the run's timestamp (rank 0's, shared)."""
        import torch
        from engine.dist import broadcast, get_dist_info, init_dist, \
            is_distributed
        if env_cfg.get('cudnn_benchmark'):
            torch.backends.cudnn.benchmark = True
        if self._distributed and not is_distributed():
            init_dist(self._launcher, **env_cfg.get('dist_cfg', {}))
        self._rank, self._world_size = get_dist_info()
        now = time.time()
        if self._world_size > 1:
            stamp = torch.tensor(now, dtype=torch.float64)
            broadcast(stamp)
            now = stamp.item()
        self._timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime(now))

    def set_randomness(self,
                       seed: Optional[int] = None,
                       diff_rank_seed: bool = False,
                       deterministic: bool = False) -> None:
        self._deterministic = deterministic
        self._seed = set_random_seed(
            seed=seed, deterministic=deterministic,
            diff_rank_seed=diff_rank_seed)

    def build_logger(self,
                     log_level: Union[int, str] = 'INFO',
                     log_file: Optional[str] = None,
                     **kwargs: Any) -> Any:
        from engine.logging import MMLogger
        if log_file is None:
            log_file = osp.join(self._log_dir, f'{self._timestamp}.log')
        kwargs.setdefault('file_mode', 'a')
        name = kwargs.pop('name', None) or _unique_name(
            MMLogger, self._experiment_name)
        logger = MMLogger.get_instance(
            name, log_level=log_level, log_file=log_file, **kwargs)
        # Its handlers drop records below log_level anyway; refusing them at
        # the logger saves building a record (and walking the stack for its
        # caller) for every filtered line, e.g. every log interval.
        logger.setLevel(log_level)
        return logger

    def build_message_hub(self, message_hub: Optional[Dict] = None) -> Any:
        from engine.logging import MessageHub
        if not isinstance(message_hub, (dict, type(None))):
            raise TypeError('message_hub must be a dict or None, but got '
                            f'{type(message_hub).__name__}')
        message_hub = dict(message_hub or {})
        name = message_hub.pop('name', None) or _unique_name(
            MessageHub, self._experiment_name)
        return MessageHub.get_instance(name, **message_hub)

    def _log_env(self, env_cfg: Dict) -> None:
        self.logger.info(builders.runtime_env_text(
            env_cfg, self._randomness_cfg, self._seed, self._launcher,
            self._world_size))
        if self.cfg:
            self.logger.info(f'Config:\n{self.cfg.pretty_text}')

    def dump_config(self) -> None:
        """Save the config next to the checkpoints (rank 0; only when the
        runner was given one)."""
        if self._rank != 0 or not self.cfg:
            return
        name = osp.basename(self.cfg.filename) if self.cfg.filename else \
            f'{self._timestamp}.py'
        try:
            self.cfg.dump(osp.join(self._work_dir, name))
        except TypeError as e:  # built objects have no config-file form
            self.logger.warning(f'The config is not saved to the work_dir: '
                                f'{e}')

    # ------------------------------------------------------------ builders
    build_model = staticmethod(builders.build_model)
    build_dataloader = staticmethod(builders.build_dataloader)
    build_evaluator = staticmethod(builders.build_evaluator)
    build_log_processor = staticmethod(builders.build_log_processor)

    def wrap_model(self, model_wrapper_cfg: Optional[Any],
                   model: nn.Module) -> nn.Module:
        return builders.wrap_model(model, model_wrapper_cfg,
                                   self._distributed, self.cfg, self.logger)

    def build_optim_wrapper(self, optim_wrapper: Any) -> Any:
        return builders.build_optim_wrapper(self.model, optim_wrapper)

    def scale_lr(self, optim_wrapper: Any,
                 auto_scale_lr: Optional[Dict] = None) -> None:
        if not auto_scale_lr or not auto_scale_lr.get('enable', False):
            return
        if builders.schedulers_built(self.param_schedulers):
            raise RuntimeError('scale_lr must run before the parameter '
                               'schedulers are built: they record the '
                               'initial learning rates')
        builders.scale_lr(optim_wrapper, auto_scale_lr,
                          builders.batch_size_of(self._train_dataloader),
                          self._world_size, self.logger)

    def build_param_scheduler(self, scheduler: Any) -> Any:
        if builders.schedulers_built(scheduler):
            return scheduler
        loop = self._train_loop
        epoch_length = len(loop.dataloader) if isinstance(
            loop, BaseLoop) and hasattr(loop.dataloader, '__len__') else None
        return builders.build_param_schedulers(scheduler, self.optim_wrapper,
                                               loop, epoch_length)

    def build_train_loop(self, loop: Any) -> Any:
        return builders.build_train_loop(self, loop)

    def build_val_loop(self, loop: Any) -> Any:
        return builders.build_val_loop(self, loop)

    def build_test_loop(self, loop: Any) -> Any:
        return builders.build_test_loop(self, loop)

    # --------------------------------------------------------------- hooks
    def call_hook(self, fn_name: str, **kwargs: Any) -> None:
        """Call ``fn_name`` on every hook that implements it."""
        methods = self._hook_methods.get(fn_name)
        if methods is None:
            methods = self._dispatcher.methods_for(fn_name)
        for method in methods:
            try:
                method(self, **kwargs)
            except TypeError as e:
                raise TypeError(f'{e} in {method.__self__!r}') from e

    def register_hook(self,
                      hook: Union[Hook, Dict],
                      priority: Optional[Union[str, int, Priority]] = None
                      ) -> None:
        """Insert a hook (or config) by priority; equal priorities keep
        registration order."""
        hook_obj = builders.build_hook(hook)
        if priority is not None:
            hook_obj.priority = priority
        self._dispatcher.add(hook_obj, get_priority(hook_obj.priority))

    def register_default_hooks(self,
                               hooks: Optional[Dict[str, Any]] = None) -> None:
        for name, hook in builders.default_hook_items(hooks):
            try:
                self.register_hook(hook)
            except (TypeError, ValueError, KeyError) as e:
                raise builders.in_context(e, f'default_hooks[{name!r}]')

    def register_custom_hooks(self, hooks: List[Any]) -> None:
        for index, hook in enumerate(hooks):
            try:
                self.register_hook(hook)
            except (TypeError, ValueError, KeyError) as e:
                raise builders.in_context(e, f'custom_hooks[{index}]')

    def register_hooks(self,
                       default_hooks: Optional[Dict[str, Any]] = None,
                       custom_hooks: Optional[List[Any]] = None) -> None:
        self.register_default_hooks(default_hooks)
        if custom_hooks is not None:
            self.register_custom_hooks(custom_hooks)

    def get_hooks_info(self) -> str:
        def name(hook: Any) -> str:
            try:
                return Priority(get_priority(hook.priority)).name
            except ValueError:
                return str(hook.priority)
        return describe(self._dispatcher, name)

    # ------------------------------------------------------------- running
    def _ori_model(self) -> nn.Module:
        from engine.model import is_model_wrapper
        return self.model.module if is_model_wrapper(self.model) \
            else self.model

    @report_rank_failures
    def train(self) -> nn.Module:
        """Train; returns the model."""
        ori_model = self._ori_model()
        if not hasattr(ori_model, 'train_step'):
            raise TypeError(f'{type(ori_model).__name__} has no train_step; '
                            'train() needs a model deriving from BaseModel '
                            'or implementing train_step')
        if self._val_loop is not None and not hasattr(ori_model, 'val_step'):
            raise TypeError(f'{type(ori_model).__name__} has no val_step but '
                            'validation is configured')
        if self._train_loop is None:
            raise RuntimeError(
                'train() needs train_dataloader, train_cfg and optim_wrapper;'
                ' they were not given to the Runner')
        self._train_loop = self.build_train_loop(self._train_loop)
        self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
        self.scale_lr(self.optim_wrapper, self.auto_scale_lr)
        if self.param_schedulers is not None:
            self.param_schedulers = self.build_param_scheduler(
                self.param_schedulers)
        if self._val_loop is not None:
            self._val_loop = self.build_val_loop(self._val_loop)
        self.call_hook('before_run')
        self._init_model_weights()
        self.load_or_resume()
        count_args = (self.model, self._train_loop.iter,
                      self._train_loop.max_iters)
        if self._grads_restored and 'logger' in inspect.signature(
                self.optim_wrapper.initialize_count_status).parameters:
            # its "gradients of the interrupted window are lost" is untrue
            self.optim_wrapper.initialize_count_status(*count_args,
                                                       logger='silent')
        else:
            self.optim_wrapper.initialize_count_status(*count_args)
        self._maybe_compile('train_step')
        try:
            with self.stop_request as stop:
                model = self.train_loop.run()
                self.call_hook('after_run')
                if stop.received is not None:  # after the last iteration
                    self._stop_after_signal(finished=True)
        finally:  # buffered logs reach the disk however training stops
            flush_open_files()
        return model

    def _on_stop_signal(self, sig: Any) -> None:
        self.logger.warning(
            f'{sig.name} received: training stops after the current '
            'iteration, once a checkpoint is saved (send it again to stop at '
            'once, without a checkpoint).')

    def _stop_after_signal(self, finished: bool = False) -> None:
        """Called by the training loop after the iteration during which a
        stop signal arrived: save a checkpoint of that point and raise
        :class:`TrainingInterrupted`."""
        name = self.stop_request.received.name
        if finished:
            last = self.message_hub.get_info('last_ckpt')
            message = interrupt_message(
                name, 'after training had finished', last)
            self.logger.warning(message)
            raise TrainingInterrupted(message, name, last)
        where = f'after iteration {self.iter} (epoch {self.epoch + 1})'
        try:
            path = self._save_interrupted_checkpoint()
        except Exception as e:
            message = (f'{interrupt_message(name, where, None)} Saving the '
                       f'checkpoint failed: {e}')
            self.logger.error(message)
            raise TrainingInterrupted(message, name, None) from e
        message = interrupt_message(name, where, path)
        self.logger.warning(message)
        raise TrainingInterrupted(message, name, path)

    def _save_interrupted_checkpoint(self) -> str:
        """A checkpoint after the current iteration, where the
        CheckpointHook (if any) writes its files, found by ``resume=True``
        through ``last_checkpoint``; it is not counted in ``max_keep_ckpts``.
        """
        from engine.hooks import CheckpointHook
        from .checkpoint import write_text_atomic
        hook = next(
            (h for h in self._hooks if isinstance(h, CheckpointHook)), None)
        out_dir = (hook.out_dir if hook is not None and hook.out_dir else
                   self._work_dir)
        template = hook.filename_tmpl if hook is not None and \
            not hook.by_epoch else 'iter_{}.pth'
        filename = template.format(self.iter)
        path = osp.join(out_dir, filename)
        if hook is not None and hook.last_ckpt == path and osp.isfile(path):
            return path  # the hook has just saved this very iteration
        self.message_hub.update_info('last_ckpt', path)
        self.save_checkpoint(
            out_dir,
            filename,
            save_optimizer=True if hook is None else hook.save_optimizer,
            save_param_scheduler=self.param_schedulers is not None and (
                hook is None or hook.save_param_scheduler),
            meta=dict(epoch=self.epoch, iter=self.iter),
            by_epoch=False)
        if self._rank == 0:
            write_text_atomic(
                osp.join(self._work_dir, 'last_checkpoint'), path)
        return path

    @report_rank_failures
    def _run_eval(self, mode: str) -> dict:
        if getattr(self, f'_{mode}_loop') is None:
            raise RuntimeError(
                f'{mode}() needs {mode}_dataloader, {mode}_cfg and '
                f'{mode}_evaluator; they were not given to the Runner')
        loop = getattr(self, f'{mode}_loop')
        self.call_hook('before_run')
        self.load_or_resume()
        metrics = loop.run()
        self.call_hook('after_run')
        return metrics

    def val(self) -> dict:
        """Validate; returns the metrics."""
        return self._run_eval('val')

    def test(self) -> dict:
        """Test; returns the metrics."""
        return self._run_eval('test')

    def _init_model_weights(self) -> None:
        model = self._ori_model()
        if hasattr(model, 'init_weights'):
            model.init_weights()
            if self._world_size > 1:
                from engine.dist import broadcast
                for tensor in model.state_dict().values():
                    broadcast(tensor)

    def _maybe_compile(self, target: str) -> None:
        compile_cfg = self.cfg.get('compile')
        if not compile_cfg:
            return
        import torch
        compile_cfg = {} if compile_cfg is True else dict(compile_cfg)
        setattr(self.model, target,
                torch.compile(getattr(self.model, target), **compile_cfg))
        self.logger.info('The model was compiled; the first iterations will '
                         'be slow.')

    # --------------------------------------------------------- checkpoints
    def load_or_resume(self) -> None:
        """Resume (``resume=True``: from ``load_from`` or the latest
        checkpoint in ``work_dir``) or load weights (``load_from``), once."""
        if self._has_loaded:
            return
        resume_from = None
        if self._resume and self._load_from is None:
            resume_from = find_latest_checkpoint(self._work_dir)
            if resume_from is not None:
                self.logger.info(f'Auto resumed from the latest checkpoint '
                                 f'{resume_from}.')
        elif self._resume:
            resume_from = self._load_from
        if resume_from is not None:
            self.resume(resume_from)
        elif self._load_from is not None:
            self.load_checkpoint(self._load_from)

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]) -> Dict:
        """Load weights from ``filename`` into the model; returns the
        checkpoint (read with ``weights_only=True``)."""
        checkpoint = load_checkpoint_file(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        if not isinstance(checkpoint, dict):
            raise TypeError(f'{filename} holds a {type(checkpoint).__name__}, '
                            'not a checkpoint dict')
        _load_checkpoint_to_model(
            self._ori_model(), checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def resume(self,
               filename: str,
               resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location: Union[str, Callable] = 'default') -> None:
        """Continue training from ``filename``: weights, optimizer wrapper,
        schedulers, message hub, counters, generator states and the position
        in the data, so the result equals an uninterrupted run."""
        if map_location == 'default':
            map_location = builders._device()
        checkpoint = self.load_checkpoint(filename, map_location=map_location)
        self._grads_restored = resume_lib.restore_checkpoint(
            self, checkpoint, resume_optimizer, resume_param_scheduler)
        self._has_loaded = True

    def save_checkpoint(self,
                        out_dir: str,
                        filename: str,
                        file_client_args: Optional[dict] = None,
                        save_optimizer: bool = True,
                        save_param_scheduler: bool = True,
                        meta: Optional[dict] = None,
                        by_epoch: bool = True,
                        backend_args: Optional[dict] = None) -> None:
        """Write a checkpoint atomically (rank 0 only). ``by_epoch`` says
        whether it is taken after an epoch (epoch + 1 done) or after an
        iteration (iter + 1 done)."""
        if self._rank != 0:
            return
        if meta is None:
            meta = {}
        elif not isinstance(meta, dict):
            raise TypeError(
                f'meta must be a dict or None, but got {type(meta).__name__}')
        else:
            meta = dict(meta)
        if by_epoch:
            meta.setdefault('epoch', self.epoch + 1)
            meta.setdefault('iter', self.iter)
        else:
            meta.setdefault('epoch', self.epoch)
            meta.setdefault('iter', self.iter + 1)
        checkpoint = resume_lib.build_checkpoint(self, meta, save_optimizer,
                                                 save_param_scheduler)
        self.call_hook('before_save_checkpoint', checkpoint=checkpoint)
        save_checkpoint(
            checkpoint,
            osp.join(out_dir, filename),
            file_client_args=file_client_args,
            backend_args=backend_args)

