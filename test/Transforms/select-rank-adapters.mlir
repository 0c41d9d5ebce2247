// RUN: lorc-opt %s -lorc-select-rank="rank=2 targets=adapters" 2>&1 | FileCheck %s --check-prefix=RANK2
// RUN: lorc-opt %s -lorc-select-rank="rank=1 targets=adapters" -lorc-merge-adapters 2>&1 | FileCheck %s --check-prefix=MERGED1
// RUN: lorc-opt %s -lorc-select-rank="retained-energy=0.95 targets=adapters" 2>&1 | FileCheck %s --check-prefix=RETAIN
// RUN: lorc-opt %s -lorc-select-rank="energy-ratio=0.5 step=1 targets=adapters profile=cpu-2core dynamic-size=1024" 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: lorc-opt %s -lorc-select-rank="rank=1 targets=dense" 2>&1 | FileCheck %s --check-prefix=DENSE
// RUN: lorc-opt %s -lorc-select-rank="rank=1 targets=all" 2>&1 | FileCheck %s --check-prefix=ALL

// targets=adapters re-factorises each unmerged adapter's ΔW (scale included, multiplier not) by
// its truncated SVD as a lorc.lora with scale 1 (kohya's resize_lora). Running the merge pass
// afterwards shows the ΔW the new factors carry, whatever the signs the SVD picked.

// LoRA of rank 3 with ΔW = 2·diag(2, 1, 0.5) (σ = 4, 2, 1) at multiplier 0.5 on a zero weight;
// the second layer has no adapter.
// The table (stderr) comes before the IR. The names of inline weights are layer<i>.
// RANK2: remark: --lorc-select-rank: adapter #0 of layer3 is DoRA or Tucker; left as it is
// RANK2: layer0:adapter0 2 3
// RANK2-NOT: layer1
// RANK2: layer2:adapter0 2 3
// RANK2-LABEL: func.func @lora
// RANK2: %[[D:.*]] = lorc.lora %{{.*}}, %{{.*}} {lorc.rank_selection = {{.*}}kind = "lora"{{.*}}rank_after = 2 : i64, rank_before = 3 : i64{{.*}}, scale = 1.000000e+00 : f64} : tensor<2x6xf32>, tensor<4x2xf32> -> !lorc.adapter<4, 6>
// RANK2: lorc.linear %{{.*}}, %{{.*}} adapters(%[[D]] : !lorc.adapter<4, 6>) {multipliers = array<f64: 5.000000e-01>}
// RANK2-NOT: lorc.lowrank_linear
// MERGED1-LABEL: func.func @lora
// MERGED1: arith.constant dense<{{\[}}[{{2.000000e\+00|1.99999[0-9]+}}, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x6xf32>
// σ² = 16, 4, 1: rank 2 keeps 20/21 = 0.952.
// RETAIN: layer0:adapter0 2 3 {{.*}} 0.95238
// The side path's energy is linear in r: half of rank 3's is rank 1.
// BUDGET: layer0:adapter0 1 3
// BUDGET: selected layers: {{.*}} (ratio 0.{{[0-4][0-9]*}})
// targets=dense leaves layers with adapters alone; targets=all takes both.
// DENSE-NOT: adapter0
// DENSE: layer1 1 4
// DENSE-NOT: adapter0
// ALL: layer0:adapter0 1 3
// ALL: layer1 1 4
// ALL: layer2:adapter0 1 3
func.func @lora(%x: tensor<?x6xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %w = arith.constant dense<0.0> : tensor<4x6xf32>
  %down = arith.constant dense<[[2.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.5, 0.0, 0.0, 0.0]]> : tensor<3x6xf32>
  %up = arith.constant dense<[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]> : tensor<4x3xf32>
  %d = lorc.lora %down, %up {scale = 2.0 : f64} : tensor<3x6xf32>, tensor<4x3xf32> -> !lorc.adapter<4, 6>
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<4, 6>) {multipliers = array<f64: 0.5>} : tensor<?x6xf32>, tensor<4x6xf32> -> tensor<?x4xf32>
  %w2 = arith.constant dense<[[3.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]]> : tensor<4x6xf32>
  %y2 = lorc.linear %x, %w2 : tensor<?x6xf32>, tensor<4x6xf32> -> tensor<?x4xf32>
  return %y, %y2 : tensor<?x4xf32>, tensor<?x4xf32>
}

// LoKr ΔW = kron([[1, 0], [0, 0.5]], [[2, 0, 0], [0, 0, 0]]): 2 at (0, 0) and 1 at (2, 3), σ = 2, 1.
// At rank 2 it is exact, at rank 1 only the 2 remains; either is a LoRA, cheaper than the
// Kronecker side path.
// RANK2-LABEL: func.func @lokr
// RANK2: lorc.lora %{{.*}}, %{{.*}} {{.*}}kind = "lokr"{{.*}} : tensor<2x6xf32>, tensor<4x2xf32> -> !lorc.adapter<4, 6>
// RANK2-NOT: lorc.lokr
// MERGED1-LABEL: func.func @lokr
// MERGED1: arith.constant dense<{{\[}}[{{2.000000e\+00|1.99999[0-9]+}}, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x6xf32>
func.func @lokr(%x: tensor<?x6xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<0.0> : tensor<4x6xf32>
  %w1 = arith.constant dense<[[1.0, 0.0], [0.0, 0.5]]> : tensor<2x2xf32>
  %w2 = arith.constant dense<[[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]> : tensor<2x3xf32>
  %k = lorc.lokr w1 %w1 w2 %w2 {scale = 1.0 : f64} : tensor<2x2xf32>, tensor<2x3xf32> -> !lorc.adapter<4, 6>
  %y = lorc.linear %x, %w adapters(%k : !lorc.adapter<4, 6>) : tensor<?x6xf32>, tensor<4x6xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// DoRA rescales whole rows: not a ΔW to truncate alone. It is left as it is, with a remark.
// RANK2-LABEL: func.func @dora
// RANK2: lorc.lora {{.*}} magnitude
func.func @dora(%x: tensor<?x6xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x6xf32>
  %down = arith.constant dense<1.0> : tensor<3x6xf32>
  %up = arith.constant dense<1.0> : tensor<4x3xf32>
  %m = arith.constant dense<2.0> : tensor<4xf32>
  %d = lorc.lora %down, %up magnitude %m {scale = 1.0 : f64} : tensor<3x6xf32>, tensor<4x3xf32> magnitude tensor<4xf32> -> !lorc.adapter<4, 6>
  %y = lorc.linear %x, %w adapters(%d : !lorc.adapter<4, 6>) : tensor<?x6xf32>, tensor<4x6xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
