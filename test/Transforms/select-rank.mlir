// RUN: lorc-opt %s -split-input-file -lorc-select-rank="retained-energy=0.99" 2>&1 | FileCheck %s --check-prefix=RETAIN
// RUN: lorc-opt %s -split-input-file -lorc-select-rank="rank=6" 2>&1 | FileCheck %s --check-prefix=FIXED
// RUN: lorc-opt %s -split-input-file -lorc-select-rank="energy-ratio=0.96 step=1 profile=cpu-2core dynamic-size=1024" 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: not lorc-opt %s -split-input-file -lorc-select-rank="energy-ratio=0.5 profile=cpu-2core dynamic-size=1024" 2>&1 | FileCheck %s --check-prefix=IMPOSSIBLE
// RUN: not lorc-opt %s -split-input-file -lorc-select-rank="rank=2 retained-energy=0.9" 2>&1 | FileCheck %s --check-prefix=TWO

// Weights with known singular values: @steep has σ = (10, 5, 1, 0.1, 0, ...) (σ² = 100, 25, 1,
// 0.01), @flat has eight σ = 10. Low rank pays for an [8, 16] layer while r·(8 + 16) < 128,
// i.e. r ≤ 5.

// retained-energy=0.99: @steep keeps 125/126.01 = 0.99198 at rank 2 (rank 1 keeps 0.79359);
// @flat needs rank 8, where low rank does not pay, so it stays dense.
// RETAIN: layer0 2 8 {{.*}}0.99198
// RETAIN: layer1 8 8 {{.*}}1.00000
// RETAIN-LABEL: func.func @forward
// RETAIN: arith.constant dense_resource<layer0.svd_v> : tensor<16x2xf32>
// RETAIN: arith.constant dense_resource<layer0.svd_s> : tensor<2xf32>
// RETAIN: lorc.lowrank_linear %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {lorc.rank_selection = {rank_before = 8 : i64, retained = 0.99198{{[0-9]+}} : f64}, r_max = 2 : i64, r_min = 1 : i64, rank = 2 : i64}
// RETAIN: lorc.linear %{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<8x16xf32>
// The singular values are stored in order: 10, 5.
// RETAIN: layer0.svd_s: "0x04000000000020410000A040"

// rank=6: low rank would cost more (6·24 ≥ 128): both layers stay dense.
// FIXED-LABEL: func.func @forward
// FIXED-NOT: lorc.lowrank_linear

// energy-ratio=0.96: the greedy takes the cheapest loss per mJ first, so @steep goes down (its
// rank 4 loses nothing) and @flat, whose every component carries the same energy, stays dense.
// BUDGET: layer0 {{[1-4]}} 8
// BUDGET: layer1 8 8 {{.*}}1.00000
// BUDGET: selected layers: {{.*}} (ratio 0.9{{[0-5][0-9]*}})

// energy-ratio=0.5 cannot be met: the error states the smallest attainable energy.
// IMPOSSIBLE: error: --lorc-select-rank: energy-ratio=0.5 is unattainable: the smallest estimated energy of the 2 selectable layers is {{[0-9.]+}} mJ, ratio 0.{{[0-9]+}} of the dense {{[0-9.]+}} mJ (every layer at rank 1)

// TWO: error: --lorc-select-rank: give exactly one of rank=, retained-energy= or energy-ratio= (got 2)
func.func @forward(%x: tensor<?x16xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %wa = arith.constant dense<[[10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<8x16xf32>
  %wb = arith.constant dense<[[10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<8x16xf32>
  %ya = lorc.linear %x, %wa : tensor<?x16xf32>, tensor<8x16xf32> -> tensor<?x8xf32>
  %yb = lorc.linear %x, %wb : tensor<?x16xf32>, tensor<8x16xf32> -> tensor<?x8xf32>
  return %ya, %yb : tensor<?x8xf32>, tensor<?x8xf32>
}
