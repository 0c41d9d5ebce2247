// RUN: lorc-opt %s -split-input-file -lorc-narrow-weights=precision=bf16 -mlir-print-elementsattrs-with-hex-if-larger=-1 | FileCheck %s
// RUN: lorc-opt %s -split-input-file -lorc-narrow-weights | FileCheck %s --check-prefix=F32
// RUN: lorc-opt %s -split-input-file -lorc-narrow-weights="precision=bf16 keep-f32=w" | FileCheck %s --check-prefix=KEEP
// RUN: not lorc-opt %s -split-input-file -lorc-narrow-weights=precision=fp16 2>&1 | FileCheck %s --check-prefix=BAD

// With precision=bf16 the weight of a lorc.linear becomes a bf16 constant read through
// arith.extf, rounded to nearest even: 1 + 2^-8 (0x3F808000) lies halfway between the bf16
// values 1 (0x3F80) and 1 + 2^-7 (0x3F81) and goes to the even one, 0x3F80; 1 + 3·2^-8
// (0x3F818000) lies halfway between 0x3F81 and 0x3F82 and goes to 0x3F82; the small integers
// after them are exact. The bias stays f32.

// CHECK-LABEL: func.func @forward
//       CHECK:   %[[W16:.*]] = arith.constant dense_resource<w.bf16> : tensor<2x8xbf16>
//       CHECK:   %[[W:.*]] = arith.extf %[[W16]] : tensor<2x8xbf16> to tensor<2x8xf32>
//       CHECK:   %[[B:.*]] = arith.constant dense<1.000000e+00> : tensor<2xf32>
//       CHECK:   lorc.linear %{{.*}}, %[[W]], %[[B]] : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2xf32>
//       CHECK:   w.bf16: "0x02000000803F823F004040408040A040C040E04080BF803F00408040A040C040E0400041"

// Without precision=bf16 nothing here runs a bf16 GEMM.
// F32-LABEL: func.func @forward
//       F32:   arith.constant dense_resource<w> : tensor<2x8xf32>
//   F32-NOT:   arith.extf

// KEEP-LABEL: func.func @forward
//       KEEP:   arith.constant dense_resource<w> : tensor<2x8xf32>
//   KEEP-NOT:   arith.extf
//       KEEP:   return

// BAD: lorc-narrow-weights: precision=fp16: expected f32 or bf16
func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense_resource<w> : tensor<2x8xf32>
  %b = arith.constant dense<1.0> : tensor<2xf32>
  %y = lorc.linear %x, %w, %b : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2xf32> -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000080803F0080813F0000004000004040000080400000A0400000C0400000E040000080BF0000803F00000040000080400000A0400000C0400000E04000000041"
    }
  }
#-}

// -----

// A weight that is also read by anything but a bf16 GEMM's weight operand stays f32: here the
// same constant is added to the output too.

// CHECK-LABEL: func.func @shared
//       CHECK:   arith.constant dense<{{.*}}> : tensor<4x4xf32>
//   CHECK-NOT:   arith.extf
//       CHECK:   return
func.func @shared(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x4xf32>
  %y = lorc.linear %x, %w : tensor<4x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
  %z = arith.addf %y, %w : tensor<4x4xf32>
  return %z : tensor<4x4xf32>
}

// -----

// Only the layers --lorc-assign-precision made bf16 when precision=f32 (the default): the
// tagged layer's weight is narrowed, the untagged one's is not; min-elements keeps tiny ones.

// F32-LABEL: func.func @tagged
//       F32:   %[[W16:.*]] = arith.constant dense_resource<weight.bf16> : tensor<4x4xbf16>
//       F32:   %[[W:.*]] = arith.extf %[[W16]]
//       F32:   %[[V:.*]] = arith.constant dense<2.500000e-01> : tensor<4x4xf32>
//       F32:   %[[S:.*]] = arith.constant dense<1.250000e-01> : tensor<2x2xf32>
//       F32:   lorc.linear %{{.*}}, %[[W]] {lorc.precision = {layer = "a", precision = "bf16"}}
//       F32:   lorc.linear %{{.*}}, %[[V]] :
//       F32:   lorc.linear %{{.*}}, %[[S]] {lorc.precision
func.func @tagged(%x: tensor<4x4xf32>, %x2: tensor<4x2xf32>) -> (tensor<4x4xf32>, tensor<4x2xf32>) {
  %w = arith.constant dense<0.5> : tensor<4x4xf32>
  %v = arith.constant dense<0.25> : tensor<4x4xf32>
  %s = arith.constant dense<0.125> : tensor<2x2xf32>
  %y = lorc.linear %x, %w {lorc.precision = {layer = "a", precision = "bf16"}} : tensor<4x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
  %z = lorc.linear %y, %v : tensor<4x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
  %t = lorc.linear %x2, %s {lorc.precision = {layer = "c", precision = "bf16"}} : tensor<4x2xf32>, tensor<2x2xf32> -> tensor<4x2xf32>
  return %z, %t : tensor<4x4xf32>, tensor<4x2xf32>
}

