// Layer compression throughput: our deterministic parallel gzip at 1 and 2
// threads and multithreaded zstd, next to gzip -1, pigz -1 and zstd -1 -T2
// run as subprocesses on the same file in the same run.
//
//   build/bench/compress_bench            (512 MiB layer: half random, half text)
//   ECR_BENCH_LAYER_MIB=64 compress_bench (a quicker run)
//
// bytes_per_second in the output is the uncompressed input rate (MB/s).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "ecr/compression.hpp"
#include "oci/file_io.hpp"

namespace {

std::size_t layer_bytes() {
  const char* mib = std::getenv("ECR_BENCH_LAYER_MIB");
  return static_cast<std::size_t>(mib ? std::atol(mib) : 512) << 20;
}

// Half random bytes (incompressible, like compiled binaries already
// compressed), half text (like sources and configs), interleaved in 1 MiB runs.
const std::filesystem::path& layer_file() {
  static const std::filesystem::path path = [] {
    auto p = std::filesystem::temp_directory_path() /
             ("ecr-compress-bench-" + std::to_string(::getpid()) + ".tar");
    std::ofstream out(p, std::ios::binary);
    std::mt19937_64 rng(7);
    std::vector<char> chunk(1 << 20);
    const char* words[] = {"layer ", "image ", "manifest ", "digest ", "config\n", "registry ",
                           "{\"key\": 1}\n", "push ", "pull ", "#include <x>\n"};
    for (std::size_t done = 0, i = 0; done < layer_bytes(); done += chunk.size(), ++i) {
      if (i % 2 == 0) {
        for (std::size_t j = 0; j + 8 <= chunk.size(); j += 8) {
          const std::uint64_t r = rng();
          std::memcpy(chunk.data() + j, &r, 8);
        }
      } else {
        std::size_t j = 0;
        while (j < chunk.size()) {
          const char* w = words[rng() % 10];
          for (; *w && j < chunk.size(); ++w) chunk[j++] = *w;
        }
      }
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
    return p;
  }();
  return path;
}

struct RemoveLayer {
  ~RemoveLayer() {
    std::error_code ec;
    std::filesystem::remove(layer_file(), ec);
  }
};

void ours(benchmark::State& state, ecr::Compression alg, int level) {
  const auto& path = layer_file();
  std::int64_t compressed = 0;
  for (auto _ : state) {
    auto fd = ecr::oci::open_regular_file(path);
    ecr::oci::FileRangeStream in(fd, 0, ecr::oci::file_size(fd->get()));
    ecr::CompressOptions o{.algorithm = alg,
                           .level = level,
                           .threads = static_cast<std::size_t>(state.range(0))};
    auto r = ecr::compress_layer(in, [](std::span<const std::byte>) {}, o);
    compressed = r.size;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * layer_bytes()));
  state.counters["ratio"] = static_cast<double>(compressed) / static_cast<double>(layer_bytes());
}

void tool(benchmark::State& state, const std::string& command) {
  const std::string cmd = command + " < " + layer_file().string() + " > /dev/null";
  for (auto _ : state) {
    if (std::system(cmd.c_str()) != 0) state.SkipWithError(("failed: " + cmd).c_str());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * layer_bytes()));
}

void BM_EcrGzip(benchmark::State& s) { ours(s, ecr::Compression::kGzip, 1); }
void BM_EcrZstd(benchmark::State& s) { ours(s, ecr::Compression::kZstd, 1); }
void BM_Gzip1(benchmark::State& s) { tool(s, "gzip -1 -c"); }
void BM_Pigz1(benchmark::State& s) { tool(s, "pigz -1 -p " + std::to_string(s.range(0)) + " -c"); }
void BM_Zstd1(benchmark::State& s) { tool(s, "zstd -1 -q -T" + std::to_string(s.range(0)) + " -c"); }

BENCHMARK(BM_EcrGzip)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Gzip1)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Pigz1)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EcrZstd)->Arg(2)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Zstd1)->Arg(2)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RemoveLayer cleanup;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
