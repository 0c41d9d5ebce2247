//===- AmaxHistoryTest.cpp - delayed scaling over runs --------------------===//
//
// lorc::AmaxHistory (include/lorc/Runtime/Artifact.h) against Transformer Engine's delayed-
// scaling rules: a rolling window of amax_history_len entries, amax = max or most recent,
// scale = fp8_max / amax / 2^margin; saturation against the compiled scale; bad outputs.
//
//===----------------------------------------------------------------------===//

#include "lorc/Runtime/Artifact.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace lorc;

namespace {

Fp8Scaling twoLayers(int64_t historyLen, const char *algo, int64_t margin) {
  Fp8Scaling s;
  s.amaxOutput = "fp8_amax";
  s.amaxHistoryLen = historyLen;
  s.amaxComputeAlgo = algo;
  s.margin = margin;
  // Calibrated at amax 2 (E4M3: scale 224 / 2^margin) and 100 (E5M2).
  s.layers.push_back({"a.weight", "fp8-e4m3", 448, 2, 448.0 / 2 / (1 << margin), ""});
  s.layers.push_back({"b.weight", "fp8-e5m2", 57344, 100, 57344.0 / 100 / (1 << margin), ""});
  return s;
}

std::vector<Tensor> runOutputs(float a, float b) {
  Tensor t = Tensor::zeros("fp8_amax", DType::F32, {2});
  t.data<float>()[0] = a;
  t.data<float>()[1] = b;
  return {Tensor::zeros("sentence_embedding", DType::F32, {1, 4}), std::move(t)};
}

TEST(AmaxHistory, MaxOverTheWindow) {
  AmaxHistory h(twoLayers(/*historyLen=*/2, "max", /*margin=*/0));
  EXPECT_EQ(h.amax(0), 0);
  EXPECT_EQ(h.scale(0), 0);
  for (auto [a, b] : {std::pair{1.0f, 50.0f}, {3.0f, 10.0f}, {0.5f, 20.0f}})
    ASSERT_FALSE(static_cast<bool>(h.record(runOutputs(a, b))));
  EXPECT_EQ(h.runs(), 3u);
  // The window holds the last two runs: {3, 0.5} and {10, 20}; 1 and 50 have left it.
  EXPECT_DOUBLE_EQ(h.amax(0), 3);
  EXPECT_DOUBLE_EQ(h.amax(1), 20);
  EXPECT_DOUBLE_EQ(h.scale(0), 448.0 / 3);
  EXPECT_DOUBLE_EQ(h.scale(1), 57344.0 / 20);
  // Over all runs: 3 > the calibrated 2 saturated layer a; b stayed below 100.
  EXPECT_DOUBLE_EQ(h.maxRecorded(0), 3);
  EXPECT_DOUBLE_EQ(h.maxRecorded(1), 50);
  EXPECT_TRUE(h.saturated(0));
  EXPECT_FALSE(h.saturated(1));
}

TEST(AmaxHistory, MostRecentAndMargin) {
  AmaxHistory h(twoLayers(/*historyLen=*/16, "most_recent", /*margin=*/1));
  ASSERT_FALSE(static_cast<bool>(h.record(runOutputs(3, 150))));
  ASSERT_FALSE(static_cast<bool>(h.record(runOutputs(1, 20))));
  EXPECT_DOUBLE_EQ(h.amax(0), 1);
  EXPECT_DOUBLE_EQ(h.scale(0), 448.0 / 1 / 2);
  // With margin 1 the compiled range reaches 2 · 2 = 4 and 100 · 2 = 200: nothing saturated.
  EXPECT_FALSE(h.saturated(0));
  EXPECT_FALSE(h.saturated(1));
}

TEST(AmaxHistory, CalibratedAmaxIsNotSaturation) {
  // The compiled scale is f32: at exactly the calibrated amax, x · scale may round past 448.
  Fp8Scaling s = twoLayers(1, "max", 0);
  s.layers[0].calibratedAmax = 2.031571388244629;
  s.layers[0].activationScale = static_cast<float>(448 / 2.031571388244629);
  AmaxHistory h(s);
  ASSERT_FALSE(static_cast<bool>(h.record(runOutputs(2.031571388244629f, 1))));
  EXPECT_FALSE(h.saturated(0));
}

// With scales updated between runs (lorc-run --fp8-update-scales), saturation is measured
// against the scale each run used: amax 3 saturates layer a under the compiled 224 (range 2)
// but not under delayed scaling's 448 / 3, set after that run; amax 4 then does again.
TEST(AmaxHistory, SaturationFollowsTheScaleInUse) {
  AmaxHistory h(twoLayers(/*historyLen=*/1, "max", /*margin=*/0));
  ASSERT_FALSE(static_cast<bool>(h.record(runOutputs(1.5f, 50))));
  EXPECT_FALSE(h.saturated(0));
  ASSERT_FALSE(static_cast<bool>(h.record(runOutputs(3, 50))));
  EXPECT_TRUE(h.saturated(0));
  AmaxHistory fresh(twoLayers(1, "max", 0));
  ASSERT_FALSE(static_cast<bool>(fresh.record(runOutputs(1.5f, 50))));
  fresh.setScales({448.0 / 3, 57344.0 / 50});
  EXPECT_EQ(fresh.scaling().layers[0].activationScale, static_cast<float>(448.0 / 3));
  ASSERT_FALSE(static_cast<bool>(fresh.record(runOutputs(3, 50))));
  EXPECT_FALSE(fresh.saturated(0)) << "3 · 448/3 = 448 is in range";
  EXPECT_FALSE(fresh.saturated(1));
  ASSERT_FALSE(static_cast<bool>(fresh.record(runOutputs(4, 50))));
  EXPECT_TRUE(fresh.saturated(0)) << "4 · 448/3 > 448";
  EXPECT_DOUBLE_EQ(fresh.scale(0), 448.0 / 4) << "history 1: the most recent amax";
}

TEST(AmaxHistory, BadOutputsAreErrors) {
  AmaxHistory h(twoLayers(4, "max", 0));
  std::vector<Tensor> none = {Tensor::zeros("sentence_embedding", DType::F32, {1, 4})};
  llvm::Error e = h.record(none);
  ASSERT_TRUE(static_cast<bool>(e));
  EXPECT_EQ(llvm::toString(std::move(e)), "fp8: the run returned no 'fp8_amax'");
  std::vector<Tensor> wrong = {Tensor::zeros("fp8_amax", DType::F32, {3})};
  e = h.record(wrong);
  ASSERT_TRUE(static_cast<bool>(e));
  EXPECT_EQ(llvm::toString(std::move(e)), "fp8: 'fp8_amax' must be f32 [2]");
  EXPECT_EQ(h.runs(), 0u);
}

} // namespace
