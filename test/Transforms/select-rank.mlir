// RUN: lorc-opt %s -split-input-file -lorc-select-rank="retained-energy=0.99" 2>&1 | FileCheck %s --check-prefix=RETAIN
// RUN: lorc-opt %s -split-input-file -lorc-select-rank="rank=6" 2>&1 | FileCheck %s --check-prefix=FIXED
// RUN: lorc-opt %s -split-input-file -lorc-select-rank="energy-ratio=0.96 step=1 profile=cpu-2core dynamic-size=1024" 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: not lorc-opt %s -split-input-file -lorc-select-rank="energy-ratio=0.5 profile=cpu-2core dynamic-size=1024" 2>&1 | FileCheck %s --check-prefix=IMPOSSIBLE
// RUN: not lorc-opt %s -split-input-file -lorc-select-rank="rank=2 retained-energy=0.9" 2>&1 | FileCheck %s --check-prefix=TWO

// RUN: lorc-opt %s -lorc-select-rank="threshold=2" 2>&1 | FileCheck %s --check-prefix=THRESHOLD
// RUN: lorc-opt %s -lorc-select-rank="sv-ratio=0.3" 2>&1 | FileCheck %s --check-prefix=THRESHOLD
// RUN: lorc-opt %s -lorc-select-rank="quantile=0.9" 2>&1 | FileCheck %s --check-prefix=QUANTILE
// RUN: lorc-opt %s -lorc-select-rank="preset=balanced step=1 profile=cpu-2core dynamic-size=1024" 2>&1 | FileCheck %s --check-prefix=PRESET
// RUN: lorc-opt %s -lorc-select-rank="budget-mj=0.0001 step=1 profile=cpu-2core dynamic-size=1024" 2>&1 | FileCheck %s --check-prefix=BUDGETMJ
// RUN: not lorc-opt %s -lorc-select-rank="budget-mj=0.00000001 profile=cpu-2core dynamic-size=1024" 2>&1 | FileCheck %s --check-prefix=BUDGETMJ-IMPOSSIBLE
// RUN: not lorc-opt %s -lorc-select-rank="preset=turbo" 2>&1 | FileCheck %s --check-prefix=BADPRESET
// RUN: not lorc-opt %s -lorc-select-rank="rank=2 targets=weights" 2>&1 | FileCheck %s --check-prefix=BADTARGETS
// RUN: not lorc-opt %s -lorc-select-rank="min-cosine=0.99" 2>&1 | FileCheck %s --check-prefix=MINCOS
// RUN: lorc-opt %s -lorc-select-rank="rank=4 dynamic-rank=0.5" 2>&1 | FileCheck %s --check-prefix=DYNAMIC
// RUN: not lorc-opt %s -lorc-select-rank="rank=4 dynamic-rank=2" 2>&1 | FileCheck %s --check-prefix=DYNAMIC-BAD

// Weights with known singular values: @steep has σ = (10, 5, 1, 0.1, 0, ...) (σ² = 100, 25, 1,
// 0.01), @flat has eight σ = 10. Low rank pays for an [8, 16] layer while r·(8 + 16) < 128,
// i.e. r ≤ 5.

// retained-energy=0.99: @steep keeps 125/126.01 = 0.99198 at rank 2 (rank 1 keeps 0.79359);
// @flat needs rank 8, where low rank does not pay, so it stays dense.
// RETAIN: layer0 2 8 {{.*}}0.99198
// RETAIN: layer1 8 8 {{.*}}1.00000
// RETAIN: module attributes {lorc.rank_selection = {dynamic_size = 128 : i64, energy_after_mj = {{.*}}, energy_before_mj = {{.*}}, profile = "h100-sxm", targets = "dense", whitened = false}}
// RETAIN-LABEL: func.func @forward
// RETAIN: arith.constant dense_resource<layer0.svd_v> : tensor<16x2xf32>
// RETAIN: arith.constant dense_resource<layer0.svd_s> : tensor<2xf32>
// RETAIN: lorc.lowrank_linear %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {lorc.rank_selection = {energy_after_mj = {{.*}}, energy_before_mj = {{.*}}, kind = "dense", loss = 0.00801{{[0-9]+}} : f64, name = "layer0", rank_after = 2 : i64, rank_before = 8 : i64, retained = 0.99198{{[0-9]+}} : f64}, r_max = 2 : i64, r_min = 1 : i64, rank = 2 : i64}
// RETAIN: lorc.linear %{{.*}}, %{{.*}} {lorc.rank_selection = {{.*}}rank_after = 8 : i64, rank_before = 8 : i64{{.*}}} : tensor<?x16xf32>, tensor<8x16xf32>
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
// IMPOSSIBLE: error: --lorc-select-rank: energy-ratio=0.5 is unattainable: the smallest estimated energy of the 2 selectable layers is {{[0-9.]+}} mJ, ratio 0.{{[0-9]+}} of the unreduced {{[0-9.]+}} mJ (every layer at rank 1)

