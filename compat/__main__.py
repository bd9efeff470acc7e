"""Command line: ``python -m compat {migrate,upgrade,upgrade-checkpoint}``.

- ``migrate OLD_CONFIG -o NEW_CONFIG`` writes the engine config translated
  from an MMCV 1.x config (readable by ``engine.config.Config.fromfile``) and
  prints the migration report;
- ``upgrade SRC_DIR -o DST_DIR`` copies a source tree with its mmcv/mmengine
  imports rewritten and writes ``DST_DIR/upgrade_report.md``;
- ``upgrade-checkpoint OLD.pth NEW.pth`` converts a legacy checkpoint to the
  engine layout.

Exit status: 0 on success, 1 when the input is invalid (the message says
why), 2 for a command-line usage error.
"""
import argparse
import os
import sys
from typing import List, Optional


def _migrate(args: argparse.Namespace) -> int:
    from engine.config import Config
    from .migrate_config import migrate_config
    migrated = migrate_config(args.config, epoch_length=args.epoch_length)
    content = dict(migrated)
    bridged = any(
        isinstance(h, dict) and h.get('type') == 'LegacyHookBridge'
        for h in content.get('custom_hooks', []))
    # the written file must find compat's (and legacy's) registered parts
    content['custom_imports'] = dict(
        imports=['compat'] + (['legacy'] if bridged else []),
        allow_failed_imports=False)
    if migrated.leftovers:
        content['legacy_cfg'] = migrated.leftovers
    out = args.output
    Config(content).dump(out)
    if out.endswith('.py'):
        with open(out, encoding='utf-8') as f:
            body = f.read()
        header = [f'# Migrated from {args.config} by `python -m compat '
                  'migrate`.', '# Train with Runner(model=compat.adapt(model)'
                  ', train_dataloader=..., **cfg).', '#']
        header += [f'# {line}' for line in str(migrated.report).splitlines()]
        with open(out, 'w', encoding='utf-8') as f:
            f.write('\n'.join(header) + '\n\n' + body)
    print(migrated.report)
    print(f'wrote {out}')
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    from .upgrade import summary_lines, upgrade_tree
    report = upgrade_tree(args.src, args.output)
    for line in summary_lines(report, limit=None if args.verbose else 50):
        print(line)
    print(f'wrote {args.output} and {os.path.join(args.output, "upgrade_report.md")}')
    return 0


def _upgrade_checkpoint(args: argparse.Namespace) -> int:
    from .checkpoints import upgrade_checkpoint_file
    by_epoch = None if args.runner == 'auto' else args.runner == 'epoch'
    meta = upgrade_checkpoint_file(
        args.src, args.dst, by_epoch=by_epoch,
        weights_only=not args.unsafe_load)
    kind = 'epoch-based' if meta['compat']['by_epoch'] else \
        'iteration-based'
    print(f'converted {args.src} ({kind}) -> {args.dst}: epoch '
          f'{meta["epoch"]}, iter {meta["iter"]}')
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='python -m compat',
        description='Move MMCV 1.x configs, code and checkpoints to the '
        'engine.')
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('migrate', help='translate an MMCV config')
    p.add_argument('config', help='the MMCV 1.x config file')
    p.add_argument('-o', '--output', required=True,
                   help='the engine config to write (.py, .json or .yaml)')
    p.add_argument('--epoch-length', type=int, default=None,
                   help='batches per epoch: measure the translated lr '
                   'curve against the old one over the whole run')
    p.set_defaults(func=_migrate)
    p = sub.add_parser('upgrade', help='rewrite the imports of a source tree')
    p.add_argument('src', help='the source directory')
    p.add_argument('-o', '--output', required=True,
                   help='the new directory (must not exist or be empty)')
    p.add_argument('-v', '--verbose', action='store_true',
                   help='print every change, not only the first 50')
    p.set_defaults(func=_upgrade)
    p = sub.add_parser('upgrade-checkpoint',
                       help='convert a legacy checkpoint to the engine layout')
    p.add_argument('src', help='the legacy checkpoint (.pth)')
    p.add_argument('dst', help='the engine checkpoint to write')
    p.add_argument('--runner', choices=('auto', 'epoch', 'iter'),
                   default='auto',
                   help='the runner that saved it (auto: iter_N.pth files '
                   'saved by an IterBasedRunner are recognised by name)')
    p.add_argument('--unsafe-load', action='store_true',
                   help='read with torch.load(weights_only=False); only for '
                   'files you trust (old mmcv files may hold numpy values)')
    p.set_defaults(func=_upgrade_checkpoint)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (TypeError, KeyError, ValueError, OSError, RuntimeError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args \
            else str(exc)
        print(f'error: {message}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
