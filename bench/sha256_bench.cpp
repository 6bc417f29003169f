// SHA-256 on one core: one stream (OpenSSL through ecr::Sha256, and a
// Sha256Lane alone) next to two streams fed together (update_pair), whose
// rounds interleave where the CPU has the SHA extensions
// (core/sha256_lanes.hpp); /1 is the same pair on OpenSSL lanes, the
// fallback. Bytes processed count every stream's bytes, so the GB/s figures
// compare directly: the pair's over one stream's is what hashing two part
// bodies together saves a push.
#include <benchmark/benchmark.h>

#include <array>
#include <random>
#include <string>

#include "core/sha256_lanes.hpp"
#include "ecr/digest.hpp"

namespace {

// 10 MiB: the part size real ECR hands out from InitiateLayerUpload.
constexpr std::size_t kBufferSize = 10 * 1024 * 1024;

const std::string& buffer(std::size_t which) {
  static const std::array<std::string, 2> buffers = [] {
    std::array<std::string, 2> b;
    std::mt19937_64 rng(42);
    for (auto& s : b) {
      s.resize(kBufferSize);
      for (char& c : s) c = static_cast<char>(rng());
    }
    return b;
  }();
  return buffers[which];
}

void BM_OpenSslOneStream(benchmark::State& state) {
  const std::string& in = buffer(0);
  ecr::Sha256 hash;
  for (auto _ : state) {
    hash.update(in);
    benchmark::DoNotOptimize(hash.finish());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_OpenSslOneStream)->Unit(benchmark::kMillisecond);

void BM_LaneOneStream(benchmark::State& state) {
  const std::string& in = buffer(0);
  ecr::Sha256Lane lane;
  for (auto _ : state) {
    lane.update(in.data(), in.size());
    benchmark::DoNotOptimize(lane.finish());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
  state.SetLabel(ecr::Sha256Lane::interleaves() ? "SHA-NI" : "OpenSSL (no SHA-NI)");
}
BENCHMARK(BM_LaneOneStream)->Unit(benchmark::kMillisecond);

void BM_LanesTwoStreamsPaired(benchmark::State& state) {
  const std::string& x = buffer(0);
  const std::string& y = buffer(1);
  const auto engine =
      state.range(0) == 0 ? ecr::Sha256Lane::Engine::kBest : ecr::Sha256Lane::Engine::kOpenSsl;
  ecr::Sha256Lane a(engine);
  ecr::Sha256Lane b(engine);
  for (auto _ : state) {
    update_pair(a, x.data(), x.size(), b, y.data(), y.size());
    benchmark::DoNotOptimize(a.finish());
    benchmark::DoNotOptimize(b.finish());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * 2 * kBufferSize));
  state.SetLabel(engine == ecr::Sha256Lane::Engine::kBest && ecr::Sha256Lane::interleaves()
                     ? "interleaved (SHA-NI)"
                     : "one after the other (OpenSSL)");
}
// 0: the best engine here; 1: OpenSSL lanes, the fallback.
BENCHMARK(BM_LanesTwoStreamsPaired)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
