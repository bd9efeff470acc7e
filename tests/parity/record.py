"""Record the parity fixtures from the real mmcv 1.7.2 and mmengine 0.10.7.

Run from the repository root with the reference environment::

    /tmp/reference/bin/python tests/parity/record.py            # everything
    /tmp/reference/bin/python tests/parity/record.py resume gan # by name part

Writes ``tests/parity/fixtures/{engine,legacy}_<scenario>.json`` and the
mmcv checkpoints ``fixtures/mmcv_*.pth``. The tests never import this file:
it is the only place that touches the originals.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / 'fixtures'


def patch_originals() -> None:
    """Work around the originals' problems that do not change numbers.

    - mmcv and mmengine ``time.sleep`` 2 s at every epoch transition (and
      mmcv 1 s at the end of ``run``): a no-op sleep saves minutes.
    - torch >= 2.6 loads with ``weights_only=True``; mmcv's and mmengine's
      resume then fail (mmengine stores its history buffers and numpy
      scalars in the checkpoint). The originals never pass the argument, so
      the old default is put back for them, and only here.
    """
    time.sleep = lambda seconds: None
    original_load = torch.load

    def load(*args, **kwargs):
        kwargs.setdefault('weights_only', False)
        return original_load(*args, **kwargs)

    torch.load = load


def write_fixture(name: str, result: dict, versions: dict) -> None:
    path = FIXTURES / f'{name}.json'
    payload = dict(scenario=name, recorded_with=versions, result=result)
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + '\n')
    print(f'wrote {path.relative_to(HERE.parent.parent)}')


def main(selected: list[str]) -> None:
    torch.set_num_threads(1)
    patch_originals()
    sys.path.insert(0, str(HERE.parent))
    import mmcv
    import mmengine
    from parity import scenarios_engine, scenarios_legacy
    from parity.apis import engine_api, legacy_api

    versions = dict(torch=torch.__version__, mmcv=mmcv.__version__,
                    mmengine=mmengine.__version__)
    jobs = [(f'engine_{name}', fn, engine_api('mmengine'))
            for name, fn in scenarios_engine.SCENARIOS.items()]
    jobs += [(f'legacy_{name}', sc.run, legacy_api('mmcv'))
             for name, sc in scenarios_legacy.SCENARIOS.items()]
    FIXTURES.mkdir(exist_ok=True)
    for name, run, api in jobs:
        if selected and not any(s in name for s in selected):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            work_dir = Path(tmp)
            write_fixture(name, run(api, work_dir), versions)
            for src, dst in scenarios_legacy.STORED_CHECKPOINTS.get(
                    name.removeprefix('legacy_'), {}).items():
                shutil.copyfile(work_dir / src, FIXTURES / dst)
                print(f'wrote tests/parity/fixtures/{dst}')


if __name__ == '__main__':
    main(sys.argv[1:])
