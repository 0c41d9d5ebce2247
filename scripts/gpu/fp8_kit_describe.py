#!/usr/bin/env python3
"""Writes KITDIR/kit.json for scripts/gpu/fp8_cast_gpu.py: every gpu.launch_func of the FP8 program
(fp8_cases.py gpu-mlir), read off the host function just before gpu-to-llvm (lorc-opt
--mlir-print-ir-before=gpu-to-llvm), with its launch arguments expanded as convert-gpu-to-nvvm
does (memref -> allocated ptr, aligned ptr, offset, sizes..., strides...; index -> i64), and
checked against the launch's operand types after gpu-to-llvm and against the PTX .entry
parameter list (count and widths).

  fp8_kit_describe.py BEFORE.mlir AFTER.mlir KITDIR    (PTX already in KITDIR/ptx/<module>.ptx)

Standard library only; fails loudly (exit 1, one message) on anything it does not understand.
"""
import json
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "Execution", "Inputs"))
import fp8_cases  # noqa: E402  (GPU_ARGS, GPU_RESULTS)
from fp8_cast_gpu import KitError, check_kernel_against_ptx, FP8  # noqa: E402

ELT = {"f32": "f32", "i8": "u8", "f8E4M3FN": "u8", "f8E5M2": "u8"}


def host_func(text):
    m = re.search(r"func\.func @forward\((.*?)\) -> \((.*?)\) \{\n(.*?)\n    return (.*?) :", text, re.S)
    if not m:
        raise KitError("no host func.func @forward(...) -> (...) with a return in the IR before gpu-to-llvm")
    return m.group(1), m.group(3), m.group(4)


def memref_type(t):
    m = re.fullmatch(r"memref<(\d+)x(\w+)>", t.strip())
    if not m:
        raise KitError("unsupported memref type %r (expected a static 1-d identity-layout memref)" % t)
    return int(m.group(1)), m.group(2)


def f32_bits(lit):
    if lit.lower().startswith("0x"):
        return int(lit, 16)
    # MLIR prints an f32 in decimal only when the decimal parses back to it (else as hex bits);
    # rounding the double to the nearest f32 recovers it.
    return struct.unpack("<I", struct.pack("<f", float(lit)))[0]


