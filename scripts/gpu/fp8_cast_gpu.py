#!/usr/bin/env python3
"""Runs lorc's NVPTX FP8 kernels (made by scripts/gpu/fp8-kit.sh) on a GPU and compares them bit
for bit with the golden (test/e2e/goldens/fp8.safetensors: PyTorch's CPU casts) and with PyTorch's
own CUDA float8 cast.

  fp8_cast_gpu.py KITDIR [--allow-nan-sign] [--cubin]
                                                on the GPU machine (python3, numpy, cupy, torch);
                                                loads KITDIR/ptx/*.ptx (the driver JITs them), or
                                                with --cubin the ptxas -arch=sm_90 cubins beside them
  fp8_cast_gpu.py --selftest KITDIR [CPU_OUT]   anywhere, standard library only: checks kit.json's
                                                parameter lists against the PTX entries, the
                                                marshalling, and the comparison code (on the CPU
                                                pipeline's codes, CPU_OUT = fp8_cases.py mlir |
                                                lorc-opt --lorc-cpu-pipeline | mlir-runner output,
                                                and on deliberately corrupted copies of them)

Exit status 0 only when every code and value matches (NaN-sign-only differences of the quantised
codes are reported on their own line and fail too, unless --allow-nan-sign). Everything up to the
launch is plain Python; numpy, cupy and torch are imported only to run on the device.
"""
import json
import os
import re
import struct
import sys

# lorc's kernel parameter kinds -> the PTX .param types that may carry them.
PTX_TYPES = {"u64": {"u64", "b64", "s64"}, "i64": {"u64", "b64", "s64"},
             "i32": {"u32", "b32", "s32"}, "f32": {"f32", "b32"}}
FP8 = {"e4m3": {"max": 448.0, "torch": "float8_e4m3fn", "ptx": "cvt.rn.satfinite.e4m3x2.f32"},
       "e5m2": {"max": 57344.0, "torch": "float8_e5m2", "ptx": "cvt.rn.satfinite.e5m2x2.f32"}}
ELT_SIZE = {"f32": 4, "u8": 1}


class KitError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Golden and PTX reading (standard library).

def fp8_cases_module():
    """test/Execution/Inputs/fp8_cases.py: beside this script in a kit, else in the checkout."""
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (here, os.path.join(here, "..", "..", "test", "Execution", "Inputs")):
        if os.path.exists(os.path.join(d, "fp8_cases.py")):
            if d not in sys.path:
                sys.path.insert(0, d)
            break
    import fp8_cases
    return fp8_cases


def read_safetensors(path):
    """name -> (dtype, list of Python numbers, raw little-endian bytes), by fp8_cases.read."""
    return {name: (None, values, blob)
            for name, (values, blob) in fp8_cases_module().read(path).items()}


def ptx_entry_params(text, entry):
    """The .param types, in order, of `.entry ENTRY(...)` in a PTX module's text."""
    m = re.search(r"\.entry\s+%s\s*\(([^)]*)\)" % re.escape(entry), text)
    if not m:
        raise KitError("no .entry %s in the PTX" % entry)
    types = []
    for decl in [d.strip() for d in m.group(1).split(",") if d.strip()]:
        p = re.match(r"\.param\s+\.(\w+)\b(.*)$", decl)
        if not p or "[" in decl or p.group(1) == "align":
            raise KitError("unsupported PTX parameter %r of %s (byte arrays/aggregates are not "
                           "described by kit.json)" % (decl, entry))
        types.append(p.group(1))
    return types


def check_kernel_against_ptx(kernel, ptx_text):
    """Raises unless the kernel's described parameters match the PTX entry's, one for one."""
    ptx = ptx_entry_params(ptx_text, kernel["entry"])
    params = kernel["params"]
    if len(ptx) != len(params):
        raise KitError("%s: kit.json describes %d parameters, the PTX .entry has %d"
                       % (kernel["module"], len(params), len(ptx)))
    for i, (p, t) in enumerate(zip(params, ptx)):
        if t not in PTX_TYPES[p["type"]]:
            raise KitError("%s: parameter %d is %s (%s) in kit.json but .%s in the PTX"
                           % (kernel["module"], i, p["type"], p["what"], t))
    return ptx


