#!/usr/bin/env python3
"""lorc's own generated GEMM micro-kernel (issue 9's library table): writes, for each shape
M×N×K, `func.func @gemm_MxNxK(A [M, K], B [K, N], C [M, N])` computing C += A·B with
linalg.matmul on tensors, and a transform-dialect schedule (upstream ops only) that

  1. tiles it into cache blocks [min(64, M), N, K] and register blocks [8, 32, 1]
     (8×32 f32 accumulators = 16 AVX-512 registers; one K step per iteration),
  2. vectorises the register block (transform.structured.vectorize),
  3. hoists the C tile's read and write out of the K loop (transform.loop.
     hoist_loop_invariant_subsets: the accumulators stay in registers across K),
  4. lowers the contraction to outer products (FMA: one broadcast of A per row, two loads of B).

B is [K, N]: a weight [N, K] is transposed once beforehand, as oneDNN reorders it once.
Usage: gemm_generated.py OUT_PAYLOAD.mlir OUT_SCHEDULE.mlir MxNxK [MxNxK ...]
"""
import sys


def payload(m, n, k):
    t = lambda r, c: "tensor<%dx%dxf32>" % (r, c)
    return (
        "func.func @gemm_%dx%dx%d(%%A: %s, %%B: %s, %%C: %s) -> %s {\n"
        "  %%r = linalg.matmul ins(%%A, %%B : %s, %s) outs(%%C : %s) -> %s\n"
        "  return %%r : %s\n}\n"
        % (m, n, k, t(m, k), t(k, n), t(m, n), t(m, n), t(m, k), t(k, n), t(m, n), t(m, n),
           t(m, n)))


SCHEDULE_HEAD = """module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
"""
SCHEDULE_SHAPE = """    %%f%(i)d = transform.structured.match ops{["func.func"]} attributes {sym_name = "%(name)s"} in %%root : (!transform.any_op) -> !transform.any_op
    %%mm%(i)d = transform.structured.match ops{["linalg.matmul"]} in %%f%(i)d : (!transform.any_op) -> !transform.any_op
    %%c%(i)d, %%cl%(i)d:3 = transform.structured.tile_using_for %%mm%(i)d tile_sizes [%(mc)d, %(n)d, %(k)d]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    %%r%(i)d, %%rl%(i)d:3 = transform.structured.tile_using_for %%c%(i)d tile_sizes [8, 32, 1]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.structured.vectorize %%r%(i)d : !transform.any_op
    transform.apply_patterns to %%f%(i)d {
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    transform.loop.hoist_loop_invariant_subsets %%rl%(i)d#2 : !transform.any_op
    transform.apply_patterns to %%f%(i)d {
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.vector.lower_outerproduct
      transform.apply_patterns.canonicalization
    } : !transform.any_op
"""


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    shapes = []
    for s in argv[3:]:
        m, n, k = (int(v) for v in s.split("x"))
        if m % 8 or n % 32:
            sys.exit("gemm_generated.py: %s: M must be a multiple of 8 and N of 32" % s)
        shapes.append((m, n, k))
    with open(argv[1], "w") as f:
        f.write("".join(payload(*s) for s in shapes))
    with open(argv[2], "w") as f:
        f.write(SCHEDULE_HEAD)
        for i, (m, n, k) in enumerate(shapes):
            f.write(SCHEDULE_SHAPE % {"i": i, "name": "gemm_%dx%dx%d" % (m, n, k),
                                      "mc": min(64, m), "n": n, "k": k})
        f.write("    transform.yield\n  }\n}\n")


if __name__ == "__main__":
    main(sys.argv)