def describe(before, after, kitdir):
    sig, body, ret = host_func(before)
    args = re.findall(r"(%\w+): (memref<[^>]*>)", sig)
    if len(args) != len(fp8_cases.GPU_ARGS):
        raise KitError("host @forward has %d arguments, fp8_cases.GPU_ARGS names %d" % (len(args), len(fp8_cases.GPU_ARGS)))
    ret_names = [r.strip() for r in ret.split(",")]
    if len(ret_names) != len(fp8_cases.GPU_RESULTS):
        raise KitError("host @forward returns %d values, fp8_cases.GPU_RESULTS names %d" % (len(ret_names), len(fp8_cases.GPU_RESULTS)))

    buffers, ssa_buffer = {}, {}
    for (ssa, t), (name, golden) in zip(args, fp8_cases.GPU_ARGS):
        n, elt = memref_type(t)
        b = {"role": "input", "dtype": ELT[elt], "count": n, "mlir_type": t}
        b.update({"golden": golden} if golden else {"fill": "iota"})
        buffers[name] = b
        ssa_buffer[ssa] = name
    consts = {}
    for m in re.finditer(r"(%\w+) = arith\.constant (\S+) : (\w+)", body):
        consts[m.group(1)] = (m.group(3), m.group(2))
    allocs = {}
    for m in re.finditer(r"(%\w+), %\w+ = gpu\.alloc async \[[^\]]*\] \(\) : (memref<[^>]*>)", body):
        allocs[m.group(1)] = m.group(2)
    for ssa, (name, golden) in zip(ret_names, fp8_cases.GPU_RESULTS):
        if ssa not in allocs:
            raise KitError("result %s (%s) is not a gpu.alloc of the host function" % (name, ssa))
        n, elt = memref_type(allocs[ssa])
        buffers[name] = {"role": "output", "dtype": ELT[elt], "count": n, "golden": golden, "mlir_type": allocs[ssa]}
        ssa_buffer[ssa] = name
    if len(allocs) != len(ret_names):
        raise KitError("%d gpu.alloc but %d results: a temporary buffer the kit does not describe" % (len(allocs), len(ret_names)))

    def const(ssa, want_types):
        if ssa not in consts or consts[ssa][0] not in want_types:
            raise KitError("launch operand %s is not an arith.constant of type %s" % (ssa, want_types))
        return int(consts[ssa][1])

    launches = re.findall(r"gpu\.launch_func async \[[^\]]*\] @(\w+)::@(\w+) blocks in \(([^)]*)\) "
                          r"threads in \(([^)]*)\)\s+args\((.*)\)\n", body)
    if len(launches) != body.count("gpu.launch_func"):
        raise KitError("could not parse every gpu.launch_func (%d of %d)" % (len(launches), body.count("gpu.launch_func")))
    kernels = []
    for module, entry, blocks, threads, operands in launches:
        params = []
        ops = re.findall(r"(%\w+) : ([^,]+)", operands)
        if len(ops) != operands.count("%"):
            raise KitError("%s: could not parse the launch operands %r" % (module, operands))
        for ssa, t in ops:
            t = t.strip()
            if t.startswith("memref"):
                if ssa not in ssa_buffer:
                    raise KitError("%s: memref operand %s is neither an argument nor a result" % (module, ssa))
                name = ssa_buffer[ssa]
                n, _ = memref_type(t)
                params += [{"buffer": name, "field": "allocated", "type": "u64", "what": "%s allocated ptr" % name},
                           {"buffer": name, "field": "aligned", "type": "u64", "what": "%s aligned ptr" % name},
                           {"buffer": name, "field": "offset", "type": "i64", "value": 0, "what": "%s offset" % name},
                           {"buffer": name, "field": "size0", "type": "i64", "value": n, "what": "%s size[0]" % name},
                           {"buffer": name, "field": "stride0", "type": "i64", "value": 1, "what": "%s stride[0]" % name}]
            elif t == "index":
                params.append({"type": "i64", "value": const(ssa, ["index"]), "what": "index %s" % ssa})
            elif t == "i32":
                params.append({"type": "i32", "value": const(ssa, ["i32"]), "what": "i32 %s" % ssa})
            elif t == "f32":
                if ssa not in consts or consts[ssa][0] != "f32":
                    raise KitError("%s: f32 operand %s is not a constant" % (module, ssa))
                bits = f32_bits(consts[ssa][1])
                params.append({"type": "f32", "bits": "0x%08x" % bits,
                               "value": struct.unpack("<f", struct.pack("<I", bits))[0], "what": "f32 %s" % ssa})
            else:
                raise KitError("%s: unsupported launch operand type %r" % (module, t))
        outs = sorted({p["buffer"] for p in params if "buffer" in p and buffers[p["buffer"]]["role"] == "output"})
        k = {"module": module, "entry": entry, "ptx": "ptx/%s.ptx" % module,
             "grid": [const(s.strip(), ["index"]) for s in blocks.split(",")],
             "block": [const(s.strip(), ["index"]) for s in threads.split(",")],
             "outputs": outs, "params": params}
        if len(outs) == 1 and outs[0].startswith("q_"):
            k["quantizes"] = outs[0][2:]
        kernels.append(k)

    # The same launches after gpu-to-llvm: operand types, in order, must be the expansion above.
    post = re.findall(r"gpu\.launch_func <[^>]*> @(\w+)::@(\w+) blocks in \([^)]*\) threads in \([^)]*\) : i64 args\((.*)\)\n", after)
    if len(post) != len(kernels):
        raise KitError("%d launches after gpu-to-llvm, %d before" % (len(post), len(kernels)))
    llvm_of = {"u64": "!llvm.ptr", "i64": "i64", "i32": "i32", "f32": "f32"}
    for k, (module, entry, operands) in zip(kernels, post):
        types = [t.strip() for t in re.findall(r"%\w+ : ([^,]+)", operands)]
        want = [llvm_of[p["type"]] for p in k["params"]]
        if (module, entry) != (k["module"], k["entry"]) or types != want:
            raise KitError("%s: after gpu-to-llvm the launch passes %s, kit.json describes %s" % (module, types, want))
        ptx = open(os.path.join(kitdir, k["ptx"])).read()
        check_kernel_against_ptx(k, ptx)
        if k.get("quantizes") and FP8[k["quantizes"]]["ptx"] not in ptx:
            raise KitError("%s quantizes to %s but its PTX has no %s" % (module, k["quantizes"], FP8[k["quantizes"]]["ptx"]))
    written = {o for k in kernels for o in k["outputs"]}
    if written != {n for n, b in buffers.items() if b["role"] == "output"}:
        raise KitError("outputs written by no kernel: %s" % sorted(set(buffers) - written))
    chip = re.search(r'chip = "(\w+)"', after)
    return {"generator": "scripts/gpu/fp8-kit.sh", "golden": "fp8.safetensors",
            "chip": chip.group(1) if chip else "?", "buffers": buffers, "kernels": kernels}


def main(before, after, kitdir):
    try:
        kit = describe(open(before).read(), open(after).read(), kitdir)
    except KitError as e:
        print("fp8_kit_describe: error: %s" % e, file=sys.stderr)
        return 1
    with open(os.path.join(kitdir, "kit.json"), "w") as f:
        json.dump(kit, f, indent=1)
    for k in kit["kernels"]:
        print("%s: grid %s block %s, %d params (PTX entry matches), writes %s%s"
              % (k["module"], k["grid"], k["block"], len(k["params"]), ",".join(k["outputs"]),
                 " via %s" % FP8[k["quantizes"]]["ptx"] if k.get("quantizes") else ""))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