# ---------------------------------------------------------------------------------------------
# Marshalling (pure: buffer addresses in, (type, value) list out).

def f32_from_bits(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def marshal(kernel, buffers, addresses):
    """The launch arguments of `kernel` as [(type, python int or float bits)], in order.
    `addresses`: buffer name -> device address. Checks every memref field against the buffer."""
    args = []
    for i, p in enumerate(kernel["params"]):
        if "buffer" in p:
            b = buffers.get(p["buffer"])
            if b is None or p["buffer"] not in addresses:
                raise KitError("%s parameter %d: unknown buffer %r" % (kernel["module"], i, p["buffer"]))
            if p["field"] in ("allocated", "aligned"):
                args.append(("u64", addresses[p["buffer"]]))
                continue
            expect = {"offset": 0, "size0": b["count"], "stride0": 1}.get(p["field"])
            if expect is None or p["value"] != expect:
                raise KitError("%s parameter %d: %s of %s is %r, expected %r (a contiguous 1-d buffer "
                               "of %d)" % (kernel["module"], i, p["field"], p["buffer"], p["value"],
                                           expect, b["count"]))
            args.append(("i64", p["value"]))
        elif p["type"] == "f32":
            args.append(("f32", int(p["bits"], 16)))
        elif p["type"] in ("i64", "i32"):
            args.append((p["type"], int(p["value"])))
        else:
            raise KitError("%s parameter %d: cannot marshal %r" % (kernel["module"], i, p))
    return args


def to_numpy_args(args, np):
    conv = {"u64": np.uint64, "i64": np.int64, "i32": np.int32}
    out = []
    for t, v in args:
        if t == "f32":
            out.append(np.array([v], dtype=np.uint32).view(np.float32)[0])
        else:
            out.append(conv[t](v))
    return tuple(out)


def load_kit(kitdir):
    kit = json.load(open(os.path.join(kitdir, "kit.json")))
    for k in kit["kernels"]:
        check_kernel_against_ptx(k, open(os.path.join(kitdir, k["ptx"])).read())
    return kit


def host_inputs(kit, golden):
    """Input buffer name -> list of values (f32 bits as ints for f32, codes for u8)."""
    out = {}
    for name, b in kit["buffers"].items():
        if b["role"] != "input":
            continue
        if b.get("fill") == "iota":
            vals = list(range(b["count"]))
        else:
            blob = golden[b["golden"]][2]
            vals = list(struct.unpack("<%dI" % (len(blob) // 4), blob))
        if len(vals) != b["count"]:
            raise KitError("buffer %s: %d values for %d elements" % (name, len(vals), b["count"]))
        out[name] = vals
    return out


# ---------------------------------------------------------------------------------------------
# Comparison (pure).

def is_nan_code(fmt, c):
    return (c & 0x7F) == 0x7F if fmt == "e4m3" else (c & 0x7F) > 0x7C


def hexf(bits):
    return "0x%08x" % bits


def compare_codes(fmt, label, xs_bits, got, want, lines, noun="codes bit-exact"):
    """Codes exactly. Returns (failures, nan_only). Lists up to 10 mismatches."""
    if len(got) != len(want):
        lines.append("%s %s: %d codes for %d inputs  FAIL" % (fmt, label, len(got), len(want)))
        return 1, 0
    bad = [(i, x, g, w) for i, (x, g, w) in enumerate(zip(xs_bits, got, want)) if g != w]
    nan_sign = [t for t in bad if is_nan_code(fmt, t[2]) and is_nan_code(fmt, t[3])]
    other = [t for t in bad if t not in nan_sign]
    lines.append("%s %s: %d/%d %s%s" % (fmt, label, len(want) - len(bad), len(want), noun,
                                        "  FAIL" if other else "  NaN-sign differences only" if bad else ""))
    if nan_sign:
        lines.append("%s %s: %d of the differences are NaN codes differing only in sign/payload "
                     "(got %s, want %s)" % (fmt, label, len(nan_sign),
                                            sorted({"0x%02x" % t[2] for t in nan_sign}),
                                            sorted({"0x%02x" % t[3] for t in nan_sign})))
    for i, x, g, w in (other + nan_sign)[:10]:
        lines.append("  [%d] input %s (%r): got 0x%02x, want 0x%02x%s"
                     % (i, hexf(x), f32_from_bits(x), g, w, "  (NaN sign)" if (i, x, g, w) in nan_sign else ""))
    return len(other), len(nan_sign)


def compare_decoded(fmt, label, got_bits, want_bits, lines):
    """f32 bits exactly, NaN as a class. Returns the number of mismatches."""
    if len(got_bits) != len(want_bits):
        lines.append("%s %s: %d values for %d codes  FAIL" % (fmt, label, len(got_bits), len(want_bits)))
        return 1
    nan = lambda b: (b & 0x7F800000) == 0x7F800000 and (b & 0x7FFFFF) != 0
    bad = [(c, g, w) for c, (g, w) in enumerate(zip(got_bits, want_bits)) if not (g == w or (nan(g) and nan(w)))]
    lines.append("%s %s: %d/%d values bit-exact (NaN as a class)%s"
                 % (fmt, label, len(want_bits) - len(bad), len(want_bits), "" if not bad else "  FAIL"))
    for c, g, w in bad[:10]:
        lines.append("  code 0x%02x: got %s (%r), want %s (%r)" % (c, hexf(g), f32_from_bits(g), hexf(w), f32_from_bits(w)))
    return len(bad)


def report(kit, golden, runs, torch_codes=None, torch_decoded=None, allow_nan_sign=False):
    """runs: one or more dicts output buffer -> list (u8 codes / f32 bits), from launches with
    different output sentinels; they must agree (every element written, deterministic).
    torch_codes: fmt -> codes of torch's CUDA cast (None: not checked). Returns (lines, rc)."""
    lines, fails, nan_only = [], 0, 0
    res = runs[0]
    for other in runs[1:]:
        for name in res:
            diff = sum(1 for a, b in zip(res[name], other[name]) if a != b)
            if diff or len(res[name]) != len(other[name]):
                lines.append("%s: %d elements differ between runs with different output sentinels "
                             "(not written by the kernel, or nondeterministic)  FAIL" % (name, diff))
                fails += 1
    for fmt in ("e4m3", "e5m2"):
        xs = golden[fmt + ".inputs"][2]
        xs_bits = list(struct.unpack("<%dI" % (len(xs) // 4), xs))
        want = golden[fmt + ".codes"][1]
        dec_blob = golden[fmt + ".decode"][2]
        want_dec = list(struct.unpack("<%dI" % (len(dec_blob) // 4), dec_blob))
        f, n = compare_codes(fmt, "quantize (nvvm cvt.rn.satfinite)", xs_bits, res["q_" + fmt], want, lines)
        fails += f
        nan_only += n
        fails += compare_decoded(fmt, "dequantize", res["d_" + fmt], want_dec, lines)
        if torch_codes is not None:
            t = torch_codes[fmt]
            f, n = compare_codes(fmt, "torch-cuda cast vs lorc gpu", xs_bits, t, res["q_" + fmt], lines, "codes equal")
            fails += f
            nan_only += n
            f, n = compare_codes(fmt, "torch-cuda cast vs golden (torch cpu)", xs_bits, t, want, lines, "codes equal")
            fails += f
            nan_only += n
        if torch_decoded is not None:
            fails += compare_decoded(fmt, "torch-cuda decode vs golden", torch_decoded[fmt], want_dec, lines)
    if nan_only:
        lines.append("NaN-sign-only differences: %d%s" % (nan_only, " (allowed by --allow-nan-sign)"
                                                         if allow_nan_sign else "  FAIL"))
    rc = 1 if fails or (nan_only and not allow_nan_sign) else 0
    lines.append("RESULT: %s" % ("PASS" if rc == 0 else "FAIL"))
    return lines, rc


# ---------------------------------------------------------------------------------------------
# The device run.

def run_device(kitdir, allow_nan_sign, cubin=False):
    import numpy as np
    import cupy
    import torch

    kit = load_kit(kitdir)
    golden = read_safetensors(os.path.join(kitdir, kit["golden"]))
    print("GPU: %s (torch %s, cupy %s)" % (torch.cuda.get_device_name(), torch.__version__, cupy.__version__))
    cc = cupy.cuda.Device().compute_capability
    print("compute capability %s; kernels for %s" % (cc, kit["chip"]))
    inputs = host_inputs(kit, golden)
    np_dtype = {"f32": np.uint32, "u8": np.uint8}  # f32 buffers carried as their bits

    modules = {}
    for k in kit["kernels"]:
        path = os.path.join(kitdir, k["ptx"][:-len(".ptx")] + ".cubin" if cubin else k["ptx"])
        print("loading %s, entry %s: grid %s, block %s, %d params" % (path, k["entry"], k["grid"], k["block"], len(k["params"])))
        modules[k["module"]] = cupy.RawModule(path=path).get_function(k["entry"])

    runs = []
    for sentinel in (0x00, 0xFF):
        dev = {}
        for name, b in kit["buffers"].items():
            if b["role"] == "input":
                dev[name] = cupy.asarray(np.array(inputs[name], dtype=np_dtype[b["dtype"]]))
            else:
                dev[name] = cupy.full(b["count"] * ELT_SIZE[b["dtype"]], sentinel, dtype=cupy.uint8)
        addresses = {name: int(a.data.ptr) for name, a in dev.items()}
        for k in kit["kernels"]:
            args = to_numpy_args(marshal(k, kit["buffers"], addresses), np)
            modules[k["module"]](tuple(k["grid"]), tuple(k["block"]), args)
        cupy.cuda.Device().synchronize()
        res = {}
        for name, b in kit["buffers"].items():
            if b["role"] == "output":
                host = cupy.asnumpy(dev[name])
                res[name] = [int(v) for v in (host.view(np.uint32) if b["dtype"] == "f32" else host)]
        runs.append(res)

    torch_codes, torch_decoded = {}, {}
    for fmt, spec in FP8.items():
        xs = np.frombuffer(golden[fmt + ".inputs"][2], dtype=np.float32).copy()
        x = torch.from_numpy(xs).cuda()
        q = torch.clamp(x, -spec["max"], spec["max"]).to(getattr(torch, spec["torch"])).view(torch.uint8)
        torch_codes[fmt] = [int(v) for v in q.cpu().numpy()]
        codes = torch.arange(256, dtype=torch.int32).to(torch.uint8).cuda()
        d = codes.view(getattr(torch, spec["torch"])).float().cpu().numpy().view(np.uint32)
        torch_decoded[fmt] = [int(v) for v in d]
    torch.cuda.synchronize()

    lines, rc = report(kit, golden, runs, torch_codes, torch_decoded, allow_nan_sign)
    print("\n".join(lines))
    return rc


# ---------------------------------------------------------------------------------------------
# Self-test (no GPU, standard library).

def parse_cpu_out(path):
    """The mlir-runner output of fp8_cases.py mlir: [q_e4m3, d_e4m3, q_e5m2, d_e5m2]."""
    arrays = fp8_cases_module().runner_arrays(path)
    if len(arrays) != 4:
        raise KitError("%s: expected 4 printed arrays, found %d" % (path, len(arrays)))
    return {"q_e4m3": [v & 0xFF for v in arrays[0]], "d_e4m3": [v & 0xFFFFFFFF for v in arrays[1]],
            "q_e5m2": [v & 0xFF for v in arrays[2]], "d_e5m2": [v & 0xFFFFFFFF for v in arrays[3]]}


def selftest(kitdir, cpu_out):
    checks = []

    def expect(what, cond):
        checks.append((what, bool(cond)))
        print("selftest %-70s %s" % (what, "ok" if cond else "FAILED"))

    kit = load_kit(kitdir)  # raises on any parameter/PTX mismatch
    expect("kit.json parameters match all %d PTX entries" % len(kit["kernels"]), True)
    golden = read_safetensors(os.path.join(kitdir, kit["golden"]))
    bufs = kit["buffers"]
    addresses = {name: 0x7F0000000000 + 0x100000 * i for i, name in enumerate(sorted(bufs))}
    written = set()
    for k in kit["kernels"]:
        ptx = ptx_entry_params(open(os.path.join(kitdir, k["ptx"])).read(), k["entry"])
        args = marshal(k, bufs, addresses)
        ok = len(args) == len(ptx) and all(ptx_t in PTX_TYPES[t] for (t, _), ptx_t in zip(args, ptx))
        expect("%s: %d marshalled args fit the PTX entry" % (k["module"], len(args)), ok)
        # Each memref is (allocated, aligned, offset, size, stride) of one buffer, addresses exact.
        for i, p in enumerate(k["params"]):
            if p.get("field") == "allocated":
                group = k["params"][i:i + 5]
                ok = ([q.get("field") for q in group] == ["allocated", "aligned", "offset", "size0", "stride0"]
                      and all(q["buffer"] == p["buffer"] for q in group)
                      and args[i][1] == args[i + 1][1] == addresses[p["buffer"]])
                expect("%s: memref %s expands to 5 params at %d" % (k["module"], p["buffer"], i), ok)
                if bufs[p["buffer"]]["role"] == "output":
                    written.add(p["buffer"])
        threads = k["grid"][0] * k["block"][0]
        out = [p["buffer"] for p in k["params"] if p.get("field") == "size0" and bufs[p["buffer"]]["role"] == "output"]
        expect("%s: grid x block covers output %s" % (k["module"], out),
               len(out) == 1 and threads >= bufs[out[0]]["count"] and k["grid"][1:] == [1, 1] and k["block"][1:] == [1, 1])
        want = FP8[k["quantizes"]]["ptx"] if k.get("quantizes") else None
        if want:
            expect("%s: PTX has %s" % (k["module"], want), want in open(os.path.join(kitdir, k["ptx"])).read())
    outputs = {n for n, b in bufs.items() if b["role"] == "output"}
    expect("every output buffer is written by a kernel", written == outputs and len(outputs) == 4)
    try:
        marshal(dict(kit["kernels"][0], params=[dict(p, value=7) if p.get("field") == "size0" else p
                                                for p in kit["kernels"][0]["params"]]), bufs, addresses)
        expect("marshal rejects a wrong memref size", False)
    except KitError:
        expect("marshal rejects a wrong memref size", True)
    bad = dict(kit["kernels"][0], params=kit["kernels"][0]["params"][:-1])
    try:
        check_kernel_against_ptx(bad, open(os.path.join(kitdir, bad["ptx"])).read())
        expect("PTX check rejects a missing parameter", False)
    except KitError:
        expect("PTX check rejects a missing parameter", True)
    inputs = host_inputs(kit, golden)
    expect("host inputs: %s" % {n: len(v) for n, v in inputs.items()},
           inputs["codes"] == list(range(256)) and len(inputs["x_e4m3"]) == len(golden["e4m3.codes"][1]))

    if cpu_out:
        res = parse_cpu_out(cpu_out)
        tq = {f: list(res["q_" + f]) for f in FP8}
        td = {f: list(res["d_" + f]) for f in FP8}
        lines, rc = report(kit, golden, [res, res], tq, td)
        print("\n".join("    | " + l for l in lines))
        expect("CPU results pass the device comparison", rc == 0 and lines[-1] == "RESULT: PASS")
        # One wrong code -> FAIL, listed with the input.
        mutated = dict(res, q_e4m3=list(res["q_e4m3"]))
        mutated["q_e4m3"][0] ^= 0x01
        lines, rc = report(kit, golden, [mutated])
        expect("one wrong code fails and is listed", rc == 1 and any("FAIL" in l for l in lines)
               and any(l.startswith("  [0] input") for l in lines))
        # A NaN-sign flip: reported separately, fails unless allowed.
        # (The golden's NaN inputs are +NaN -> 0x7f; a -NaN code in their place must be reported
        # as a NaN-sign difference.)
        want = golden["e4m3.codes"][1]
        nan_idx = [i for i, w in enumerate(want) if is_nan_code("e4m3", w)]
        if nan_idx:
            mutated = dict(res, q_e4m3=list(res["q_e4m3"]))
            for i in nan_idx:
                mutated["q_e4m3"][i] = want[i] ^ 0x80
            lines, rc = report(kit, golden, [mutated])
            lines2, rc2 = report(kit, golden, [mutated], allow_nan_sign=True)
            expect("NaN-sign-only differences (%d) reported apart, fail, pass if allowed" % len(nan_idx),
                   rc == 1 and rc2 == 0 and any("differing only in sign" in l for l in lines))
        else:
            expect("golden has NaN e4m3 codes to test the NaN-sign path", False)
        mutated = dict(res, d_e5m2=list(res["d_e5m2"]))
        mutated["d_e5m2"][1] ^= 1
        lines, rc = report(kit, golden, [mutated])
        expect("one wrong decoded value fails", rc == 1 and any(l.startswith("  code 0x01") for l in lines))
        other = dict(res, q_e5m2=list(res["q_e5m2"]))
        other["q_e5m2"][-1] ^= 0xFF
        lines, rc = report(kit, golden, [res, other])
        expect("runs with different sentinels that disagree fail", rc == 1 and "sentinels" in lines[0])
        lines, rc = report(kit, golden, [dict(res, q_e5m2=res["q_e5m2"][:-1])])
        expect("a short result fails", rc == 1)
        tq["e5m2"][3] ^= 0x10
        lines, rc = report(kit, golden, [res], tq, td)
        expect("a torch-cuda mismatch fails", rc == 1 and any("torch-cuda cast vs lorc gpu" in l and "FAIL" in l for l in lines))
    else:
        print("selftest: no CPU_OUT given; comparison paths not exercised")
    try:
        import numpy as np
        args = to_numpy_args(marshal(kit["kernels"][0], bufs, addresses), np)
        expect("numpy scalars: %s" % sorted({type(a).__name__ for a in args}),
               all(a.dtype.itemsize * 8 == (32 if t in ("i32", "f32") else 64)
                   for a, (t, _) in zip(args, marshal(kit["kernels"][0], bufs, addresses))))
    except ImportError:
        print("selftest: numpy not installed here; numpy scalar conversion not exercised")
    failed = [w for w, ok in checks if not ok]
    print("selftest: %d checks, %d failed%s" % (len(checks), len(failed), "" if not failed else ": %s" % failed))
    return 1 if failed else 0


def main(argv):
    try:
        if argv and argv[0] == "--selftest" and len(argv) in (2, 3):
            return selftest(argv[1], argv[2] if len(argv) == 3 else None)
        rest = [a for a in argv if a not in ("--allow-nan-sign", "--cubin")]
        if len(rest) != 1 or rest[0].startswith("-"):
            print(__doc__, file=sys.stderr)
            return 2
        return run_device(rest[0], "--allow-nan-sign" in argv, "--cubin" in argv)
    except KitError as e:
        print("fp8_cast_gpu: error: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
