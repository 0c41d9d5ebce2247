// RUN: lorc-opt %s --convert-lorc-to-linalg=fp8-cast=nvvm | FileCheck %s --check-prefix=LINALG
// RUN: lorc-opt %s --lorc-cuda-pipeline="format=" | FileCheck %s --check-prefix=HW
// RUN: lorc-opt %s --lorc-cuda-pipeline="chip=sm_89 ptx=81 format=" | FileCheck %s --check-prefix=HW
// RUN: lorc-opt %s --lorc-cuda-pipeline="chip=sm_89 format=" | FileCheck %s --check-prefix=SW
// RUN: lorc-opt %s --lorc-cuda-pipeline="chip=sm_80 format=" | FileCheck %s --check-prefix=SW
// RUN: not lorc-opt %s --convert-lorc-to-linalg=fp8-cast=ptx 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: %if ptxas %{ lorc-opt %s --lorc-cuda-pipeline > %t.mlir %}
// RUN: %if ptxas %{ rm -rf %t.ptx && %python %S/Inputs/extract_ptx.py %t.mlir %t.ptx | FileCheck %s --check-prefix=EXTRACT %}
// RUN: %if ptxas %{ cat %t.ptx/*.ptx | FileCheck %s --check-prefix=PTX %}
// RUN: %if ptxas %{ for f in %t.ptx/*.ptx; do %ptxas -arch=sm_90 $f -o $f.cubin || exit 1; done %}

// FP8 casts on the CUDA path (issue 10): where the (chip, PTX) pair has FP8 conversions (sm_90
// with PTX ≥ 7.8, sm_89 with PTX ≥ 8.1; LLVM aborts on sm_89 with PTX 8.0, so lorc checks),
// lorc.quantize becomes a clamp to ±max and arith.truncf in the kernel, then PTX's
// cvt.rn.satfinite.{e4m3,e5m2}x2.f32; elsewhere (sm_80, sm_89 with PTX 8.0) the software cast
// the CPU runs (bit-exact with PyTorch: test/Execution/fp8-cast.test). Not yet run on a GPU:
// the bit-for-bit comparison of the two casts needs a device.

// LINALG-LABEL: func.func @forward
//       LINALG:   linalg.generic
//       LINALG:     %[[XS:.*]] = arith.mulf
//       LINALG:     %[[LO:.*]] = arith.maximumf %[[XS]], %{{.*}} : f32
//       LINALG:     %[[HI:.*]] = arith.minimumf %[[LO]], %{{.*}} : f32
//       LINALG:     %[[Q:.*]] = arith.truncf %[[HI]] : f32 to f8E4M3FN
//       LINALG:     linalg.yield %[[Q]] : f8E4M3FN
//       LINALG:   arith.truncf %{{.*}} : f32 to f8E5M2

// In the kernel: the pair conversion with the value in the low byte (the instruction's second
// operand), no truncf left.
//      HW: gpu.module @forward_kernel
//      HW:   %[[P:.*]] = nvvm.convert.f32x2.to.f8x2 %{{.*}}, %{{.*}} {rnd = #nvvm.fp_rnd_mode<rn>, sat = #nvvm.sat_mode<satfinite>} : i16(f8E4M3FN)
//      HW:   llvm.trunc %[[P]] : i16 to i8
//      HW: gpu.module @forward_kernel_0
//      HW:   nvvm.convert.f32x2.to.f8x2 {{.*}} : i16(f8E5M2)
//  HW-NOT: arith.truncf

//      SW: gpu.module @forward_kernel
//  SW-NOT: nvvm.convert.f32x2.to.f8x2
//  SW-NOT: arith.truncf

// BAD: error: convert-lorc-to-linalg: fp8-cast=ptx: expected software or nvvm

// EXTRACT: extracted 2 PTX modules
// PTX: .target sm_90
// PTX: cvt.rn.satfinite.e4m3x2.f32
// PTX: .target sm_90
// PTX: cvt.rn.satfinite.e5m2x2.f32

func.func @forward(%x: tensor<?x8xf32>, %s: tensor<f32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %q = lorc.quantize %x, %s : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf8E4M3FN>
  %d = lorc.dequantize %q, %s : tensor<?x8xf8E4M3FN>, tensor<f32> -> tensor<?x8xf32>
  %q5 = lorc.quantize %x, %s : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf8E5M2>
  %d5 = lorc.dequantize %q5, %s : tensor<?x8xf8E5M2>, tensor<f32> -> tensor<?x8xf32>
  return %d, %d5 : tensor<?x8xf32>, tensor<?x8xf32>
}
