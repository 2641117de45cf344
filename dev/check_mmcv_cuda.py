"""Check mmcv's CUDA ops without a GPU: archs, kernels, symbols, import.

    .venv-cuda/bin/python dev/check_mmcv_cuda.py [--archs 80 90] [--ptx 90]
        [--out report.json]

Run it in the venv that `make install CUDA=1` made. It loads `mmcv.ops`
(the library must load where CUDA is not available), lists the CUDA
architectures whose machine code (cubin) and PTX are embedded in
`mmcv/_ext*.so` with `cuobjdump`, and checks that the host launchers and
the device kernels of the ops this package uses (RoIPool, RoIAlign and nms,
forward and backward) are in it. Exit status 1 if anything is missing.
"""
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

from mmdet_ohem.workbench.cli import doc_parser

# host launchers (nm -DC) and device kernels (cuobjdump -symbols) per op
LAUNCHERS = ('ROIPoolForwardCUDAKernelLauncher',
             'ROIPoolBackwardCUDAKernelLauncher',
             'ROIAlignForwardCUDAKernelLauncher',
             'ROIAlignBackwardCUDAKernelLauncher', 'NMSCUDAKernelLauncher')
KERNELS = ('roi_pool_forward_cuda_kernel', 'roi_pool_backward_cuda_kernel',
           'roi_align_forward_cuda_kernel', 'roi_align_backward_cuda_kernel',
           'nms_cuda')


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument(
        '--archs',
        nargs='+',
        default=['80', '90'],
        help='SM versions that must have machine code (default: 80 90)')
    parser.add_argument(
        '--ptx',
        nargs='*',
        default=['90'],
        help='SM versions that must have PTX (default: 90)')
    parser.add_argument('--out', help='also write the report as JSON')
    return parser.parse_args(argv)


def find_tool(name):
    """A CUDA tool from the venv's NVIDIA packages, else from PATH."""
    try:
        import nvidia
        for root in nvidia.__path__:
            for path in glob.glob(osp.join(root, 'cu*', 'bin', name)):
                return path
    except ImportError:
        pass
    path = shutil.which(name)
    if path is None:
        sys.exit(f'check_mmcv_cuda: {name} not found; install NVIDIA\'s '
                 f'package (pip install nvidia-cuda-cuobjdump) or put it on '
                 'PATH.')
    return path


def run(cmd):
    return subprocess.run(
        cmd, check=True, stdout=subprocess.PIPE, text=True).stdout


def main(argv=None):
    args = parse_args(argv)
    import mmcv
    import mmcv.ops  # noqa: F401  the library loads without a GPU
    import torch
    lib = glob.glob(osp.join(osp.dirname(mmcv.__file__), '_ext*.so'))[0]
    cuobjdump = find_tool('cuobjdump')
    elf = run([cuobjdump, '--list-elf', lib])
    ptx = run([cuobjdump, '--list-ptx', lib])
    report = dict(
        library=lib,
        size_mb=round(os.path.getsize(lib) / 2**20, 1),
        mmcv=mmcv.__version__,
        torch=torch.__version__,
        torch_cuda=torch.version.cuda,
        cuda_available=torch.cuda.is_available(),
        cubin_archs=sorted(set(re.findall(r'sm_(\d+)', elf)), key=int),
        ptx_archs=sorted(set(re.findall(r'sm_(\d+)', ptx)), key=int))
    # exact names: DeformRoIPool's launcher contains RoIPool's
    host = {
        line.split(' ', 2)[2].split('(')[0]
        for line in run(['nm', '-DC', '--defined-only', lib]).splitlines()
        if line.count(' ') >= 2
    }
    report['launchers'] = {name: name in host for name in LAUNCHERS}
    kernels = {}
    for arch in report['cubin_archs']:
        symbols = run([cuobjdump, '-symbols', '-arch', f'sm_{arch}', lib])
        # mangled as _Z<length><name>...: no other kernel's name matches
        kernels[arch] = {
            name: f'_Z{len(name)}{name}' in symbols
            for name in KERNELS
        }
    report['kernels'] = kernels
    problems = [
        f'no sm_{a} machine code' for a in args.archs
        if a not in report['cubin_archs']
    ]
    problems += [
        f'no sm_{a} PTX' for a in args.ptx if a not in report['ptx_archs']
    ]
    problems += [
        f'no host launcher {n}' for n, ok in report['launchers'].items()
        if not ok
    ]
    problems += [
        f'no {n} kernel for sm_{arch}' for arch, found in kernels.items()
        for n, ok in found.items() if not ok
    ]
    report['problems'] = problems
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        from mmdet_ohem.fileio import write_atomic
        write_atomic(args.out, text + '\n')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
