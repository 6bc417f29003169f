#include <array>

#include "core/json_reader.hpp"
#include "ecr/error.hpp"
#include "oci/docker_archive.hpp"
#include "oci/json_fields.hpp"

namespace ecr::oci {
namespace {

Compression sniff(FileTree& tree, const std::string& path) {
  auto in = tree.open(path);
  std::array<std::byte, 4> head{};
  std::size_t n = 0;
  while (n < head.size()) {
    const std::size_t r = in->read(std::span<std::byte>(head.data() + n, head.size() - n));
    if (r == 0) break;
    n += r;
  }
  return detect_compression(std::span<const std::byte>(head.data(), n));
}

Digest hash_file(FileTree& tree, const std::string& path) {
  auto in = tree.open(path);
  Sha256 h;
  std::byte buf[65536];
  while (std::size_t n = in->read(buf)) h.update(buf, n);
  return h.finish();
}

}  // namespace

DockerArchiveSource::DockerArchiveSource(std::unique_ptr<FileTree> tree) : tree_(std::move(tree)) {
  const std::string where = tree_->describe() + ": manifest.json";
  const std::string text = tree_->read("manifest.json", kMaxManifestBytes);
  simdjson::dom::parser parser;
  auto entries = as_array(json::parse(parser, text, "manifest.json"), where);
  std::size_t i = 0;
  for (JsonElement item : entries) {
    const std::string at = where + "[" + std::to_string(i++) + "]";
    JsonObject obj = as_object(item, at);
    const std::string config_path = normalize_relative_path(required_string(obj, "Config", at));
    std::vector<std::string> layer_paths;
    auto layers_field = field(obj, "Layers");
    if (!layers_field) throw InputError(at + ".Layers is missing");
    for (JsonElement l : as_array(*layers_field, at + ".Layers")) {
      layer_paths.push_back(normalize_relative_path(as_string(l, at + ".Layers[]")));
    }
    const std::vector<std::string> tags = optional_string_array(obj, "RepoTags", at);

    const std::string config_bytes = tree_->read(config_path, kMaxManifestBytes);
    const ImageConfig config = parse_image_config(config_bytes);
    if (config.diff_ids.size() != layer_paths.size()) {
      throw InputError(at + " lists " + std::to_string(layer_paths.size()) +
                       " layers but its config has " + std::to_string(config.diff_ids.size()) +
                       " diff_ids");
    }
    Descriptor config_desc{.media_type = std::string(media_type::kOciConfig),
                           .digest = config.digest,
                           .size = static_cast<std::int64_t>(config_bytes.size())};
    paths_.insert_or_assign(config.digest, config_path);
    std::vector<Descriptor> layers;
    for (std::size_t l = 0; l < layer_paths.size(); ++l) {
      const std::string& path = layer_paths[l];
      auto size = tree_->file_size(path);
      if (!size) throw InputError(at + ": layer " + path + " is missing from the archive");
      const Compression c = sniff(*tree_, path);
      // An uncompressed layer's digest is its diff_id (checked as it streams);
      // a compressed one must be hashed to be named.
      Descriptor d{.media_type = std::string(c == Compression::kGzip   ? media_type::kOciLayerGzip
                                             : c == Compression::kZstd ? media_type::kOciLayerZstd
                                                                       : media_type::kOciLayer),
                   .digest = c == Compression::kNone ? config.diff_ids[l] : hash_file(*tree_, path),
                   .size = *size};
      paths_.insert_or_assign(d.digest, path);
      layers.push_back(std::move(d));
    }
    ParsedManifest m =
        parse_manifest(serialize_oci_manifest(config_desc, layers), media_type::kOciManifest);
    images_.push_back(ImageEntry{.names = tags, .descriptor = m.descriptor()});
    manifests_.insert_or_assign(m.digest, std::move(m));
  }
}

ParsedManifest DockerArchiveSource::fetch_manifest(const Descriptor& descriptor) {
  auto it = manifests_.find(descriptor.digest);
  if (it == manifests_.end()) {
    throw InputError(tree_->describe() + ": no manifest " + descriptor.digest.str());
  }
  return it->second;
}

std::optional<std::filesystem::path> DockerArchiveSource::identity_file(
    const Descriptor& descriptor) const {
  const auto it = paths_.find(descriptor.digest);
  if (it == paths_.end()) return std::nullopt;
  return tree_->identity_file(it->second);
}

std::unique_ptr<ByteStream> DockerArchiveSource::open_raw(const Descriptor& descriptor) {
  auto it = paths_.find(descriptor.digest);
  if (it == paths_.end()) {
    throw InputError(tree_->describe() + ": no blob " + descriptor.digest.str());
  }
  return tree_->open(it->second);
}

}  // namespace ecr::oci
