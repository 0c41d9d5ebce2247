# lit configuration of lorc's tests (FileCheck, -verify-diagnostics, tool errors, end to end).
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "LORC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "goldens"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.lorc_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%lorc_src", config.lorc_src_root))
config.substitutions.append(("%python", "python3"))

llvm_config.with_system_environment(["HOME", "LORC_CACHE", "LORC_MODEL_DIR", "TMPDIR"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.lorc_tools_dir, append_path=True)

tool_dirs = [config.lorc_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["lorc-opt", "lorc-compile", "lorc-run"], tool_dirs)

# The model is fetched by scripts/fetch-model.sh; tests that need it require this feature.
model_dir = os.environ.get("LORC_MODEL_DIR") or os.path.join(
    os.environ.get("LORC_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "lorc")),
    "models", "all-MiniLM-L6-v2")
if os.path.exists(os.path.join(model_dir, "model.safetensors")):
    config.available_features.add("minilm")
config.substitutions.append(("%minilm", model_dir))

# Whether this CPU lacks AMX (lorc-compile --host-cpu=graniterapids then makes host code it
# cannot run: test/Tools/host-cpu-refused.test), and whether it has AVX512_BF16 (VDPBF16PS: the
# runtime's bf16 GEMMs round activations too; without it they run in f32 on bf16-stored weights:
# test/e2e/precision-bf16.test).
try:
    _flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
    if "amx_tile" not in _flags:
        config.available_features.add("cpu-without-amx")
    if "avx512_bf16" in _flags:
        config.available_features.add("cpu-bf16-dot")
except OSError:
    pass

# Execution tests: the CPU pipeline's output run by mlir-runner, with the lorc runtime (BLAS entry
# points, memrefCopy) and MLIR's printing utilities loaded.
llvm_lib_dir = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
config.substitutions.append((
    "%lorc_runner",
    "%s -e main -entry-point-result=void -shared-libs=%s,%s,%s" % (
        os.path.join(config.llvm_tools_dir, "mlir-runner"),
        os.path.join(config.lorc_lib_dir, "libLorcRuntime.so"),
        os.path.join(llvm_lib_dir, "libmlir_c_runner_utils.so"),
        os.path.join(llvm_lib_dir, "libmlir_runner_utils.so"))))

# CUDA: ptxas assembles the PTX of the CUDA pipeline (CI has the toolkit, no GPU); the toolkit's
# stub libcuda exercises the runtime's "stub, not a driver" path; `cuda-device` marks a machine
# where the CUDA driver initialises and reports a device (the GPU tests run only there).
cuda_toolkit = os.environ.get("LORC_CUDA_TOOLKIT") or os.environ.get("CUDA_HOME") or "/usr/local/cuda"
ptxas = os.path.join(cuda_toolkit, "bin", "ptxas")
if os.access(ptxas, os.X_OK):
    config.available_features.add("ptxas")
config.substitutions.append(("%ptxas", ptxas))
cuda_stub = os.path.join(cuda_toolkit, "lib64", "stubs", "libcuda.so")
if os.path.exists(cuda_stub):
    config.available_features.add("cuda-stub")
config.substitutions.append(("%cuda_stub", cuda_stub))
try:
    import ctypes
    _cuda = ctypes.CDLL("libcuda.so.1")
    _count = ctypes.c_int(0)
    if _cuda.cuInit(0) == 0 and _cuda.cuDeviceGetCount(ctypes.byref(_count)) == 0 and _count.value > 0:
        config.available_features.add("cuda-device")
except OSError:
    pass
if "cuda-device" not in config.available_features:
    # Without a GPU the runtime must report the missing driver whatever this machine has.
    config.environment["LORC_CUDA_DRIVER"] = "/nonexistent/libcuda.so.1"
# unittests/FakeCuda.cpp: a host-memory libcuda/cuBLAS stand-in (kernels cannot launch).
fake_cuda = os.path.join(config.lorc_lib_dir, "libLorcFakeCuda.so")
if os.path.exists(fake_cuda):
    config.available_features.add("fake-cuda")
config.substitutions.append(("%fake_cuda", fake_cuda))
