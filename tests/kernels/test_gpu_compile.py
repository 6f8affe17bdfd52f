"""Every .cu file (and the exact flattened source handed to NVRTC) compiles to PTX for sm_80 and sm_90."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from sparsewire.kernels.walks_cuda import KERNEL_DIR, KERNEL_NAMES, NVRTC_OPTIONS, kernel_source

ARCHS = ("sm_80", "sm_90")
CU_FILES = sorted(KERNEL_DIR.glob("*.cu"))
NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc not found on PATH: CUDA sources not compiled")


def _ptx(src, arch, out_dir):  # noqa: ANN001, ANN202
    out = out_dir / f"{src.stem}_{arch}.ptx"
    cmd = [NVCC, "-ptx", f"-arch={arch}", *NVRTC_OPTIONS, f"-I{KERNEL_DIR}", "-o", str(out), str(src)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stderr}"
    return out.read_text()


def test_there_are_cuda_sources() -> None:
    assert [p.name for p in CU_FILES] == ["walks.cu"]


@needs_nvcc
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("src", CU_FILES, ids=[p.name for p in CU_FILES])
def test_cu_compiles_to_ptx(src, arch, kernel_build_dir) -> None:  # noqa: ANN001
    ptx = _ptx(src, arch, kernel_build_dir)
    for name in KERNEL_NAMES:
        assert re.search(rf"\.entry\s+{name}\b", ptx), f"{name} missing from {src.name} PTX"
    # -fmad=false: no fused multiply-add may change the rounding of R += 1/w or w_e * R
    assert "fma.rn.f64" not in ptx
    assert "shfl.sync.down" in ptx


@needs_nvcc
@pytest.mark.parametrize("arch", ARCHS)
def test_flattened_nvrtc_source_compiles(arch, kernel_build_dir) -> None:  # noqa: ANN001
    """The string CudaBackend gives cupy.RawModule needs no include path and no standard headers."""
    src = kernel_source()
    assert "#include" not in src
    path = kernel_build_dir / "flat_walks.cu"
    path.write_text(src)
    ptx = _ptx(path, arch, kernel_build_dir)
    for name in KERNEL_NAMES:
        assert re.search(rf"\.entry\s+{name}\b", ptx)


@needs_nvcc
@pytest.mark.parametrize("arch", ARCHS)
def test_kernels_fit_1024_threads_per_block(arch, kernel_build_dir) -> None:  # noqa: ANN001
    """W = 1024 walkers means 1024-thread blocks: at most 64 registers per thread, no spills."""
    path = kernel_build_dir / "flat_walks_regs.cu"
    path.write_text(kernel_source())
    cmd = [NVCC, "-cubin", f"-arch={arch}", *NVRTC_OPTIONS, "-Xptxas", "-v", "-o",
           str(kernel_build_dir / f"walks_{arch}.cubin"), str(path)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    regs = [int(x) for x in re.findall(r"Used (\d+) registers", res.stderr)]
    assert len(regs) == len(KERNEL_NAMES) and max(regs) <= 64, res.stderr
    assert "0 bytes spill stores" in res.stderr and not re.search(r"[1-9]\d* bytes spill", res.stderr)
