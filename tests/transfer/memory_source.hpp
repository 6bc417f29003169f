// In-memory image sources for the engine tests: blobs and manifests held in
// strings, served through the ImageSource interface.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ecr/image.hpp"
#include "ecr/manifest.hpp"
#include "support/string_stream.hpp"

namespace ecr::testing {

// An image source holding blobs and manifests in memory.
class MemorySource final : public ImageSource {
 public:
  Descriptor add_blob(const std::string& bytes, std::string media_type) {
    const Digest d = Digest::of(bytes);
    blobs_[d] = bytes;
    return Descriptor{.media_type = std::move(media_type),
                      .digest = d,
                      .size = static_cast<std::int64_t>(bytes.size())};
  }
  // An image with layers of the given sizes; returns its manifest descriptor.
  Descriptor add_image(const std::vector<std::size_t>& layer_sizes, char seed) {
    const std::string config =
        std::string("{\"architecture\":\"amd64\",\"os\":\"linux\",\"seed\":\"") + seed +
        "\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
    const Descriptor c = add_blob(config, std::string(media_type::kOciConfig));
    std::vector<Descriptor> layers;
    for (std::size_t i = 0; i < layer_sizes.size(); ++i) {
      std::string bytes(layer_sizes[i], '\0');
      std::uint32_t x = static_cast<std::uint32_t>(seed) * 7919u + static_cast<std::uint32_t>(i);
      for (auto& ch : bytes) {
        x = x * 1103515245u + 12345u;
        ch = static_cast<char>(x >> 16);
      }
      layers.push_back(add_blob(bytes, std::string(media_type::kOciLayerGzip)));
    }
    return add_blob(serialize_oci_manifest(c, layers), std::string(media_type::kOciManifest));
  }
  void set_root(Descriptor d) { entries_ = {ImageEntry{{"v1"}, std::move(d)}}; }
  // Serves blobs as a file does: bytes read at any offset too.
  void serve_random_access() { random_access_ = true; }
  const std::string& bytes(const Digest& d) const { return blobs_.at(d); }

  std::vector<ImageEntry> list() override { return entries_; }

 protected:
  std::unique_ptr<ByteStream> open_raw(const Descriptor& d) override {
    if (random_access_) return std::make_unique<RandomAccessStringStream>(blobs_.at(d.digest));
    return std::make_unique<StringStream>(blobs_.at(d.digest));
  }

 private:
  std::map<Digest, std::string> blobs_;
  bool random_access_ = false;
  std::vector<ImageEntry> entries_;
};

}  // namespace ecr::testing
