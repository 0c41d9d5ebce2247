"""Bit-exact check of lorc's FP8 casts against PyTorch (test/e2e/goldens/fp8.safetensors,
written by scripts/make-goldens/fp8.py). Standard library only.

  fp8_cases.py mlir GOLDEN         prints a program for lorc-opt --lorc-cpu-pipeline | mlir-runner:
                                   quantize every golden input (scale 1) and print the codes
                                   (i32), then dequantize every code 0..255 and print the f32 bits
                                   (i32), for E4M3FN then E5M2
  fp8_cases.py gpu-mlir GOLDEN     prints the same casts as a function for lorc-opt --lorc-cuda-pipeline
                                   (scripts/gpu/fp8-kit.sh): @forward(GPU_ARGS) -> GPU_RESULTS, static
                                   shapes, the inputs as arguments (quantize each format's golden
                                   inputs, scale 1; dequantize the codes 0..255 given as i8)
  fp8_cases.py check GOLDEN OUT    compares the runner's output with the golden: codes exactly
                                   (NaN sign included), decoded values bit for bit (NaN as a class)
"""
import json
import re
import struct
import sys

FORMATS = [("e4m3", "f8E4M3FN"), ("e5m2", "f8E5M2")]


def read(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        fmt = {"F32": "f", "I32": "i"}[e["dtype"]]
        blob = raw[8 + n + b:8 + n + end]
        out[name] = (list(struct.unpack("<%d%s" % (len(blob) // 4, fmt), blob)), blob)
    return out


def to_i32_generic(src, n, elt, dst_elt, mid):
    """A linalg.generic that bitcasts (and widens) each element of `src` to i32."""
    body = {"i8": "%%b = arith.bitcast %%a : %s to i8\n      %%c = arith.extui %%b : i8 to i32" % elt,
            "i32": "%c = arith.bitcast %a : f32 to i32"}[mid]
    return ("linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], "
            "iterator_types = [\"parallel\"]} ins(%s : tensor<%dx%s>) outs(%%init%s : tensor<%dxi32>) {\n"
            "    ^bb0(%%a: %s, %%o: i32):\n      %s\n      linalg.yield %%c : i32\n    } -> tensor<%dxi32>"
            % (src, n, elt, n, n, elt, body, n))


def codes_as_fp8(name, elt):
    """Lines making %c_<name>: the i8 codes 0..255 (%codes) bitcast to the FP8 type `elt`."""
    return ["  %%init8_%s = tensor.empty() : tensor<256x%s>" % (name, elt),
            "  %%c_%s = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], "
            "iterator_types = [\"parallel\"]} ins(%%codes : tensor<256xi8>) outs(%%init8_%s : tensor<256x%s>) {\n"
            "    ^bb0(%%a: i8, %%o: %s):\n      %%c = arith.bitcast %%a : i8 to %s\n      linalg.yield %%c : %s\n"
            "    } -> tensor<256x%s>" % (name, name, elt, elt, elt, elt, elt)]


def emit(golden):
    g = read(golden)
    lines = ["func.func @main() {", "  %one = arith.constant dense<1.0> : tensor<f32>",
             "  %init256 = tensor.empty() : tensor<256xi32>"]
    codes = ", ".join(str(c if c < 128 else c - 256) for c in range(256))
    lines.append("  %%codes = arith.constant dense<[%s]> : tensor<256xi8>" % codes)
    inits = {256}
    for name, elt in FORMATS:
        xs, blob = g[name + ".inputs"]
        n = len(xs)
        lines.append('  %%x_%s = arith.constant dense<"0x%s"> : tensor<%dxf32>' % (name, blob.hex().upper(), n))
        if n not in inits:
            inits.add(n)
            lines.append("  %%init%d = tensor.empty() : tensor<%dxi32>" % (n, n))
        lines.append("  %%q_%s = lorc.quantize %%x_%s, %%one : tensor<%dxf32>, tensor<f32> -> tensor<%dx%s>" % (name, name, n, n, elt))
        lines.append("  %%qi_%s = %s" % (name, to_i32_generic("%q_" + name, n, elt, "i32", "i8")))
        lines.append("  call @print%d(%%qi_%s) : (tensor<%dxi32>) -> ()" % (n, name, n))
        # Every code: i8 -> FP8 -> dequantize -> f32 bits.
        lines += codes_as_fp8(name, elt)
        lines.append("  %%d_%s = lorc.dequantize %%c_%s, %%one : tensor<256x%s>, tensor<f32> -> tensor<256xf32>" % (name, name, elt))
        lines.append("  %%di_%s = %s" % (name, to_i32_generic("%d_" + name, 256, "f32", "i32", "i32")))
        lines.append("  call @print256(%%di_%s) : (tensor<256xi32>) -> ()" % name)
    lines.append("  return\n}")
    sizes = sorted({len(g[n + ".inputs"][0]) for n, _ in FORMATS} | {256})
    for n in sizes:
        lines.append("func.func private @print%d(%%t: tensor<%dxi32>) {\n"
                     "  %%c = tensor.cast %%t : tensor<%dxi32> to tensor<*xi32>\n"
                     "  call @printMemrefI32(%%c) : (tensor<*xi32>) -> ()\n  return\n}" % (n, n, n))
    lines.append("func.func private @printMemrefI32(tensor<*xi32>) attributes {llvm.emit_c_interface}")
    print("\n".join(l for l in lines if l))


# The gpu-mlir program's interface, in order: (name, golden tensor it holds / is compared with).
GPU_ARGS = [("x_e4m3", "e4m3.inputs"), ("x_e5m2", "e5m2.inputs"), ("codes", None)]
GPU_RESULTS = [("q_e4m3", "e4m3.codes"), ("d_e4m3", "e4m3.decode"),
               ("q_e5m2", "e5m2.codes"), ("d_e5m2", "e5m2.decode")]


def emit_gpu(golden):
    g = read(golden)
    n = {name: len(g[name + ".inputs"][0]) for name, _ in FORMATS}
    args = ", ".join(["%%x_%s: tensor<%dxf32>" % (name, n[name]) for name, _ in FORMATS] + ["%codes: tensor<256xi8>"])
    types = []
    for name, elt in FORMATS:
        types += ["tensor<%dx%s>" % (n[name], elt), "tensor<256xf32>"]
    lines = ["func.func @forward(%s) -> (%s) {" % (args, ", ".join(types)),
             "  %one = arith.constant dense<1.0> : tensor<f32>"]
    for name, elt in FORMATS:
        lines.append("  %%q_%s = lorc.quantize %%x_%s, %%one : tensor<%dxf32>, tensor<f32> -> tensor<%dx%s>"
                     % (name, name, n[name], n[name], elt))
        lines += codes_as_fp8(name, elt)
        lines.append("  %%d_%s = lorc.dequantize %%c_%s, %%one : tensor<256x%s>, tensor<f32> -> tensor<256xf32>" % (name, name, elt))
    lines.append("  return %s : %s\n}" % (", ".join("%" + r for r, _ in GPU_RESULTS), ", ".join(types)))
    print("\n".join(lines))


def runner_arrays(path):
    """The arrays printMemrefI32 printed into `path` (mlir-runner's output), as lists of ints."""
    return [[int(v) for v in re.findall(r"-?\d+", m)]
            for m in re.findall(r"data = \s*\[([^\]]*)\]", open(path).read())]


def check(golden, out):
    g = read(golden)
    arrays = runner_arrays(out)
    failed = False
    for i, (name, elt) in enumerate(FORMATS):
        codes, decoded = arrays[2 * i], arrays[2 * i + 1]
        want, xs = g[name + ".codes"][0], g[name + ".inputs"][0]
        bad = [(x, w, c) for x, w, c in zip(xs, want, codes) if w != c]
        print("%s quantize: %d/%d codes bit-exact%s" % (name, len(want) - len(bad), len(want),
              "" if not bad and len(codes) == len(want) else "  FAIL first %s" % bad[:3]))
        failed |= bool(bad) or len(codes) != len(want)
        dec = g[name + ".decode"][0]
        mism = 0
        for code, (w, got) in enumerate(zip(dec, decoded)):
            gb = struct.unpack("<f", struct.pack("<i", got))[0]
            same = (w != w and gb != gb) or struct.pack("<f", w) == struct.pack("<i", got)
            mism += not same
        print("%s dequantize: %d/256 values bit-exact (NaN as a class)%s" % (name, 256 - mism, "" if not mism else "  FAIL"))
        failed |= bool(mism)
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1] == "mlir":
        emit(sys.argv[2])
    elif sys.argv[1] == "gpu-mlir":
        emit_gpu(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2], sys.argv[3]))
