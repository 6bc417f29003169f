// make_bench_image: writes the transfer benchmark's test image as an OCI
// layout, the same bytes on every run and every machine with the same zlib.
//
//   make_bench_image --out DIR --size BYTES [--layers N]
//
// The image has N layers (default 8) of about BYTES / N gzip bytes each. Even
// layers hold random bytes (incompressible, like binaries and already
// compressed assets); odd layers hold text made of words, numbers and
// punctuation (compressible about 3:1 with gzip -6, like sources and configs). Each layer is a
// tar of 1 MiB files, generated until its gzip stream reaches its share of
// BYTES; so the sizes are exact to about one file's compressed size.
//
// Every byte comes from a fixed-seed xoshiro256** stream per layer, tar
// headers carry mtime 0 and the gzip header carries no name or time, so the
// digests depend only on BYTES, N and the zlib version. Layers are made in
// parallel (one thread per core); the layout appears under DIR only when
// complete (written to DIR.partial, then renamed).
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ecr/digest.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kFileBytes = 1 << 20;          // one tar member
constexpr std::uint64_t kSeed = 0x6563722d62656e63;  // "ecr-benc"
// gzip -6 is what `docker push`, skopeo and tar czf produce by default.
constexpr int kTextLevel = 6;
// Random bytes do not compress at any level; level 1 only makes the
// generator faster (the output is the same size within 0.1%).
constexpr int kRandomLevel = 1;

// xoshiro256** (Blackman and Vigna), seeded through splitmix64: fast and
// the same everywhere, unlike std::uniform_int_distribution.
class Random {
 public:
  explicit Random(std::uint64_t seed) {
    for (auto& word : s_) {
      seed += 0x9e3779b97f4a7c15;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
      z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
      word = z ^ (z >> 31);
    }
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
};

void fill_random(Random& rng, std::vector<char>& buf) {
  for (std::size_t i = 0; i + 8 <= buf.size(); i += 8) {
    const std::uint64_t r = rng.next();
    std::memcpy(buf.data() + i, &r, 8);
  }
}

// Text from a vocabulary of invented words picked with a skewed (roughly
// Zipf) distribution, in lines of varying length with some numbers: gzip -6
// compresses it about as well as it does source code.
class TextSource {
 public:
  explicit TextSource(Random& rng) : rng_(rng) {
    words_.reserve(kVocabulary);
    for (std::size_t i = 0; i < kVocabulary; ++i) {
      std::string w;
      const std::size_t len = 2 + rng_.next() % 9;
      for (std::size_t j = 0; j < len; ++j) w += static_cast<char>('a' + rng_.next() % 26);
      words_.push_back(std::move(w));
    }
  }

  void fill(std::vector<char>& buf) {
    std::size_t at = 0;
    auto put = [&](std::string_view s) {
      const std::size_t n = std::min(s.size(), buf.size() - at);
      std::memcpy(buf.data() + at, s.data(), n);
      at += n;
    };
    while (at < buf.size()) {
      const std::uint64_t r = rng_.next();
      // The product of three uniform indices favours small ones: frequent words.
      const std::size_t word = ((r & 0x7ff) * ((r >> 11) & 0x7ff) * ((r >> 22) & 0x7ff)) >> 22;
      put(words_[word]);
      switch ((r >> 40) % 16) {
        case 0:
          put("\n");
          break;
        case 1:
          put(" = " + std::to_string((r >> 44) % 100000) + ";\n");
          break;
        case 2:
          put(", ");
          break;
        default:
          put(" ");
      }
    }
  }

