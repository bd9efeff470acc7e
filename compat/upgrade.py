"""Rewrite a source tree's mmcv/mmengine imports to legacy/engine.

``python -m compat upgrade SRC -o DST`` copies SRC to DST and edits only the
Python files' imports (and the attribute chains that hang off an imported
module, such as ``mmcv.runner.EpochBasedRunner``). Positions come from
:mod:`ast` and :mod:`tokenize`, never from regular expressions over code, so
strings, comments and look-alike names are left alone, and the layout of a
statement is kept whenever only its module name changes. Everything that
cannot be translated mechanically is listed for a person to review instead of
being guessed.
"""
import ast
import io
import os
import shutil
import tokenize
from dataclasses import dataclass, field
from importlib import util as importlib_util
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = ['Change', 'Review', 'UpgradeReport', 'upgrade_source',
           'upgrade_tree']

# Public names of `legacy` (issue 3), i.e. what mmcv.runner / mmcv.parallel /
# mmcv.utils users import and legacy promises to export flat.
LEGACY_NAMES = frozenset('''
BaseRunner EpochBasedRunner Runner IterBasedRunner build_runner RUNNERS Hook
HOOKS OptimizerHook Fp16OptimizerHook GradientCumulativeOptimizerHook
GradientCumulativeFp16OptimizerHook LrUpdaterHook FixedLrUpdaterHook
StepLrUpdaterHook ExpLrUpdaterHook PolyLrUpdaterHook InvLrUpdaterHook
CosineAnnealingLrUpdaterHook FlatCosineAnnealingLrUpdaterHook
CosineRestartLrUpdaterHook CyclicLrUpdaterHook OneCycleLrUpdaterHook
LinearAnnealingLrUpdaterHook MomentumUpdaterHook StepMomentumUpdaterHook
CosineAnnealingMomentumUpdaterHook CyclicMomentumUpdaterHook
OneCycleMomentumUpdaterHook LinearAnnealingMomentumUpdaterHook CheckpointHook
IterTimerHook LoggerHook TextLoggerHook TensorboardLoggerHook EvalHook
DistEvalHook DistSamplerSeedHook EMAHook SyncBuffersHook EmptyCacheHook
Priority get_priority LogBuffer get_logger print_log save_checkpoint
load_checkpoint load_state_dict weights_to_cpu get_state_dict build_optimizer
build_optimizer_constructor DefaultOptimizerConstructor OPTIMIZERS
OPTIMIZER_BUILDERS auto_fp16 force_fp32 wrap_fp16_model LossScaler
MMDataParallel MMDistributedDataParallel init_dist get_dist_info master_only
BaseModule ModuleList Sequential
'''.split())

# mmcv.utils / top-level mmcv names that live in the engine here.
_ENGINE_HOMES = {
    'Config': 'engine.config',
    'ConfigDict': 'engine.config',
    'DictAction': 'engine.config',
    'Registry': 'engine.registry',
    'build_from_cfg': 'engine.registry',
    'MMLogger': 'engine.logging',
    'MessageHub': 'engine.logging',
    'HistoryBuffer': 'engine.logging',
}
_MMCV_SUBPACKAGES = ('runner', 'parallel', 'utils')


@dataclass
class Change:
    """One edit: the file, the 1-based line, the text before and after."""
    path: str
    line: int
    before: str
    after: str


@dataclass
class Review:
    """Something a person must look at: where and why."""
    path: str
    line: int
    message: str


@dataclass
class UpgradeReport:
    """What :func:`upgrade_tree` did."""
    files: List[str] = field(default_factory=list)
    changed_files: List[str] = field(default_factory=list)
    changes: List[Change] = field(default_factory=list)
    reviews: List[Review] = field(default_factory=list)

    def to_markdown(self) -> str:
        lines = [
            '# compat upgrade report', '',
            f'{len(self.files)} Python files read, '
            f'{len(self.changed_files)} changed, {len(self.changes)} edits, '
            f'{len(self.reviews)} items to review.', '', '## Changes', ''
        ]
        for c in self.changes:
            lines.append(f'- `{c.path}:{c.line}`: `{c.before}` -> '
                         f'`{c.after}`')
        lines += ['', '## Needs review', '']
        for r in self.reviews:
            lines.append(f'- `{r.path}:{r.line}`: {r.message}')
        if not self.reviews:
            lines.append('Nothing.')
        return '\n'.join(lines) + '\n'


