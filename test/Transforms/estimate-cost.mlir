// RUN: lorc-opt %s -split-input-file -lorc-estimate-cost="table=false" | FileCheck %s
// RUN: lorc-opt %s -split-input-file -lorc-estimate-cost="profile=cpu-2core dynamic-size=4" -o /dev/null 2>&1 | FileCheck %s --check-prefix=TABLE
// RUN: not lorc-opt %s -lorc-estimate-cost="profile=/nonexistent.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOPROFILE

// lorc.linear [4, 8] x [16, 8]ᵀ + b: FLOPs 2·4·16·8 + 4·16 = 1088; bytes (32 + 128 + 16 + 64)·4
// = 960; params 144. On h100-sxm: latency = 960 B / 3.35e12 B/s + 5 µs = 0.0050002866 ms;
// energy = 1088 · 8.97 pJ + 960 · 31 pJ + 100 W · latency = 0.0000098 + 0.0000298 + 0.5000287
// = 0.5000682 mJ (the launch overhead's static energy dominates so small an op).
// CHECK-LABEL: func.func @linear
// CHECK: lorc.linear {{.*}} {lorc.cost = {bytes = 9.600000e+02 : f64, energy_mj = 0.5000681{{[0-9]+}} : f64, flops = 1.088000e+03 : f64, latency_ms = 0.0050002865{{[0-9]+}} : f64, params = 1.440000e+02 : f64}}
func.func @linear(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %y = lorc.linear %x, %w, %b : tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// An unmerged LoRA of rank 2 adds 2·M·r·(K + N) + M·r = 2·4·2·24 + 8 = 392 FLOPs and its
// 2·(8 + 16) = 48 parameters; layer norm [4, 16] is 8 FLOPs per element (512) and 2·C = 32
// parameters; attention [1, 2, 4, 8]: B·H·Sq·Sk·(2D + 2Dv + 6) = 2·4·4·38 = 1216 FLOPs.
// CHECK-LABEL: func.func @adapted
// CHECK: lorc.linear {{.*}}flops = 1.416000e+03 : f64{{.*}}params = 1.760000e+02
// CHECK: lorc.layer_norm {{.*}}flops = 5.120000e+02 : f64{{.*}}params = 3.200000e+01
// CHECK: lorc.attention {{.*}}flops = 1.216000e+03 : f64
func.func @adapted(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %a: tensor<2x8xf32>, %u: tensor<16x2xf32>,
                   %g: tensor<16xf32>, %q: tensor<1x2x4x8xf32>) -> (tensor<4x16xf32>, tensor<1x2x4x8xf32>) {
  %d = lorc.lora %a, %u {scale = 1.0 : f64} : tensor<2x8xf32>, tensor<16x2xf32> -> !lorc.adapter<16, 8>
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<16, 8>) : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %n = lorc.layer_norm %y, %g, %g {epsilon = 1.0e-5 : f32} : tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32>
  %o = lorc.attention %q, %q, %q : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %n, %o : tensor<4x16xf32>, tensor<1x2x4x8xf32>
}

// The table: one row per op, totals, the profile and the assumed dynamic size.
// TABLE: #    op                    energy mJ   latency ms    memory MB     GFLOPs       params
// TABLE: 0    lorc.linear
// TABLE: total
// TABLE: profile cpu-2core; dynamic dimensions taken as 4; energy = compute
// NOPROFILE: error: --lorc-estimate-cost: /nonexistent.json: not a shipped profile (h100-sxm, cpu-2core)

// -----

// lorc.lowrank_linear [4, 16] at rank 4 into 12 outputs: 2·M·r·(K + N) + M·r = 2·4·4·28 + 16
// = 912 FLOPs (dense would be 2·4·12·16 = 1536); params r·(K + N + 1) = 4·29 = 116.
// CHECK-LABEL: func.func @lowrank
// CHECK: lorc.lowrank_linear {{.*}}flops = 9.120000e+02 : f64{{.*}}params = 1.160000e+02
func.func @lowrank(%x: tensor<4x16xf32>, %v: tensor<16x8xf32>, %s: tensor<8xf32>, %u: tensor<12x8xf32>) -> tensor<4x12xf32> {
  %y = lorc.lowrank_linear %x, %v, %s, %u {rank = 4, r_min = 1, r_max = 8} : tensor<4x16xf32>, tensor<16x8xf32>, tensor<8xf32>, tensor<12x8xf32> -> tensor<4x12xf32>
  return %y : tensor<4x12xf32>
}
