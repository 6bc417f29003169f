// libFuzzer: the documents of a docker-archive (`docker save`) as
// DockerArchiveSource reads them (src/oci/docker_archive.hpp), without the
// tar around them (archive_fuzz covers the tar): manifest.json, the configs
// and layers it points at, in either layout (legacy <id>/layer.tar with
// <hex>.json configs, or Docker 25+ paths into blobs/sha256/). The input's
// first line is manifest.json; then pairs of lines, a path and that file's
// content. Bad input is an ecr::Error; for an archive that reads, every
// image lists a manifest that fetches, whose config reads back verified, with
// one layer per diff_id, and whose names come from manifest.json.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ecr/error.hpp"
#include "ecr/manifest.hpp"
#include "fuzz_fields.hpp"
#include "oci/docker_archive.hpp"
#include "oci/file_tree.hpp"

namespace {

class StringStream final : public ecr::ByteStream {
 public:
  explicit StringStream(std::string_view bytes) : rest_(bytes) {}
  std::size_t read(std::span<std::byte> out) override {
    const std::size_t n = std::min(out.size(), rest_.size());
    std::memcpy(out.data(), rest_.data(), n);
    rest_.remove_prefix(n);
    return n;
  }

 private:
  std::string_view rest_;
};

// An archive's files held in memory, under their normalized paths.
class MemoryTree final : public ecr::oci::FileTree {
 public:
  explicit MemoryTree(std::map<std::string, std::string, std::less<>> files)
      : files_(std::move(files)) {}
  std::optional<std::int64_t> file_size(std::string_view path) override {
    const auto it = files_.find(path);
    if (it == files_.end()) return std::nullopt;
    return static_cast<std::int64_t>(it->second.size());
  }
  std::unique_ptr<ecr::ByteStream> open(std::string_view path) override {
    const auto it = files_.find(path);
    if (it == files_.end()) throw ecr::InputError("fuzz: " + std::string(path) + " is missing");
    return std::make_unique<StringStream>(it->second);
  }
  std::string describe() const override { return "fuzz"; }
  std::filesystem::path identity_file(std::string_view) const override { return "fuzz"; }

 private:
  std::map<std::string, std::string, std::less<>> files_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string_view manifest[1];
  std::string_view rest = ecr::fuzz::split_fields(bytes, manifest);
  std::map<std::string, std::string, std::less<>> files;
  files.emplace("manifest.json", std::string(manifest[0]));
  while (!rest.empty()) {
    std::string_view file[2];
    rest = ecr::fuzz::split_fields(rest, file);
    try {
      files.emplace(ecr::oci::normalize_relative_path(file[0]), std::string(file[1]));
    } catch (const ecr::InputError&) {
    }
  }
  std::optional<ecr::oci::DockerArchiveSource> source;
  try {
    source.emplace(std::make_unique<MemoryTree>(files));
  } catch (const ecr::Error&) {
    return 0;
  }
  for (const ecr::ImageEntry& image : source->list()) {
    // Without escapes, each name is a substring of manifest.json.
    for (const std::string& name : image.names) {
      if (manifest[0].find('\\') == std::string_view::npos &&
          manifest[0].find(name) == std::string_view::npos) {
        std::abort();
      }
    }
    const ecr::ParsedManifest m = source->fetch_manifest(image.descriptor);
    if (m.is_index() || !m.config) std::abort();
    // The config's descriptor was made from the very bytes it names.
    const std::string config = source->open_blob(*m.config).read_all(1 << 20);
    if (ecr::parse_image_config(config).diff_ids.size() != m.layers.size()) std::abort();
    for (const ecr::Descriptor& layer : m.layers) {
      try {
        (void)source->open_blob(layer).read_all(1 << 20);
      } catch (const ecr::Error&) {  // an uncompressed layer that is not its diff_id
      }
    }
  }
  return 0;
}