def _module_has(module: str, name: Optional[str] = None) -> bool:
    """Whether an engine module (and optionally a name in it) exists."""
    try:
        if importlib_util.find_spec(module) is None:
            return False
        if name is None:
            return True
        return hasattr(__import__(module, fromlist=[name]), name)
    except Exception:  # a broken engine module is a review item, not a crash
        return False


class _Rewriter:
    """Computes the edits for one source text."""

    def __init__(self, text: str, path: str):
        self.text = text
        self.path = path
        # ast and tokenize end lines at '\n' only (not at form feeds, which
        # str.splitlines would also split on)
        self.lines = [part + '\n' for part in text.split('\n')]
        self.lines[-1] = self.lines[-1][:-1]
        self.line_starts = [0]
        for line in self.lines:
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.edits: List[Tuple[int, int, str]] = []
        self.changes: List[Change] = []
        self.reviews: List[Review] = []
        self.tokens = list(
            tokenize.generate_tokens(io.StringIO(text).readline))

    # --- positions -------------------------------------------------------
    def offset(self, lineno: int, byte_col: int) -> int:
        """Character offset of an ast (line, UTF-8 byte column) position."""
        line = self.lines[lineno - 1] if lineno <= len(self.lines) else ''
        col = len(line.encode('utf-8')[:byte_col].decode('utf-8', 'replace'))
        return self.line_starts[lineno - 1] + col

    def node_span(self, node: ast.AST) -> Tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),
                self.offset(node.end_lineno, node.end_col_offset))

    def replace(self, start: int, end: int, new: str, line: int) -> None:
        before = self.text[start:end]
        if before == new:
            return
        self.edits.append((start, end, new))
        self.changes.append(
            Change(self.path, line, _one_line(before), _one_line(new)))

    def review(self, line: int, message: str) -> None:
        self.reviews.append(Review(self.path, line, message))

    def module_token_span(self, node: ast.ImportFrom) -> Tuple[int, int]:
        """Span of the dotted module name of ``from a.b import ...``."""
        start = self.offset(node.lineno, node.col_offset)
        row_col = []
        seen_from = False
        for tok in self.tokens:
            pos = self.line_starts[tok.start[0] - 1] + tok.start[1]
            if pos < start:
                continue
            if not seen_from:
                seen_from = tok.type == tokenize.NAME and tok.string == 'from'
                continue
            if tok.type == tokenize.NAME and tok.string == 'import':
                break
            if tok.type in (tokenize.NAME, tokenize.OP):
                row_col.append(tok)
        first, last = row_col[0], row_col[-1]
        return (self.line_starts[first.start[0] - 1] + first.start[1],
                self.line_starts[last.end[0] - 1] + last.end[1])

    def statement_layout(self, node: ast.stmt) -> Tuple[str, bool]:
        """(indentation, whether the statement has its lines to itself)."""
        start = self.offset(node.lineno, node.col_offset)
        line_start = self.line_starts[node.lineno - 1]
        prefix = self.text[line_start:start]
        return prefix, prefix.strip() == ''

    def replace_statement(self, node: ast.stmt, statements: List[str]) -> None:
        start, end = self.node_span(node)
        indent, alone = self.statement_layout(node)
        joiner = '\n' + indent if alone else '; '
        original = self.text[start:end]
        if '#' in original and '\n' in original:
            self.review(node.lineno, 'comments inside this multi-line import '
                        'were dropped when it was split; restore them if '
                        'they matter')
        self.replace(start, end, joiner.join(statements), node.lineno)

    # --- name mapping ----------------------------------------------------
    def target_for_name(self, module: str, name: str,
                        line: int) -> Optional[str]:
        """The module ``name`` (imported from ``module``) comes from here,
        or None to leave the import as it is."""
        parts = module.split('.')
        if parts[0] == 'mmengine':
            if len(parts) == 1:
                target = _ENGINE_HOMES.get(name, 'engine')
            else:
                target = '.'.join(['engine'] + parts[1:])
            if name != '*' and not _module_has(target, name):
                if _module_has(f'{target}.{name}'):
                    return target  # a sub-module import
                self.review(line, f'{module}.{name} was renamed to '
                            f'{target}.{name}, which does not exist (yet) in '
                            'the engine')
            return target
        # mmcv
        sub = parts[1] if len(parts) > 1 else None
        if sub in ('runner', 'parallel') or (sub == 'utils'
                                             and name in LEGACY_NAMES):
            if name != '*' and name not in LEGACY_NAMES:
                self.review(line, f'{module}.{name} is not among the names '
                            'legacy documents; check that legacy provides it')
            return 'legacy'
        if sub in (None, 'utils') and name in _ENGINE_HOMES:
            return _ENGINE_HOMES[name]
        if sub is None and name in _MMCV_SUBPACKAGES:
            return 'legacy'  # `from mmcv import runner` -> the package
        self.review(line, f'{module}.{name} has no equivalent in this '
                    'project; this import still needs mmcv')
        return None

    # --- statements ------------------------------------------------------
    def visit_import_from(self, node: ast.ImportFrom) -> None:
        module = node.module or ''
        root = module.split('.')[0]
        if node.level or root not in ('mmcv', 'mmengine'):
            return
        if root == 'mmcv' and len(module.split('.')) > 1 and module.split(
                '.')[1] not in _MMCV_SUBPACKAGES:
            self.review(node.lineno, f'{module} has no equivalent in this '
                        'project (only mmcv.runner, mmcv.utils and '
                        'mmcv.parallel are provided); left unchanged')
            return
        groups: Dict[Optional[str], List[ast.alias]] = {}
        for alias in node.names:
            target = self.target_for_name(module, alias.name, node.lineno)
            groups.setdefault(target, []).append(alias)
        # `from mmcv import runner` binds a module: import legacy as runner.
        package_aliases = [
            a for a in groups.get('legacy', [])
            if root == 'mmcv' and module == 'mmcv'
            and a.name in _MMCV_SUBPACKAGES
        ]
        if len(groups) == 1 and not package_aliases:
            target = next(iter(groups))
            if target is not None:
                start, end = self.module_token_span(node)
                self.replace(start, end, target, node.lineno)
            return
        statements = []
        for target, aliases in groups.items():
            plain = [a for a in aliases if a not in package_aliases]
            if plain:
                statements.append(
                    f'from {target or module} import '
                    f'{", ".join(_alias_text(a) for a in plain)}')
        for alias in package_aliases:
            statements.append(f'import legacy as {alias.asname or alias.name}')
        self.replace_statement(node, statements)

    def visit_import(self, node: ast.Import, bound_roots: Dict[str,
                                                              str]) -> None:
        new_aliases = []
        changed = False
        for alias in node.names:
            parts = alias.name.split('.')
            if parts[0] == 'mmengine':
                target = '.'.join(['engine'] + parts[1:])
                if not _module_has(target):
                    self.review(node.lineno, f'{alias.name} was renamed to '
                                f'{target}, which does not exist in the '
                                'engine')
                new_aliases.append(_alias_text(alias, target))
                changed = True
            elif parts[0] == 'mmcv' and alias.asname and len(
                    parts) >= 2 and parts[1] in _MMCV_SUBPACKAGES:
                new_aliases.append(_alias_text(alias, 'legacy'))
                changed = True
                if parts[1] == 'utils':
                    self.review(node.lineno, f'{alias.name} is imported as a '
                                'module; legacy provides its logging helpers '
                                'but Config/Registry live in engine.config / '
                                'engine.registry')
                elif len(parts) > 2:
                    self.review(node.lineno, f'{alias.name} became the flat '
                                'package legacy; check the names used through '
                                f'{alias.asname!r}')
            elif parts[0] == 'mmcv' and alias.asname:
                new_aliases.append(_alias_text(alias))
                self.review(node.lineno, f'{alias.name} has no equivalent in '
                            'this project; this import still needs mmcv')
            elif parts[0] == 'mmcv' and not alias.asname:
                replacement = bound_roots.get(alias.name)
                if replacement is None:
                    new_aliases.append(_alias_text(alias))
                else:
                    new_aliases.extend(replacement.split(', ') if replacement
                                       else [])
                    changed = True
            else:
                new_aliases.append(_alias_text(alias))
        if not changed:
            return
        # Keep one `import` per statement, the way it was written.
        seen = []
        for a in new_aliases:
            if a not in seen:
                seen.append(a)
        if seen:
            self.replace_statement(node, [f'import {", ".join(seen)}'])
            return
        start, end = self.node_span(node)
        indent, alone = self.statement_layout(node)
        if not alone:
            self.replace_statement(node, ['pass'])
            return
        # an import nothing needs any more: drop its whole line
        line_end = self.text.find('\n', end)
        line_end = len(self.text) if line_end < 0 else line_end + 1
        self.replace(start - len(indent), line_end, '', node.lineno)

    def rewrite_mmcv_chains(self, tree: ast.Module,
                            parents: Dict[int, ast.AST]) -> Tuple[set, bool]:
        """Rewrite ``mmcv.runner.X``-style chains on the name ``mmcv``.

        Returns the modules the rewritten chains need imported and whether
        any use of ``mmcv`` is left that still needs the real package.
        """
        needed = set()
        leftover = False
        handled = set()
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == 'mmcv'):
                continue
            handled.add(id(node.value))
            parent = parents.get(id(node))
            parent_attr = parent if isinstance(
                parent, ast.Attribute) and parent.value is node else None
            if node.attr in ('runner', 'parallel'):
                start, end = self.node_span(node)
                self.replace(start, end, 'legacy', node.lineno)
                needed.add('legacy')
            elif node.attr == 'utils' and parent_attr is not None:
                name = parent_attr.attr
                home = 'legacy' if name in LEGACY_NAMES else \
                    _ENGINE_HOMES.get(name)
                if home is None:
                    leftover = True
                    self.review(node.lineno, f'mmcv.utils.{name} has no '
                                'equivalent in this project')
                    continue
                start, end = self.node_span(parent_attr)
                self.replace(start, end, f'{home}.{name}', node.lineno)
                needed.add(home)
            elif node.attr in _ENGINE_HOMES:
                home = _ENGINE_HOMES[node.attr]
                start, end = self.node_span(node)
                self.replace(start, end, f'{home}.{node.attr}', node.lineno)
                needed.add(home)
            else:
                leftover = True
                self.review(node.lineno, f'mmcv.{node.attr} has no '
                            'equivalent in this project; this line still '
                            'needs mmcv')
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == 'mmcv' and id(
                    node) not in handled:
                leftover = True
                self.review(node.lineno, 'the module mmcv is used as a whole '
                            'here; check it by hand')
        return needed, leftover

    def rewrite_mmengine_names(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == 'mmengine':
                start, end = self.node_span(node)
                self.replace(start, end, 'engine', node.lineno)

    def run(self) -> str:
        tree = ast.parse(self.text)
        binds_mmcv = False
        binds_mmengine = False
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    root = a.name.split('.')[0]
                    if not a.asname and root == 'mmcv':
                        binds_mmcv = True
                    if not a.asname and root == 'mmengine':
                        binds_mmengine = True
        bound_roots: Dict[str, str] = {}
        if binds_mmcv:
            parents = {
                id(child): node
                for node in ast.walk(tree)
                for child in ast.iter_child_nodes(node)
            }
            needed, leftover = self.rewrite_mmcv_chains(tree, parents)
            imports = sorted(needed)
            if leftover:
                imports = ['mmcv'] + imports
            # every `import mmcv[.x]` statement is replaced by these
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for a in node.names:
                        if not a.asname and a.name.split('.')[0] == 'mmcv':
                            bound_roots[a.name] = ', '.join(imports)
        if binds_mmengine:
            self.rewrite_mmengine_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                self.visit_import_from(node)
            elif isinstance(node, ast.Import):
                self.visit_import(node, bound_roots)
        return self.apply()

    def apply(self) -> str:
        text = self.text
        for start, end, new in sorted(self.edits, reverse=True):
            text = text[:start] + new + text[end:]
        self.changes.sort(key=lambda c: c.line)
        self.reviews.sort(key=lambda r: r.line)
        return text


def _one_line(code: str) -> str:
    """Code shown on one report line: statements joined by '; '."""
    statements = [' '.join(line.split()) for line in code.split('\n')]
    joined = []
    for part in statements:
        # a continuation line of a parenthesised import joins with a space
        if joined and (joined[-1].endswith((',', '(')) or part.startswith(')')):
            joined[-1] = f'{joined[-1]} {part}'
        elif part:
            joined.append(part)
    return '; '.join(joined)


def _alias_text(alias: ast.alias, name: Optional[str] = None) -> str:
    name = name or alias.name
    return f'{name} as {alias.asname}' if alias.asname else name


def upgrade_source(text: str,
                   path: str = '<string>'
                   ) -> Tuple[str, List[Change], List[Review]]:
    """Rewrite the imports of one Python source text.

    Returns the new text, the changes made and the items to review. A file
    that does not parse is returned unchanged with a review item.
    """
    try:
        rewriter = _Rewriter(text, path)
        new_text = rewriter.run()
    except (SyntaxError, tokenize.TokenError) as exc:
        line = getattr(exc, 'lineno', 1) or 1
        return text, [], [
            Review(path, line, f'not valid Python 3 ({exc.__class__.__name__}'
                   f': {exc}); copied unchanged')
        ]
    return new_text, rewriter.changes, rewriter.reviews


_SKIPPED_DIRS = {'__pycache__', '.git', '.hg', '.svn', '.tox', '.mypy_cache'}


def upgrade_tree(src: str, dst: str,
                 report_name: str = 'upgrade_report.md') -> UpgradeReport:
    """Copy ``src`` to ``dst``, rewriting the imports of every ``.py`` file,
    and write the report to ``dst/report_name``.

    Raises:
        NotADirectoryError: ``src`` is not a directory.
        ValueError: ``dst`` lies inside ``src`` or is not empty.
    """
    src = os.path.abspath(src)
    dst = os.path.abspath(dst)
    if not os.path.isdir(src):
        raise NotADirectoryError(f'upgrade source {src!r} is not a directory')
    if dst == src or dst.startswith(src + os.sep):
        raise ValueError(f'the destination {dst!r} must not lie inside the '
                         f'source {src!r}')
    if os.path.isdir(dst) and os.listdir(dst):
        raise ValueError(f'the destination {dst!r} exists and is not empty; '
                         'choose a new directory')
    report = UpgradeReport()
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        rel_root = os.path.relpath(root, src)
        os.makedirs(os.path.join(dst, rel_root), exist_ok=True)
        for name in sorted(files):
            source = os.path.join(root, name)
            target = os.path.join(dst, rel_root, name)
            rel = os.path.normpath(os.path.join(rel_root, name))
            if not name.endswith('.py'):
                shutil.copy2(source, target)
                continue
            report.files.append(rel)
            with open(source, 'rb') as f:
                raw = f.read()
            try:
                encoding = tokenize.detect_encoding(io.BytesIO(raw).readline)[0]
                text = raw.decode(encoding)
            except (SyntaxError, UnicodeDecodeError) as exc:
                shutil.copy2(source, target)
                report.reviews.append(
                    Review(rel, 1, f'could not be decoded ({exc}); copied '
                           'unchanged'))
                continue
            new_text, changes, reviews = upgrade_source(text, rel)
            report.changes.extend(changes)
            report.reviews.extend(reviews)
            if new_text == text:
                with open(target, 'wb') as f:
                    f.write(raw)
            else:
                report.changed_files.append(rel)
                with open(target, 'wb') as f:
                    f.write(new_text.encode(encoding))
            shutil.copystat(source, target)
    with open(os.path.join(dst, report_name), 'w', encoding='utf-8') as f:
        f.write(report.to_markdown())
    return report


def summary_lines(report: UpgradeReport,
                  limit: Optional[int] = None) -> Sequence[str]:
    """Human-readable lines for the command line."""
    lines = [
        f'{len(report.files)} Python files, {len(report.changed_files)} '
        f'changed, {len(report.changes)} edits, {len(report.reviews)} to '
        'review'
    ]
    for c in report.changes[:limit]:
        lines.append(f'  changed {c.path}:{c.line}: {c.before} -> {c.after}')
    for r in report.reviews[:limit]:
        lines.append(f'  REVIEW  {r.path}:{r.line}: {r.message}')
    return lines
