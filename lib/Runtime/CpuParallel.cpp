//===- CpuParallel.cpp - the OpenMP entry points of compiled CPU code -----===//
//
// The CPU pipeline turns the non-GEMM loops into `omp.parallel` + `omp.wsloop`
// (convert-scf-to-openmp, --lorc-omp-parallel-if), which LLVM's OpenMPIRBuilder translates into
// calls of the LLVM OpenMP runtime's `__kmpc_*` ABI (openmp/runtime/src/kmp_csupport.cpp,
// kmp_sched.cpp). Debian ships that runtime (libomp) separately from libgomp, which oneDNN is
// built against; loading both would give the process two thread pools that spin against each
// other on two cores. So lorc implements the handful of `__kmpc_*` entry points the translation
// emits on top of libgomp (GOMP_parallel, GOMP_barrier): compiled loops and GEMMs share one pool,
// sized by lorc::setCpuThreads (omp_set_num_threads).
//
// Supported: one level of parallelism (the passes never nest regions; a nested fork runs on the
// calling thread), static schedules without chunk (kmp_sch_static = 34), unsigned 64-bit loops.
//
//===----------------------------------------------------------------------===//

#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

/// `void microtask(int32_t *gtid, int32_t *btid, void *shared)`: the outlined region.
using Microtask = void (*)(int32_t *, int32_t *, void *);

struct Gomp {
  void (*parallel)(void (*)(void *), void *, unsigned, unsigned) = nullptr;
  void (*barrier)() = nullptr;
  int (*threadNum)() = nullptr;
  int (*numThreads)() = nullptr;
  static const Gomp &get() {
    static Gomp g = [] {
      Gomp r;
      // libgomp is loaded with libdnnl (a dependency of this library).
      r.parallel = reinterpret_cast<decltype(r.parallel)>(dlsym(RTLD_DEFAULT, "GOMP_parallel"));
      r.barrier = reinterpret_cast<decltype(r.barrier)>(dlsym(RTLD_DEFAULT, "GOMP_barrier"));
      r.threadNum =
          reinterpret_cast<decltype(r.threadNum)>(dlsym(RTLD_DEFAULT, "omp_get_thread_num"));
      r.numThreads =
          reinterpret_cast<decltype(r.numThreads)>(dlsym(RTLD_DEFAULT, "omp_get_num_threads"));
      if (!r.parallel || !r.barrier || !r.threadNum || !r.numThreads)
        r.parallel = nullptr; // run every region on the calling thread
      return r;
    }();
    return g;
  }
};

/// The team the calling thread works in: (thread id, team size); (0, 1) outside regions.
thread_local int32_t teamThread = 0;
thread_local int32_t teamSize = 1;

struct Region {
  Microtask fn;
  void *shared;
};

void runMember(void *data) {
  const Gomp &g = Gomp::get();
  auto *r = static_cast<Region *>(data);
  int32_t tid = g.threadNum(), zero = 0;
  teamThread = tid;
  teamSize = g.numThreads();
  r->fn(&tid, &zero, r->shared);
  teamThread = 0;
  teamSize = 1;
}

void fork(int32_t nargs, Microtask fn, void *shared, bool parallel) {
  if (nargs > 1) { // the translation packs captured values into one struct
    std::fprintf(stderr, "lorc runtime: __kmpc_fork_call with %d arguments is not supported\n",
                 nargs);
    std::abort();
  }
  const Gomp &g = Gomp::get();
  if (!parallel || !g.parallel || teamSize > 1) {
    int32_t tid = teamThread, zero = 0;
    fn(&tid, &zero, shared);
    return;
  }
  Region r{fn, shared};
  g.parallel(runMember, &r, /*num_threads=*/0, /*flags=*/0);
}

} // namespace

#define LORC_KMPC extern "C" __attribute__((visibility("default")))

LORC_KMPC int32_t __kmpc_global_thread_num(void *) { return teamThread; }

LORC_KMPC void __kmpc_fork_call(void *, int32_t nargs, Microtask fn, ...) {
  void *shared = nullptr;
  if (nargs == 1) {
    __builtin_va_list ap;
    __builtin_va_start(ap, fn);
    shared = __builtin_va_arg(ap, void *);
    __builtin_va_end(ap);
  }
  fork(nargs, fn, shared, /*parallel=*/true);
}

LORC_KMPC void __kmpc_fork_call_if(void *, int32_t nargs, Microtask fn, int32_t cond,
                                   void *shared) {
  fork(nargs, fn, shared, cond != 0);
}

/// Static schedule: the inclusive range [*lower, *upper] split into teamSize contiguous
/// blocks, the first (trip % teamSize) one iteration longer. An upper bound below the lower
/// one (the translation's tripcount - 1 for an empty loop) is an empty range.
LORC_KMPC void __kmpc_for_static_init_8u(void *, int32_t, int32_t schedule, int32_t *lastIter,
                                         uint64_t *lower, uint64_t *upper, int64_t *stride,
                                         int64_t incr, int64_t chunk) {
  if (schedule != 34 || incr != 1 || chunk > 1) {
    std::fprintf(stderr, "lorc runtime: unsupported OpenMP schedule %d (incr %lld, chunk %lld)\n",
                 schedule, static_cast<long long>(incr), static_cast<long long>(chunk));
    std::abort();
  }
  uint64_t lo = *lower, hi = *upper;
  if (hi < lo || hi == UINT64_MAX) { // empty
    *upper = lo - 1;
    *lastIter = 0;
    *stride = 1;
    return;
  }
  uint64_t trip = hi - lo + 1, n = static_cast<uint64_t>(teamSize),
           t = static_cast<uint64_t>(teamThread);
  uint64_t base = trip / n, extra = trip % n;
  uint64_t begin = lo + t * base + std::min(t, extra);
  uint64_t count = base + (t < extra ? 1 : 0);
  *lower = begin;
  *upper = begin + count - 1; // begin - 1 when this thread gets nothing: an empty range
  *lastIter = count > 0 && begin + count - 1 == hi;
  *stride = static_cast<int64_t>(trip);
}

LORC_KMPC void __kmpc_for_static_fini(void *, int32_t) {}

LORC_KMPC void __kmpc_barrier(void *, int32_t) {
  if (teamSize > 1)
    Gomp::get().barrier();
}
