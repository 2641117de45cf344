"""Sum up a run of dev/gpu_check.sh in OUT/gpu_check.json.

    python dev/gpu_summary.py OUT VENV install=0:51 pytest=0:40 ...

Each step is NAME=EXIT_STATUS:SECONDS. Read besides: OUT/pytest_cuda.xml
(the `-m cuda` tests), OUT/bench_cuda.json (the benchmark's machine and
targets), VENV/mmcv_cuda_check.json (dev/check_mmcv_cuda.py's report), and
what torch sees, where it imports. Exit status 1 if a step failed, torch
sees no CUDA device or no CUDA test passed.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import xml.etree.ElementTree as ET


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('out', help="gpu_check.sh's output folder")
    parser.add_argument('venv', help='the virtual environment it installed')
    parser.add_argument('steps', nargs='*', metavar='NAME=STATUS:SECONDS')
    return parser.parse_args(argv)


def read_json(path):
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def pytest_counts(path):
    """Tests, failures, errors, skipped and passed of a JUnit XML file, and
    the names of the failed tests; None without the file."""
    if not osp.isfile(path):
        return None
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else list(root)
    counts = {
        key: sum(int(suite.get(key, 0)) for suite in suites)
        for key in ('tests', 'failures', 'errors', 'skipped')
    }
    counts['passed'] = counts['tests'] - counts['failures'] - counts[
        'errors'] - counts['skipped']
    counts['failed'] = [
        f"{case.get('classname')}::{case.get('name')}" for suite in suites
        for case in suite.iter('testcase')
        if case.find('failure') is not None or case.find('error') is not None
    ]
    return counts


def torch_cuda():
    """What this Python's torch sees, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    available = torch.cuda.is_available()
    return dict(
        torch=torch.__version__,
        cuda=torch.version.cuda,
        available=available,
        device=torch.cuda.get_device_name() if available else None)


def summary(out, venv, steps):
    steps = {
        name: dict(status=int(status), seconds=int(seconds))
        for name, status, seconds in (step.replace('=', ':').split(':')
                                      for step in steps)
    }
    try:
        gpus = subprocess.run(['nvidia-smi', '-L'],
                              capture_output=True,
                              text=True).stdout.splitlines()
    except OSError:
        gpus = []
    result = dict(
        steps=steps,
        gpus=gpus,
        torch_cuda=torch_cuda(),
        mmcv_cuda_check=read_json(osp.join(venv, 'mmcv_cuda_check.json')),
        pytest=pytest_counts(osp.join(out, 'pytest_cuda.xml')))
    bench = read_json(osp.join(out, 'bench_cuda.json'))
    if bench is not None:
        result['benchmark'] = dict(
            environment=bench['environment'],
            targets={
                name: target['met']
                for name, target in bench['targets'].items()
            })
    problems = [
        f'step {name} failed' for name, step in steps.items() if step['status']
    ]
    if not (result['torch_cuda'] or {}).get('available'):
        problems.append('torch sees no CUDA device')
    if not (result['pytest'] or {}).get('passed'):
        problems.append('no CUDA test passed')
    result['problems'] = problems
    return result


def main(argv=None):
    args = parse_args(argv)
    result = summary(args.out, args.venv, args.steps)
    text = json.dumps(result, indent=1)
    # the standard library only: it also runs where the install failed
    with open(osp.join(args.out, 'gpu_check.json'), 'w') as f:
        f.write(text + '\n')
    print(text)
    return 1 if result['problems'] else 0


if __name__ == '__main__':
    sys.exit(main())
