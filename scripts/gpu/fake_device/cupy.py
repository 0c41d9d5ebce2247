"""A stand-in for cupy (numpy only) to dry-run fp8_cast_gpu.py's device path without a GPU:
`PYTHONPATH=scripts/gpu/fake_device FP8_FAKE_RESULTS=CPU_OUT python3 fp8_cast_gpu.py KITDIR`.
Each "launch" checks its arguments against the PTX .entry (count, numpy scalar widths, pointers
that are the start of a live buffer of the described size) and writes the CPU pipeline's results
for the output it is handed. Not a GPU test: it checks the marshalling and the data flow."""
import json
import os
import sys

import numpy as np

__version__ = "fake"
_buffers = {}  # address -> ndarray


class _Mem:
    def __init__(self, ptr):
        self.ptr = ptr


class ndarray:
    def __init__(self, host):
        self._h = np.array(host, copy=True)
        self.data = _Mem(self._h.ctypes.data)
        _buffers[self.data.ptr] = self


def asarray(a):
    return ndarray(a)


def full(n, value, dtype):
    return ndarray(np.full(n, value, dtype=dtype))


def asnumpy(a):
    return a._h.copy()


uint8 = np.uint8


class cuda:
    class Device:
        compute_capability = "90"

        def synchronize(self):
            pass


def _results():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    import fp8_cast_gpu
    return fp8_cast_gpu.parse_cpu_out(os.environ["FP8_FAKE_RESULTS"])


class RawModule:
    def __init__(self, path):
        self.path = path[:-len(".cubin")] + ".ptx" if path.endswith(".cubin") else path
        assert os.path.exists(path), path
        self.text = open(self.path).read()

    def get_function(self, entry):
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
        import fp8_cast_gpu
        ptx = fp8_cast_gpu.ptx_entry_params(self.text, entry)
        kitdir = os.path.dirname(os.path.dirname(os.path.abspath(self.path)))
        kit = json.load(open(os.path.join(kitdir, "kit.json")))
        (output,) = [k["outputs"][0] for k in kit["kernels"]
                     if k["ptx"] == "ptx/" + os.path.basename(self.path) and k["entry"] == entry]

        def launch(grid, block, args):
            width = {"u64": 8, "b64": 8, "s64": 8, "u32": 4, "b32": 4, "s32": 4, "f32": 4}
            assert len(args) == len(ptx), "%d args for %d params" % (len(args), len(ptx))
            for i, (a, t) in enumerate(zip(args, ptx)):
                assert isinstance(a, np.generic) and a.dtype.itemsize == width[t], (i, type(a), t)
                if t == "f32":
                    assert a.dtype == np.float32, (i, a.dtype)
            # memrefs: (ptr, ptr, offset, size, stride) where both ptrs are a live buffer
            bufs = [i for i, a in enumerate(args[:-1]) if a.dtype == np.uint64 and int(a) in _buffers]
            assert len(bufs) == 4, "expected 2 memrefs (4 pointer params), found %s" % bufs
            out = _buffers[int(args[bufs[2]])]
            assert int(args[bufs[2]]) == int(args[bufs[3]]) and bufs[3] == bufs[2] + 1
            size = int(args[bufs[3] + 2])
            quant = output.startswith("q_")
            vals = _results()[output]
            vals = np.array(vals, dtype=np.uint8) if quant else np.array(vals, dtype=np.uint32).view(np.uint8)
            assert out._h.size == vals.size and size * (1 if quant else 4) == vals.size, (out._h.size, vals.size, size)
            assert grid[0] * block[0] >= size
            out._h[:] = vals
        return launch
