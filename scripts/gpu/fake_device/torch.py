"""A stand-in for torch (numpy only) for the fake_device dry run (see cupy.py): its float8 casts
return the CPU pipeline's codes (FP8_FAKE_RESULTS) and decode with the golden's table."""
import os
import sys

import numpy as np

__version__ = "fake"
uint8, int32, float8_e4m3fn, float8_e5m2 = "uint8", "int32", "float8_e4m3fn", "float8_e5m2"
_FMT = {float8_e4m3fn: "e4m3", float8_e5m2: "e5m2"}


def _res():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    import fp8_cast_gpu
    return fp8_cast_gpu.parse_cpu_out(os.environ["FP8_FAKE_RESULTS"])


class T:
    def __init__(self, a, fp8=None):
        self.a, self.fp8 = a, fp8

    def cuda(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.a

    def to(self, dtype):
        if dtype in _FMT:
            fmt = _FMT[dtype]
            if self.a.dtype == np.float32:  # a cast: the CPU pipeline's codes for these inputs
                codes = np.array(_res()["q_" + fmt], dtype=np.uint8)
                assert codes.size == self.a.size
                return T(codes, fmt)
        return T(self.a.astype(dtype))

    def view(self, dtype):
        if dtype in _FMT:
            return T(self.a.astype(np.uint8), _FMT[dtype])
        return T(self.a.view(dtype), None)

    def float(self):
        d = np.array(_res()["d_" + self.fp8], dtype=np.uint32).view(np.float32)
        return T(d[self.a.astype(np.int64)])


def from_numpy(a):
    return T(a)


def clamp(t, lo, hi):
    return T(np.clip(t.a, np.float32(lo), np.float32(hi)))


def arange(n, dtype):
    return T(np.arange(n, dtype=dtype))


class cuda:
    @staticmethod
    def get_device_name():
        return "fake device (scripts/gpu/fake_device)"

    @staticmethod
    def synchronize():
        pass