// TWO: error: --lorc-select-rank: give exactly one of rank=, retained-energy=, energy-ratio=, budget-mj=, preset=, threshold=, sv-ratio= or quantile= (got 2)
// LyCORIS' modes on σ: threshold=2 and sv-ratio=0.3 (σ > 3) keep 10 and 5 of @steep; @flat's
// eight 10s all pass, and rank 8 does not pay. quantile=0.9: the cumulative sums 10, 15, 16,
// 16.1 are below 0.9·16.1 = 14.49 only once.
// THRESHOLD: layer0 2 8
// THRESHOLD: layer1 8 8
// QUANTILE: layer0 1 8
// QUANTILE: layer1 8 8

// preset=balanced (LoRAven: rank ratio 0.5, min ratio 0.2): the budget is both layers at rank
// ⌈0.5·8⌉ = 4, the floor ⌈0.2·8⌉ = 2. @steep goes down to its floor, not to 1 (which the
// greedy would take otherwise: its rank 1 costs less and @flat's components all carry the same
// energy).
// PRESET: layer0 2 8
// PRESET: layer1 {{[1-8]}} 8
// PRESET: selected layers:

// budget-mj is per sample of the whole model (batch = dynamic-size = 1024 here).
// BUDGETMJ: layer0 {{[1-5]}} 8
// BUDGETMJ: selected layers: {{.*}} (ratio 0.9{{[0-9]+}})
// BUDGETMJ-IMPOSSIBLE: error: --lorc-select-rank: budget-mj=1e-08 per sample is unattainable: the smallest estimated energy is {{[0-9.]+}} mJ per sample (the 2 selectable layers at rank 1, the rest of the model 0.00000 mJ; profile cpu-2core, batch 1024)
// BADPRESET: error: --lorc-select-rank: unknown preset 'turbo' (expected high_performance, balanced or low_power)
// BADTARGETS: error: --lorc-select-rank: unknown targets 'weights' (expected dense, adapters or all)
// dynamic-rank=τ: the chosen rank becomes r_max of a run-time scheduler, r_min half of it.
// DYNAMIC-COUNT-2: lorc.lowrank_linear {{.*}}r_max = 4 : i64, r_min = 2 : i64, rank = 4 : i64, schedule_energy = 5.000000e-01 : f64}
// DYNAMIC-BAD: error: --lorc-select-rank: dynamic-rank is an energy fraction in (0, 1] (0: off), got 2
// MINCOS: error: --lorc-select-rank: min-cosine= needs runs of the model on calibration inputs: use lorc-compile --select-rank=min-cosine=C,calibration=<inputs.safetensors>
func.func @forward(%x: tensor<?x16xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %wa = arith.constant dense<[[10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<8x16xf32>
  %wb = arith.constant dense<[[10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<8x16xf32>
  %ya = lorc.linear %x, %wa : tensor<?x16xf32>, tensor<8x16xf32> -> tensor<?x8xf32>
  %yb = lorc.linear %x, %wb : tensor<?x16xf32>, tensor<8x16xf32> -> tensor<?x8xf32>
  return %ya, %yb : tensor<?x8xf32>, tensor<?x8xf32>
}
