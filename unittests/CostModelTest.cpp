//===- CostModelTest.cpp - profiles, units and the roofline ---------------===//

#include "lorc/CostModel/CostModel.h"

#include <gtest/gtest.h>

using namespace lorc;

namespace {

const char *kProfile = R"({"name": "unit", "peak_flops_per_second": {"f32": 1e12, "bf16": 4e12},
  "dram_bandwidth_bytes_per_second": 1e11, "energy_per_flop_pj": {"f32": 2.0, "bf16": 0.5},
  "energy_per_dram_byte_pj": 10.0, "energy_per_l2_byte_pj": 1.0, "l2_bytes": 1048576,
  "static_power_w": 50.0, "tdp_w": 300.0, "launch_overhead_us": 5.0,
  "sources": {"all": "made up for the test"}})";

HardwareProfile unitProfile() {
  llvm::Expected<HardwareProfile> p = HardwareProfile::parse(kProfile, "unit.json");
  EXPECT_TRUE(static_cast<bool>(p)) << llvm::toString(p.takeError());
  return std::move(*p);
}

// Compute-bound: 2e9 FLOPs at 1e12 FLOP/s = 2 ms; 1e6 bytes at 1e11 B/s = 0.01 ms.
// Energy: 2e9 · 2 pJ = 4e9 pJ = 4 mJ; 1e6 B · 10 pJ = 1e7 pJ = 0.01 mJ;
// static 50 W · 2.005 ms = 100.25 mJ (W·ms = mJ).
TEST(CostModel, RooflineAndEnergyUnits) {
  HardwareProfile p = unitProfile();
  OpWork w;
  w.flops = 2e9;
  w.bytesRead = 6e5;
  w.bytesWritten = 4e5;
  CostEstimate c = p.estimate(w);
  EXPECT_DOUBLE_EQ(c.computeMs, 2.0);
  EXPECT_DOUBLE_EQ(c.memoryMs, 0.01);
  EXPECT_DOUBLE_EQ(c.latencyMs, 2.005);
  EXPECT_DOUBLE_EQ(c.computeMj, 4.0);
  EXPECT_DOUBLE_EQ(c.memoryMj, 0.01);
  EXPECT_DOUBLE_EQ(c.staticMj, 100.25);
  EXPECT_DOUBLE_EQ(c.energyMj(), 104.26);
}

// Memory-bound work takes the memory time; a dtype with its own figures uses them, an unknown
// one falls back to f32's.
TEST(CostModel, MemoryBoundAndDtypes) {
  HardwareProfile p = unitProfile();
  OpWork w;
  w.flops = 1e6;
  w.bytesRead = 1e9;
  w.dtype = "bf16";
  CostEstimate c = p.estimate(w);
  EXPECT_DOUBLE_EQ(c.memoryMs, 10.0);
  EXPECT_DOUBLE_EQ(c.latencyMs, 10.005);
  EXPECT_DOUBLE_EQ(c.computeMs, 1e6 / 4e12 * 1e3);
  EXPECT_DOUBLE_EQ(c.computeMj, 1e6 * 0.5 * 1e-9);
  w.dtype = "fp8";
  EXPECT_DOUBLE_EQ(p.estimate(w).computeMj, 1e6 * 2.0 * 1e-9);
}

// The shipped profiles load and are self-consistent: H100's BF16 energy per FLOP is the
// documented (TDP − static) / peak.
TEST(CostModel, ShippedProfiles) {
  for (const char *name : {"h100-sxm", "cpu-2core"}) {
    llvm::Expected<HardwareProfile> p = HardwareProfile::get(name);
    ASSERT_TRUE(static_cast<bool>(p)) << llvm::toString(p.takeError());
    EXPECT_EQ(p->name, name);
  }
  HardwareProfile h = std::move(*HardwareProfile::get("h100-sxm"));
  double dynamicPj = (h.tdpW - h.staticPowerW) / h.peakFlopsPerSecond.lookup("bf16") * 1e12;
  EXPECT_NEAR(h.energyPerFlopPj.lookup("bf16"), dynamicPj, 0.01);
  // The LoRAven seed's 1e-6 mJ per FLOP is 1000 pJ: over 1000x this ceiling (REFERENCE 5.4).
  EXPECT_GT(1000.0 / h.energyPerFlopPj.lookup("bf16"), 1000.0);
}

TEST(CostModel, BadProfilesAreErrors) {
  auto error = [](const char *json) {
    llvm::Expected<HardwareProfile> p = HardwareProfile::parse(json, "bad.json");
    EXPECT_FALSE(static_cast<bool>(p));
    return p ? std::string() : llvm::toString(p.takeError());
  };
  EXPECT_NE(error("[]").find("bad.json: a profile is a JSON object"), std::string::npos);
  EXPECT_NE(error(R"({"peak_flops_per_second": {"bf16": 1}})").find("at least an \"f32\""),
            std::string::npos);
  std::string noSources = kProfile;
  noSources.replace(noSources.find("\"sources\""), 9, "\"nosource\"");
  EXPECT_NE(error(noSources.c_str()).find("where its numbers come from"), std::string::npos);
  std::string zeroBandwidth = kProfile;
  zeroBandwidth.replace(zeroBandwidth.find("1e11"), 4, "0");
  EXPECT_NE(error(zeroBandwidth.c_str()).find("'dram_bandwidth_bytes_per_second' must be a "
                                              "positive number"),
            std::string::npos);
  llvm::Expected<HardwareProfile> missing = HardwareProfile::get("/nonexistent/p.json");
  ASSERT_FALSE(static_cast<bool>(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find("not a shipped profile (h100-sxm, cpu-2core)"),
            std::string::npos);
}

} // namespace
