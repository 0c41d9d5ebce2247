//===- CpuParallelTest.cpp - the __kmpc_* entry points on libgomp ---------===//
//
// The OpenMP ABI subset lib/Runtime/CpuParallel.cpp implements for compiled loops: a forked
// region with a static work-sharing loop covers every iteration exactly once, splits it across
// the threads set by lorc::setCpuThreads, runs on the calling thread when the if-clause is
// false or the loop is empty.
//
//===----------------------------------------------------------------------===//

#include "lorc/Runtime/Artifact.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using Microtask = void (*)(int32_t *, int32_t *, void *);
extern "C" int32_t __kmpc_global_thread_num(void *);
extern "C" void __kmpc_fork_call_if(void *, int32_t, Microtask, int32_t, void *);
extern "C" void __kmpc_for_static_init_8u(void *, int32_t, int32_t, int32_t *, uint64_t *,
                                          uint64_t *, int64_t *, int64_t, int64_t);
extern "C" void __kmpc_for_static_fini(void *, int32_t);
extern "C" void __kmpc_barrier(void *, int32_t);

namespace {

struct Shared {
  uint64_t trips;
  std::vector<std::atomic<int>> hits;
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::atomic<int> lastIterations{0};
  explicit Shared(uint64_t n) : trips(n), hits(n) {}
};

/// What the translation of omp.parallel { omp.wsloop } does inside the outlined region.
void region(int32_t *gtid, int32_t *, void *arg) {
  auto *s = static_cast<Shared *>(arg);
  {
    std::lock_guard<std::mutex> lock(s->mutex);
    s->threads.insert(std::this_thread::get_id());
  }
  uint64_t lower = 0, upper = s->trips - 1; // tripcount - 1, as the translation stores it
  int64_t stride = 1;
  int32_t last = 0;
  int32_t tid = __kmpc_global_thread_num(nullptr);
  EXPECT_EQ(tid, *gtid);
  __kmpc_for_static_init_8u(nullptr, tid, 34, &last, &lower, &upper, &stride, 1, 0);
  for (uint64_t i = 0; i < upper - lower + 1; ++i)
    s->hits[lower + i]++;
  s->lastIterations += last;
  __kmpc_for_static_fini(nullptr, tid);
  __kmpc_barrier(nullptr, tid);
}

TEST(CpuParallel, StaticLoopCoversEveryIterationOnceAcrossThreads) {
  lorc::setCpuThreads(2);
  for (uint64_t n : {1u, 2u, 3u, 7u, 1000u, 1025u}) {
    Shared s(n);
    __kmpc_fork_call_if(nullptr, 1, region, 1, &s);
    for (uint64_t i = 0; i < n; ++i)
      EXPECT_EQ(s.hits[i].load(), 1) << "iteration " << i << " of " << n;
    EXPECT_EQ(s.lastIterations.load(), 1) << "exactly one thread runs the last iteration";
    if (std::thread::hardware_concurrency() >= 2)
      EXPECT_EQ(s.threads.size(), 2u) << "both threads of the team ran the region";
  }
}

TEST(CpuParallel, FalseIfClauseRunsOnTheCallingThread) {
  lorc::setCpuThreads(2);
  Shared s(100);
  __kmpc_fork_call_if(nullptr, 1, region, 0, &s);
  ASSERT_EQ(s.threads.size(), 1u);
  EXPECT_EQ(*s.threads.begin(), std::this_thread::get_id());
  for (uint64_t i = 0; i < 100; ++i)
    EXPECT_EQ(s.hits[i].load(), 1);
}

TEST(CpuParallel, EmptyLoopRunsNoIteration) {
  lorc::setCpuThreads(2);
  Shared s(0); // upper = 0 - 1 = UINT64_MAX: the translation's empty loop
  __kmpc_fork_call_if(nullptr, 1, region, 1, &s);
  EXPECT_EQ(s.lastIterations.load(), 0);
}

} // namespace