 private:
  static constexpr std::size_t kVocabulary = 2048;
  Random& rng_;
  std::vector<std::string> words_;
};

// A gzip stream into a file, hashing what it writes (the blob digest) and
// what it is fed (the layer's diff_id).
class GzipBlobWriter {
 public:
  GzipBlobWriter(const fs::path& path, int level) : out_(path, std::ios::binary) {
    if (!out_) throw std::runtime_error("cannot create " + path.string());
    // windowBits 15 + 16: a gzip wrapper with no name and mtime 0.
    if (deflateInit2(&z_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("deflateInit2 failed");
    }
    out_buf_.resize(1 << 20);
  }
  ~GzipBlobWriter() { deflateEnd(&z_); }
  GzipBlobWriter(const GzipBlobWriter&) = delete;
  GzipBlobWriter& operator=(const GzipBlobWriter&) = delete;

  void write(const char* data, std::size_t size) {
    diff_id_.update(data, size);
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z_.avail_in = static_cast<uInt>(size);
    pump(Z_NO_FLUSH);
  }
  void finish() {
    pump(Z_FINISH);
    out_.close();
    if (!out_) throw std::runtime_error("write failed");
  }
  std::uint64_t compressed_bytes() const { return blob_.size(); }
  ecr::Digest blob_digest() { return blob_.finish(); }
  ecr::Digest diff_id() { return diff_id_.finish(); }

 private:
  void pump(int flush) {
    int rc;
    do {
      z_.next_out = reinterpret_cast<Bytef*>(out_buf_.data());
      z_.avail_out = static_cast<uInt>(out_buf_.size());
      rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) throw std::runtime_error("deflate failed");
      const std::size_t n = out_buf_.size() - z_.avail_out;
      blob_.update(out_buf_.data(), n);
      out_.write(out_buf_.data(), static_cast<std::streamsize>(n));
    } while (z_.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  }

  std::ofstream out_;
  z_stream z_{};
  std::vector<char> out_buf_;
  ecr::Sha256 blob_;
  ecr::Sha256 diff_id_;
};

// A ustar header for a regular file, mode 0644, owner 0, mtime 0.
std::array<char, 512> tar_header(const std::string& name, std::size_t size) {
  std::array<char, 512> h{};
  std::memcpy(h.data(), name.data(), std::min<std::size_t>(name.size(), 100));
  std::snprintf(h.data() + 100, 8, "%07o", 0644);
  std::snprintf(h.data() + 108, 8, "%07o", 0);
  std::snprintf(h.data() + 116, 8, "%07o", 0);
  std::snprintf(h.data() + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(h.data() + 136, 12, "%011o", 0);
  h[156] = '0';
  std::memcpy(h.data() + 257, "ustar", 6);
  std::memcpy(h.data() + 263, "00", 2);
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::snprintf(h.data() + 148, 8, "%06o", sum);
  return h;
}

struct Layer {
  ecr::Digest digest = ecr::Digest::of("");
  ecr::Digest diff_id = ecr::Digest::of("");
  std::uint64_t size = 0;
};

Layer make_layer(const fs::path& blobs, std::size_t index, std::uint64_t target) {
  const bool text = index % 2 == 1;
  Random rng(kSeed + index);
  const fs::path tmp = blobs / ("layer-" + std::to_string(index) + ".tmp");
  GzipBlobWriter gz(tmp, text ? kTextLevel : kRandomLevel);
  TextSource words(rng);
  std::vector<char> file(kFileBytes);
  for (std::size_t n = 0; gz.compressed_bytes() < target; ++n) {
    if (text) {
      words.fill(file);
    } else {
      fill_random(rng, file);
    }
    const std::string name =
        "layer" + std::to_string(index) + "/" + std::to_string(n) + (text ? ".txt" : ".bin");
    const auto header = tar_header(name, file.size());
    gz.write(header.data(), header.size());
    gz.write(file.data(), file.size());
  }
  const std::array<char, 1024> end_of_archive{};
  gz.write(end_of_archive.data(), end_of_archive.size());
  gz.finish();
  Layer layer{gz.blob_digest(), gz.diff_id(), 0};
  layer.size = fs::file_size(tmp);
  fs::rename(tmp, blobs / std::string(layer.digest.hex()));
  return layer;
}

ecr::Digest write_blob(const fs::path& blobs, const std::string& bytes) {
  const ecr::Digest d = ecr::Digest::of(bytes);
  std::ofstream(blobs / std::string(d.hex()), std::ios::binary) << bytes;
  return d;
}

std::string descriptor(std::string_view media_type, const ecr::Digest& d, std::uint64_t size) {
  return "{\"mediaType\":\"" + std::string(media_type) + "\",\"digest\":\"" + d.str() +
         "\",\"size\":" + std::to_string(size) + "}";
}

void make_image(const fs::path& out, std::uint64_t total, std::size_t layer_count) {
  const fs::path partial = out.string() + ".partial";
  fs::remove_all(partial);
  const fs::path blobs = partial / "blobs" / "sha256";
  fs::create_directories(blobs);

  std::vector<Layer> layers(layer_count);
  std::atomic<std::size_t> next{0};
  std::vector<std::jthread> workers;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (std::size_t i; (i = next++) < layer_count;) {
        try {
          layers[i] = make_layer(blobs, i, total / layer_count);
        } catch (...) {
          std::lock_guard lock(failure_mutex);
          failure = std::current_exception();
        }
      }
    });
  }
  workers.clear();
  if (failure) std::rethrow_exception(failure);

  std::string diff_ids;
  std::string layer_descriptors;
  for (const Layer& l : layers) {
    diff_ids += (diff_ids.empty() ? "\"" : ",\"") + l.diff_id.str() + "\"";
    if (!layer_descriptors.empty()) layer_descriptors += ",";
    layer_descriptors +=
        descriptor("application/vnd.oci.image.layer.v1.tar+gzip", l.digest, l.size);
  }
  const std::string config =
      "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" +
      diff_ids + "]}}";
  const ecr::Digest config_digest = write_blob(blobs, config);
  const std::string manifest =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":" +
      descriptor("application/vnd.oci.image.config.v1+json", config_digest, config.size()) +
      ",\"layers\":[" + layer_descriptors + "]}";
  const ecr::Digest manifest_digest = write_blob(blobs, manifest);

  std::ofstream(partial / "oci-layout") << "{\"imageLayoutVersion\":\"1.0.0\"}";
  std::ofstream(partial / "index.json")
      << "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
         "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
         "\"digest\":\""
      << manifest_digest.str() << "\",\"size\":" << manifest.size()
      << ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}";
  fs::remove_all(out);
  fs::rename(partial, out);
  std::cout << manifest_digest.str() << "\n";
}

int usage() {
  std::cerr << "usage: make_bench_image --out DIR --size BYTES [--layers N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path out;
  std::uint64_t size = 0;
  std::size_t layers = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--out") {
      out = argv[i + 1];
    } else if (flag == "--size") {
      size = std::stoull(argv[i + 1]);
    } else if (flag == "--layers") {
      layers = std::stoul(argv[i + 1]);
    } else {
      return usage();
    }
  }
  if (out.empty() || size == 0 || layers == 0 || argc % 2 == 0) return usage();
  try {
    make_image(out, size, layers);
  } catch (const std::exception& e) {
    std::cerr << "make_bench_image: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
