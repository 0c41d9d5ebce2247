// RUN: %python %S/Inputs/make_gram.py %t.gram.safetensors layer0=16:100,100,0.01
// RUN: %python %S/Inputs/make_gram.py %t.other.safetensors other=16:1
// RUN: lorc-opt %s -lorc-select-rank="retained-energy=0.99" 2>&1 | FileCheck %s --check-prefix=FREE
// RUN: lorc-opt %s -lorc-select-rank="retained-energy=0.99 whitening-damping=0 calibration-gram=%t.gram.safetensors" 2>&1 | FileCheck %s --check-prefix=WHITE
// RUN: not lorc-opt %s -lorc-select-rank="retained-energy=0.99 calibration-gram=%t.other.safetensors" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not lorc-opt %s -lorc-select-rank="retained-energy=0.99 calibration-gram=%t.none.safetensors" 2>&1 | FileCheck %s --check-prefix=NOFILE

// W = 10·[I₈ | 0]: eight equal singular values, so without data no rank below 8 keeps 0.99
// and the layer stays dense.
// FREE: layer0 8 8 {{.*}} 1.00000
// FREE-NOT: lorc.lowrank_linear

// The calibration inputs only excite input features 0 and 1 (Gram diagonal 100, 100, then
// 0.01): in the whitened space W·L = 10·diag(√g) the spectrum is 100, 100, 1, ..., 1, so rank 2
// keeps 20000/20006 of the output energy on this data, and the factors are exact for it:
// σ = 10·√100 = 100 (f32 0x42C80000, one ulp more for the 1e-6 diagonal shift) and v = L⁻ᵀ·V
// = 0.1 (f32 0x3DCCCCCD) on features 0 and 1, so σ·v gives back W's 10s.
// WHITE: layer0 2 8 {{.*}} 0.99970
// WHITE: whitened by the calibration Grams
// WHITE: module attributes {lorc.rank_selection = {{.*}}whitened = true
// WHITE: lorc.lowrank_linear {{.*}}rank = 2 : i64
// WHITE: layer0.svd_v: "0x04000000{{(CCCCCC3D|CCCCCCBD)}}0000000000000000{{(CCCCCC3D|CCCCCCBD)}}{{0+}}"
// WHITE: layer0.svd_s: "0x04000000{{0[01]}}00C842{{0[01]}}00C842"

// MISSING: error: 'lorc.linear' op --lorc-select-rank: calibration-gram {{.*}}other.safetensors has no f32 [16, 16] Gram named 'layer0'
// NOFILE: error: --lorc-select-rank: calibration-gram: {{.*}}none.safetensors{{.*}}
func.func @forward(%x: tensor<?x16xf32>) -> tensor<?x8xf32> {
  %w = arith.constant dense<[[10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<8x16xf32>
  %y = lorc.linear %x, %w : tensor<?x16xf32>, tensor<8x16xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
