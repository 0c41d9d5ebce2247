//===- CostModel.cpp - hardware profiles, latency and energy --------------===//

#include "lorc/CostModel/CostModel.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>

using namespace lorc;
using llvm::Twine;

namespace {

llvm::Error makeError(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

struct BuiltinProfile {
  const char *name;
  const char *json;
};
const BuiltinProfile kBuiltinProfiles[] = {
#include "BuiltinProfiles.inc"
};

} // namespace

llvm::Expected<HardwareProfile> HardwareProfile::parse(llvm::StringRef text,
                                                       llvm::StringRef displayName) {
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(text);
  if (!json)
    return makeError(displayName + ": invalid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *o = json->getAsObject();
  if (!o)
    return makeError(displayName + ": a profile is a JSON object");
  HardwareProfile p;
  p.name = o->getString("name").value_or(displayName).str();
  auto number = [&](llvm::StringRef key, double &out, bool positive) -> llvm::Error {
    std::optional<double> v = o->getNumber(key);
    if (!v || *v < 0 || (positive && *v == 0))
      return makeError(displayName + ": field '" + key + "' must be a " +
                       (positive ? "positive" : "non-negative") + " number");
    out = *v;
    return llvm::Error::success();
  };
  auto table = [&](llvm::StringRef key, llvm::StringMap<double> &out) -> llvm::Error {
    const llvm::json::Object *t = o->getObject(key);
    if (!t || !t->get("f32"))
      return makeError(displayName + ": field '" + key +
                       "' must be an object with at least an \"f32\" entry");
    for (const auto &[dtype, v] : *t) {
      std::optional<double> d = v.getAsNumber();
      if (!d || *d <= 0)
        return makeError(displayName + ": '" + key + "." + dtype.str() +
                         "' must be a positive number");
      out[dtype.str()] = *d;
    }
    return llvm::Error::success();
  };
  if (llvm::Error e = table("peak_flops_per_second", p.peakFlopsPerSecond))
    return std::move(e);
  if (llvm::Error e = table("energy_per_flop_pj", p.energyPerFlopPj))
    return std::move(e);
  for (auto [key, field, positive] :
       {std::tuple<const char *, double *, bool>{"dram_bandwidth_bytes_per_second",
                                                 &p.dramBandwidthBytesPerSecond, true},
        {"energy_per_dram_byte_pj", &p.energyPerDramBytePj, false},
        {"energy_per_l2_byte_pj", &p.energyPerL2BytePj, false},
        {"l2_bytes", &p.l2Bytes, false},
        {"static_power_w", &p.staticPowerW, false},
        {"tdp_w", &p.tdpW, false},
        {"launch_overhead_us", &p.launchOverheadUs, false}})
    if (llvm::Error e = number(key, *field, positive))
      return std::move(e);
  if (!o->getObject("sources"))
    return makeError(displayName + ": a profile must say where its numbers come from "
                                   "(\"sources\")");
  return p;
}

llvm::Expected<HardwareProfile> HardwareProfile::get(llvm::StringRef nameOrPath) {
  for (const BuiltinProfile &b : kBuiltinProfiles)
    if (nameOrPath == b.name)
      return parse(b.json, b.name);
  auto buf = llvm::MemoryBuffer::getFile(nameOrPath, /*IsText=*/true);
  if (!buf) {
    std::string known;
    for (const BuiltinProfile &b : kBuiltinProfiles)
      known += (known.empty() ? "" : ", ") + std::string(b.name);
    return makeError(nameOrPath + ": not a shipped profile (" + known +
                     ") and cannot be read: " + buf.getError().message());
  }
  return parse((*buf)->getBuffer(), nameOrPath);
}

CostEstimate HardwareProfile::estimate(const OpWork &work) const {
  auto lookup = [&](const llvm::StringMap<double> &m) {
    auto it = m.find(work.dtype);
    return it != m.end() ? it->second : m.lookup("f32");
  };
  CostEstimate c;
  double bytes = work.bytesRead + work.bytesWritten;
  c.computeMs = work.flops / lookup(peakFlopsPerSecond) * 1e3;
  c.memoryMs = bytes / dramBandwidthBytesPerSecond * 1e3;
  c.latencyMs = std::max(c.computeMs, c.memoryMs) + launchOverheadUs * 1e-3;
  // pJ → mJ is 1e-9; W·ms → mJ is 1.
  c.computeMj = work.flops * lookup(energyPerFlopPj) * 1e-9;
  c.memoryMj = bytes * energyPerDramBytePj * 1e-9;
  c.staticMj = staticPowerW * c.latencyMs;
  return c;
}
