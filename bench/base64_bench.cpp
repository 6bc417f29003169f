// Base64 throughput on a part-sized buffer, ours next to OpenSSL's
// EVP_EncodeBlock/EVP_DecodeBlock. Bytes processed are the raw (decoded)
// bytes in both directions, so the two GB/s figures compare directly with the
// SHA-256 rate that bounds a push.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <random>
#include <string>

#include "core/base64.hpp"

namespace {

// 10 MiB: the part size real ECR hands out from InitiateLayerUpload.
constexpr std::size_t kBufferSize = 10 * 1024 * 1024;

const std::string& raw_buffer() {
  static const std::string buffer = [] {
    std::string b(kBufferSize, '\0');
    std::mt19937_64 rng(42);
    for (char& c : b) c = static_cast<char>(rng());
    return b;
  }();
  return buffer;
}

const std::string& encoded_buffer() {
  static const std::string encoded = ecr::base64::encode(raw_buffer());
  return encoded;
}

void BM_EncodeOurs(benchmark::State& state) {
  const std::string& in = raw_buffer();
  std::string out(ecr::base64::encoded_size(in.size()), '\0');
  for (auto _ : state) {
    benchmark::DoNotOptimize(ecr::base64::encode_to(in, out.data()));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_EncodeOurs)->Unit(benchmark::kMillisecond);

void BM_EncodeOpenSSL(benchmark::State& state) {
  const std::string& in = raw_buffer();
  std::string out(ecr::base64::encoded_size(in.size()) + 1, '\0');  // + NUL
  for (auto _ : state) {
    benchmark::DoNotOptimize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                             reinterpret_cast<const unsigned char*>(in.data()),
                                             static_cast<int>(in.size())));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_EncodeOpenSSL)->Unit(benchmark::kMillisecond);

void BM_DecodeOurs(benchmark::State& state) {
  const std::string& in = encoded_buffer();
  std::string out(ecr::base64::max_decoded_size(in.size()), '\0');
  for (auto _ : state) {
    benchmark::DoNotOptimize(ecr::base64::decode_to(in, out.data()));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * raw_buffer().size()));
}
BENCHMARK(BM_DecodeOurs)->Unit(benchmark::kMillisecond);

// EVP_DecodeBlock skips leading/trailing whitespace and does not strip
// padding, so it checks less than ours; it is here as the baseline to beat.
void BM_DecodeOpenSSL(benchmark::State& state) {
  const std::string& in = encoded_buffer();
  std::string out(ecr::base64::max_decoded_size(in.size()), '\0');
  for (auto _ : state) {
    benchmark::DoNotOptimize(EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                             reinterpret_cast<const unsigned char*>(in.data()),
                                             static_cast<int>(in.size())));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * raw_buffer().size()));
}
BENCHMARK(BM_DecodeOpenSSL)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