// -----

// A layer with an unmerged adapter: its base weight is narrowed (the base GEMM runs in bf16;
// the side path reads the layer's input, not W), the adapter's factors stay f32 and swappable.

// CHECK-LABEL: func.func @adapter
//       CHECK:   %[[W16:.*]] = arith.constant dense_resource<weight.bf16> : tensor<6x3xbf16>
//       CHECK:   %[[W:.*]] = arith.extf %[[W16]] : tensor<6x3xbf16> to tensor<6x3xf32>
//       CHECK:   %[[A:.*]] = arith.constant dense<{{.*}}> : tensor<1x3xf32>
//       CHECK:   %[[B:.*]] = arith.constant dense<{{.*}}> : tensor<6x1xf32>
//       CHECK:   lorc.lora %[[A]], %[[B]]
//       CHECK:   lorc.linear %{{.*}}, %[[W]] adapters(
func.func @adapter(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]> : tensor<6x3xf32>
  %a = arith.constant dense<[[1.0, 0.0, 0.0]]> : tensor<1x3xf32>
  %b = arith.constant dense<[[1.0], [2.0], [1.0], [2.0], [1.0], [2.0]]> : tensor<6x1xf32>
  %l = lorc.lora %a, %b {scale = 2.0 : f64} : tensor<1x3xf32>, tensor<6x1xf32> -> !lorc.adapter<6, 3>
  %y = lorc.linear %x, %w adapters(%l : !lorc.adapter<6, 3>) {multipliers = array<f64: 1.0>} : tensor<4x3xf32>, tensor<6x3xf32> -> tensor<4x6xf32>
  %z = tensor.extract_slice %y[0, 0] [4, 2] [1, 1] : tensor<4x6xf32> to tensor<4x2xf32>
  return %z : tensor<4x2xf32>
}

// -----

// A DoRA adapter rescales W itself (column norms of W + ΔW in f32): W stays f32.

// CHECK-LABEL: func.func @dora
//   CHECK-NOT:   arith.extf
//       CHECK:   return
func.func @dora(%x: tensor<4x3xf32>) -> tensor<4x6xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]> : tensor<6x3xf32>
  %a = arith.constant dense<[[1.0, 0.0, 0.0]]> : tensor<1x3xf32>
  %b = arith.constant dense<[[1.0], [2.0], [1.0], [2.0], [1.0], [2.0]]> : tensor<6x1xf32>
  %m = arith.constant dense<[1.0, 2.0, 3.0, 1.0, 2.0, 3.0]> : tensor<6xf32>
  %l = lorc.lora %a, %b magnitude %m {scale = 2.0 : f64} : tensor<1x3xf32>, tensor<6x1xf32> magnitude tensor<6xf32> -> !lorc.adapter<6, 3>
  %y = lorc.linear %x, %w adapters(%l : !lorc.adapter<6, 3>) {multipliers = array<f64: 1.0>} : tensor<4x3xf32>, tensor<6x3xf32> -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}

// -----

// A weight that --lorc-fuse-lora-gemm concatenated with a swappable adapter's up matrix
// (lorc.fused_lora) stays f32: lorc-run --adapter writes new factors into its columns.

// CHECK-LABEL: func.func @fused
//   CHECK-NOT:   arith.extf
//       CHECK:   return
func.func @fused(%x: tensor<4x5xf32>) -> tensor<4x4xf32> {
  %w = arith.constant {lorc.fused_lora = [{column = 4 : i64, rank = 1 : i64, scale = 1.0 : f64, up = "up"}]} dense<0.5> : tensor<4x5xf32>
  %y = lorc.linear %x, %w : tensor<4x5xf32>, tensor<4x5xf32> -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}
