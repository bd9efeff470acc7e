"""``workflow``, ``evaluation``, ``checkpoint_config``, ``log_config`` and
``custom_hooks`` of an MMCV config as engine loop and hook arguments (part of
:func:`compat.migrate_config`)."""
from typing import Any, Optional

from .config_checks import check_keys, require_bool, require_dict, require_int

_CHECKPOINT_KEYS = {
    'type', 'interval', 'by_epoch', 'save_optimizer', 'out_dir',
    'max_keep_ckpts', 'save_last', 'sync_buffer', 'file_client_args',
    'filename_tmpl', 'create_symlink'
}
_TEXT_LOGGER_KEYS = {
    'type', 'by_epoch', 'interval', 'ignore_last', 'reset_flag',
    'interval_exp_name', 'out_dir', 'out_suffix', 'keep_local',
    'file_client_args'
}
_EVAL_HOOK_KEYS = {
    'interval', 'by_epoch', 'start', 'save_best', 'rule', 'greater_keys',
    'less_keys', 'out_dir', 'file_client_args', 'gpu_collect', 'tmpdir',
    'broadcast_bn_buffer', 'test_fn', 'type'
}
_LEGACY_METRIC = 'LegacyLogVarsMetric'


class HookFields:
    """The validation and hook fields of the migration (a mix-in of
    ``compat.migrate_config._Migration``, whose state it uses: ``take``,
    ``cfg``, ``out``, ``report``, ``by_epoch``, ``default_hooks``,
    ``custom_hooks``)."""

    # --------------------------------------------------------- validation
    def validation(self) -> None:
        workflow = self.take('workflow')
        evaluation = self.take('evaluation')
        val_interval = None
        if workflow is not None:
            val_interval = self.workflow(workflow)
        if evaluation is not None:
            val_interval = self.evaluation(evaluation, val_interval)
        if val_interval is not None and 'train_cfg' in self.out:
            self.out['train_cfg']['val_interval'] = val_interval

    def workflow(self, workflow: Any) -> Optional[int]:
        if not isinstance(workflow, (list, tuple)) or not workflow:
            raise TypeError('workflow must be a non-empty list of (mode, '
                            f'epochs) tuples, got {workflow!r}')
        flows = []
        for i, flow in enumerate(workflow):
            if not (isinstance(flow, (list, tuple)) and len(flow) == 2
                    and isinstance(flow[0], str)):
                raise TypeError(f'workflow[{i}] must be a (mode, count) '
                                f'tuple such as ("train", 1), got {flow!r}')
            require_int(f'workflow[{i}] count', flow[1])
            flows.append((flow[0], flow[1]))
        modes = [m for m, _ in flows]
        if modes == ['train']:
            self.report.exact('workflow', 'training only (the default)')
            return None
        bad = [m for m in modes if m not in ('train', 'val')]
        if bad or modes != ['train', 'val']:
            self.report.unsupported(
                'workflow', f'{flows}: only [("train", n)] and [("train", n),'
                ' ("val", m)] can be expressed (the engine validates after '
                'training)' + (f'; unknown modes {bad}' if bad else ''))
            return None
        (_, train_n), (_, val_n) = flows
        self.out['val_cfg'] = dict(type='ValLoop')
        self.out['val_evaluator'] = dict(type=_LEGACY_METRIC)
        if self.by_epoch and val_n == 1:
            self.report.exact(
                'workflow', f'validation every {train_n} epoch(s) '
                f'(val_interval={train_n}) with {_LEGACY_METRIC}: pass '
                'val_dataloader to the Runner')
        else:
            unit = 'epochs' if self.by_epoch else 'iterations'
            self.report.approximated(
                'workflow', f'validation every {train_n} {unit} over the '
                f'whole val_dataloader, where mmcv ran {val_n} val '
                f'{unit}; pass val_dataloader to the Runner')
        return train_n

    def evaluation(self, evaluation: Any,
                   workflow_interval: Optional[int]) -> Optional[int]:
        require_dict('evaluation', evaluation)
        evaluation = dict(evaluation)
        interval = require_int('evaluation.interval',
                                evaluation.get('interval', 1))
        by_epoch = evaluation.get('by_epoch', self.by_epoch)
        require_bool('evaluation.by_epoch', by_epoch)
        start = evaluation.get('start')
        eval_kwargs = sorted(set(evaluation) - _EVAL_HOOK_KEYS)
        if by_epoch != self.by_epoch:
            self.report.unsupported(
                'evaluation.by_epoch', f'{by_epoch} on an '
                f'{"epoch" if self.by_epoch else "iteration"}-based run: the '
                'engine validates in the loop\'s own unit')
        self.out.setdefault('val_cfg', dict(type='ValLoop'))
        if workflow_interval is not None and workflow_interval != interval:
            self.report.approximated(
                'evaluation.interval', f'{interval} and the workflow\'s '
                f'{workflow_interval}: the engine has one validation '
                f'schedule; val_interval={interval} is used')
        else:
            self.report.exact('evaluation.interval',
                              f'train_cfg.val_interval={interval}')
        if start is not None:
            start = require_int('evaluation.start', start, minimum=0)
            if 'train_cfg' in self.out:
                self.out['train_cfg']['val_begin'] = start
            if start % interval == 0 or interval == 1:
                self.report.exact('evaluation.start',
                                  f'train_cfg.val_begin={start}')
            else:
                self.report.approximated(
                    'evaluation.start', f'val_begin={start}: the engine '
                    f'validates at multiples of {interval} from {start} on; '
                    f'mmcv validated at {start}, {start + interval}, ...')
        save_best = evaluation.get('save_best')
        if save_best is not None:
            checkpoint = self.default_hooks.setdefault(
                'checkpoint', dict(type='CheckpointHook'))
            checkpoint['save_best'] = save_best
            for key in ('rule', 'greater_keys', 'less_keys'):
                if evaluation.get(key) is not None:
                    checkpoint[key] = evaluation[key]
            self.report.exact(
                'evaluation.save_best',
                f'CheckpointHook(save_best={save_best!r}'
                f'{", rule=" + repr(evaluation["rule"]) if evaluation.get("rule") else ""})')
        for key in ('gpu_collect', 'tmpdir', 'broadcast_bn_buffer', 'out_dir',
                    'file_client_args', 'test_fn'):
            if key in evaluation:
                self.report.approximated(
                    f'evaluation.{key}', 'not needed: the engine gathers '
                    'results across ranks itself' if key != 'test_fn' else
                    'the engine runs the model\'s val_step')
        if eval_kwargs:
            self.report.unsupported(
                'evaluation', f'the metric arguments {eval_kwargs} went to '
                'dataset.evaluate(); the engine evaluates with Metric objects'
                ': pass val_evaluator= (and val_dataloader=) computing them')
        elif 'val_evaluator' not in self.out:
            self.report.unsupported(
                'evaluation', 'pass val_evaluator= and val_dataloader= to '
                'the Runner: the engine evaluates with Metric objects')
        return interval

    # ---------------------------------------------------------- hooks
    def checkpoint_config(self) -> None:
        present = 'checkpoint_config' in self.cfg
        cfg = self.take('checkpoint_config')
        if cfg is None:
            if 'checkpoint' in self.default_hooks:
                # only save_best from evaluation: mmcv's EvalHook saved those
                self.default_hooks['checkpoint'].update(interval=-1,
                                                        save_last=False)
            else:
                self.default_hooks['checkpoint'] = None
            self.report.exact(
                'checkpoint_config', ('None' if present else 'absent') +
                ': no periodic checkpoints (the engine\'s default '
                'CheckpointHook is disabled)')
            return
        require_dict('checkpoint_config', cfg)
        cfg = dict(cfg)
        hook_type = cfg.get('type', 'CheckpointHook')
        if hook_type != 'CheckpointHook':
            self.report.unsupported(
                'checkpoint_config.type', f'custom checkpoint hook '
                f'{hook_type!r}; the engine CheckpointHook is used')
        extra = sorted(set(cfg) - _CHECKPOINT_KEYS)
        for key in extra:
            self.report.unsupported(
                f'checkpoint_config.{key}', 'went to mmcv\'s '
                'runner.save_checkpoint; not translated')
        hook = dict(type='CheckpointHook')
        hook.update({
            k: v
            for k, v in cfg.items()
            if k in _CHECKPOINT_KEYS - {
                'type', 'sync_buffer', 'create_symlink', 'file_client_args'
            }
        })
        hook.setdefault('interval', -1)
        hook.setdefault('by_epoch', self.by_epoch)
        if 'file_client_args' in cfg:
            hook['file_client_args'] = cfg['file_client_args']
        best = self.default_hooks.get('checkpoint') or {}
        hook.update({k: v for k, v in best.items() if k != 'type'})
        self.default_hooks['checkpoint'] = hook
        self.report.exact('checkpoint_config',
                          f'default_hooks.checkpoint={hook}')
        if cfg.get('create_symlink', True):
            self.report.approximated(
                'checkpoint_config.create_symlink',
                'no latest.pth symlink: the engine writes a last_checkpoint '
                'file (resume=True finds the latest checkpoint through it)')
        if cfg.get('sync_buffer'):
            self.custom_hooks.append(dict(type='SyncBuffersHook'))
            self.report.approximated(
                'checkpoint_config.sync_buffer',
                'SyncBuffersHook: buffers are synchronised after every train '
                'epoch, not only before saving')

    def log_config(self) -> None:
        present = 'log_config' in self.cfg
        cfg = self.take('log_config')
        if cfg is None:
            self.default_hooks['logger'] = None
            self.report.exact(
                'log_config', ('None' if present else 'absent') +
                ': no logger hooks (the engine\'s LoggerHook is disabled)')
            return
        require_dict('log_config', cfg)
        if 'interval' not in cfg:
            raise KeyError('log_config needs an "interval", got '
                           f'{cfg!r}')
        interval = require_int('log_config.interval', cfg['interval'])
        hooks = cfg.get('hooks', [])
        if not isinstance(hooks, (list, tuple)):
            raise TypeError('log_config.hooks must be a list of hook configs, '
                            f'got {hooks!r}')
        for key in sorted(set(cfg) - {'interval', 'hooks'}):
            self.report.unsupported(f'log_config.{key}', 'not an option mmcv '
                                    'used; not translated')
        text = None
        for i, hook in enumerate(hooks):
            field = f'log_config.hooks[{i}]'
            require_dict(field, hook)
            if 'type' not in hook:
                raise KeyError(f'{field} needs a "type", got {hook!r}')
            if hook['type'] == 'TextLoggerHook':
                if text is not None:
                    self.report.unsupported(field, 'a second TextLoggerHook '
                                            'is not translated')
                    continue
                check_keys(field, hook, _TEXT_LOGGER_KEYS, 'TextLoggerHook')
                text = hook
                continue
            bridged = dict(hook)
            bridged.setdefault('interval', interval)
            if not self.by_epoch:
                bridged.setdefault('by_epoch', False)
            self.custom_hooks.append(
                dict(type='LegacyHookBridge', hook=bridged,
                     priority='VERY_LOW'))
            self.report.exact(
                field, f'{hook["type"]} runs as a legacy hook through '
                'LegacyHookBridge (import legacy before building the Runner)')
        if text is None:
            self.default_hooks['logger'] = None
            self.report.exact('log_config', 'no TextLoggerHook: the '
                              'engine\'s LoggerHook is disabled')
            return
        logger = dict(type='LoggerHook',
                      interval=text.get('interval', interval))
        for key in ('ignore_last', 'interval_exp_name', 'out_dir',
                    'keep_local', 'file_client_args'):
            if key in text:
                logger[key] = text[key]
        if 'out_suffix' in text:
            logger['out_suffix'] = text['out_suffix']
        self.default_hooks['logger'] = logger
        by_epoch = text.get('by_epoch', self.by_epoch)
        # mmcv averaged every logged value (weighted by num_samples) over the
        # interval; mmengine only the keys matching its mean_pattern.
        self.out['log_processor'] = dict(
            window_size=logger['interval'],
            by_epoch=by_epoch,
            mean_pattern=r'^(?!(.*\.)?(lr|momentum)$).*')
        self.report.approximated(
            'log_config', f'LoggerHook(interval={logger["interval"]}) and a '
            'LogProcessor averaging every value over the interval as mmcv '
            'did: same numbers, but the engine\'s log line format and '
            'vis_data/scalars.json instead of mmcv\'s <time>.log.json')
        if 'reset_flag' in text:
            self.report.exact('log_config.hooks.reset_flag',
                              'no effect on what is logged')

    def custom_hooks_config(self) -> None:
        hooks = self.take('custom_hooks')
        if hooks is None:
            return
        if isinstance(hooks, dict):
            hooks = [hooks]
        if not isinstance(hooks, (list, tuple)):
            raise TypeError('custom_hooks must be a list of hook configs, got '
                            f'{type(hooks).__name__}: {hooks!r}')
        from .hook_bridge import (_registries, find_legacy_hook_type,
                                  is_legacy_hook)
        for i, hook in enumerate(hooks):
            field = f'custom_hooks[{i}]'
            if isinstance(hook, dict):
                if 'type' not in hook:
                    raise KeyError(f'{field} needs a "type", got {hook!r}')
                hook = dict(hook)
                priority = hook.pop('priority', 'NORMAL')
                hook_type = hook['type']
                self.custom_hooks.append(
                    dict(type='LegacyHookBridge', hook=hook,
                         priority=priority))
                name = hook_type if isinstance(hook_type, str) else \
                    getattr(hook_type, '__name__', hook_type)
                if isinstance(hook_type, str) and _registries() and \
                        find_legacy_hook_type(hook_type) is None:
                    self.report.unsupported(
                        field, f'{name!r} is in no legacy hook registry yet:'
                        ' register it (legacy.HOOKS, or compat.'
                        'register_legacy_hook_registry) before building the '
                        'Runner, or the build fails')
                    continue
            elif is_legacy_hook(hook):
                from .hook_bridge import bridge_hook
                self.custom_hooks.append(bridge_hook(hook))
                name = type(hook).__name__
            else:
                raise TypeError(f'{field} must be a hook config dict or an '
                                f'mmcv-style hook, got {hook!r}')
            self.report.exact(field, f'{name} runs as a legacy hook through '
                              'LegacyHookBridge (mmcv stages mapped to the '
                              'engine\'s)')
