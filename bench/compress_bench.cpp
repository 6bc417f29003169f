// Layer compression throughput: our deterministic parallel gzip at 1 and 2
// threads and multithreaded zstd, next to gzip -1, pigz -1 and zstd -1 -T2
// run as subprocesses on the same file in the same run; and the two deflate
// engines behind gzip (ISA-L igzip and zlib) block by block on one thread, at
// each of their levels, which is what chose the gzip level mapping
// (include/ecr/compression.hpp).
//
//   build/bench/compress_bench            (512 MiB layer: half random, half text)
//   ECR_BENCH_LAYER_MIB=64 compress_bench (a quicker run)
//   compress_bench --benchmark_filter=Engine   (the engines only)
//   ECR_BENCH_LAYER_FILE=usr.tar compress_bench (a real layer instead)
//
// bytes_per_second in the output is the uncompressed input rate (MB/s); for
// the engines, on one thread, so it is MB/s per core.
#include <benchmark/benchmark.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "ecr/compression.hpp"
#include "oci/deflate_block.hpp"
#include "oci/file_io.hpp"

namespace {

// A real layer to measure instead of the generated one (a tar of a root
// file system compresses unlike random bytes and repeated words).
const char* given_layer() { return std::getenv("ECR_BENCH_LAYER_FILE"); }

std::size_t layer_bytes() {
  if (given_layer()) return static_cast<std::size_t>(std::filesystem::file_size(given_layer()));
  const char* mib = std::getenv("ECR_BENCH_LAYER_MIB");
  return static_cast<std::size_t>(mib ? std::atol(mib) : 512) << 20;
}

// Half random bytes (incompressible, like compiled binaries already
// compressed), half text (like sources and configs), interleaved in 1 MiB runs.
const std::filesystem::path& layer_file() {
  static const std::filesystem::path path = [] {
    if (given_layer()) return std::filesystem::path(given_layer());
    auto p = std::filesystem::temp_directory_path() /
             ("ecr-compress-bench-" + std::to_string(::getpid()) + ".tar");
    std::ofstream out(p, std::ios::binary);
    std::mt19937_64 rng(7);
    std::vector<char> chunk(1 << 20);
    const char* words[] = {"layer ",    "image ",         "manifest ", "digest ", "config\n",
                           "registry ", "{\"key\": 1}\n", "push ",     "pull ",   "#include <x>\n"};
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
    if (!given_layer()) std::filesystem::remove(layer_file(), ec);
  }
};

void ours(benchmark::State& state, ecr::Compression alg, int level) {
  const auto& path = layer_file();
  std::int64_t compressed = 0;
  for (auto _ : state) {
    auto fd = ecr::oci::open_regular_file(path);
    ecr::oci::FileRangeStream in(fd, 0, ecr::oci::file_size(fd->get()));
    ecr::CompressOptions o{
        .algorithm = alg, .level = level, .threads = static_cast<std::size_t>(state.range(0))};
    auto r = ecr::compress_layer(
        in, [](std::span<const std::byte>) {}, o);
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

// The engines on the first kEngineSampleMiB of the layer (16 random and 16
// text runs), held in memory: zlib -9 on the whole layer would take minutes.
constexpr std::size_t kEngineSampleMiB = 32;

const std::vector<std::byte>& engine_sample() {
  static const std::vector<std::byte> sample = [] {
    std::vector<std::byte> s(std::min(layer_bytes(), kEngineSampleMiB << 20));
    std::ifstream in(layer_file(), std::ios::binary);
    in.read(reinterpret_cast<char*>(s.data()), static_cast<std::streamsize>(s.size()));
    return s;
  }();
  return sample;
}

// One thread, the blocks in order, each with the 32 KiB before it as its
// dictionary: exactly the work a pool thread does per block.
void engine(benchmark::State& state, ecr::oci::DeflateEngine e) {
  const auto& sample = engine_sample();
  const std::span<const std::byte> all(sample);
  const ecr::oci::DeflateSetting setting{e, static_cast<int>(state.range(0))};
  std::size_t compressed = 0;
  for (auto _ : state) {
    compressed = 0;
    for (std::size_t at = 0; at < all.size(); at += ecr::kGzipBlockSize) {
      const std::size_t n = std::min(ecr::kGzipBlockSize, all.size() - at);
      const std::size_t dict = std::min<std::size_t>(at, 32 * 1024);
      auto b = ecr::oci::deflate_block(all.subspan(at - dict, dict), all.subspan(at, n), setting,
                                       at + n == all.size());
      compressed += b.data.size();
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * all.size()));
  state.counters["ratio"] = static_cast<double>(compressed) / static_cast<double>(all.size());
}

void BM_EngineIsal(benchmark::State& s) { engine(s, ecr::oci::DeflateEngine::kIsal); }
void BM_EngineZlib(benchmark::State& s) { engine(s, ecr::oci::DeflateEngine::kZlib); }

// gzip's CRC-32 as the layer compressor computes it (ISA-L), next to zlib's.
void BM_Crc32Isal(benchmark::State& state) {
  const auto& sample = engine_sample();
  for (auto _ : state) benchmark::DoNotOptimize(ecr::oci::gzip_crc32(0, sample));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * sample.size()));
}
void BM_Crc32Zlib(benchmark::State& state) {
  const auto& sample = engine_sample();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        crc32(0, reinterpret_cast<const Bytef*>(sample.data()), static_cast<uInt>(sample.size())));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * sample.size()));
}

void BM_EcrGzip(benchmark::State& s) {
  ours(s, ecr::Compression::kGzip, static_cast<int>(s.range(1)));
}
void BM_EcrZstd(benchmark::State& s) { ours(s, ecr::Compression::kZstd, 1); }
void BM_Gzip1(benchmark::State& s) { tool(s, "gzip -1 -c"); }
void BM_Pigz1(benchmark::State& s) { tool(s, "pigz -1 -p " + std::to_string(s.range(0)) + " -c"); }
void BM_Zstd1(benchmark::State& s) {
  tool(s, "zstd -1 -q -T" + std::to_string(s.range(0)) + " -c");
}

BENCHMARK(BM_EngineIsal)->DenseRange(1, 3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EngineZlib)->DenseRange(1, 9)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Crc32Isal)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Crc32Zlib)->Unit(benchmark::kMillisecond);
// {threads, gzip level}
BENCHMARK(BM_EcrGzip)
    ->Args({1, 1})
    ->Args({2, 1})
    ->Args({2, 6})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
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
