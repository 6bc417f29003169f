#include <algorithm>
#include <array>
#include <set>

#include "core/json_writer.hpp"
#include "core/thread_buffer.hpp"
#include "ecr/error.hpp"
#include "oci/docker_archive.hpp"
#include "oci/tar_writer.hpp"

namespace ecr::oci {
namespace {

// Tags the buffer a layer is stored through (core/thread_buffer.hpp).
struct LayerCopy;

bool is_layer(std::string_view media_type) {
  return media_type.find(".layer.") != std::string_view::npos ||
         media_type.find(".rootfs.") != std::string_view::npos;
}

// Yields `head` first, then the rest of `in`: lets us sniff magic bytes without
// losing them.
class PrefixedStream final : public ByteStream {
 public:
  PrefixedStream(std::vector<std::byte> head, ByteStream& in) : head_(std::move(head)), in_(in) {}
  std::size_t read(std::span<std::byte> out) override {
    if (pos_ < head_.size()) {
      const std::size_t n = std::min(out.size(), head_.size() - pos_);
      std::copy_n(head_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out.begin());
      pos_ += n;
      return n;
    }
    return in_.read(out);
  }

 private:
  std::vector<std::byte> head_;
  std::size_t pos_ = 0;
  ByteStream& in_;
};

// docker load wants "name:tag"; a bare name means :latest, as docker tag does.
std::string repo_tag(const std::string& name) {
  const auto slash = name.rfind('/');
  const auto colon = name.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    return name + ":latest";
  }
  return name;
}

}  // namespace

DockerArchiveSink::DockerArchiveSink(std::filesystem::path file, DecompressionLimits limits)
    : file_(std::move(file)), limits_(limits), staging_(file_) {}

void DockerArchiveSink::write_blob(BlobReader& in) {
  const Descriptor d = in.descriptor();
  const auto path = staging_.path() / std::to_string(counter_++);
  std::vector<std::byte> head(4);
  std::size_t n = 0;
  while (n < head.size()) {
    const std::size_t r = in.read(std::span<std::byte>(head.data() + n, head.size() - n));
    if (r == 0) break;
    n += r;
  }
  head.resize(n);
  const Compression c = is_layer(d.media_type) ? detect_compression(head) : Compression::kNone;
  auto plain =
      decompressing_stream(std::make_unique<PrefixedStream>(std::move(head), in), c, limits_);
  FileWriter out(path);
  Sha256 h;
  const std::span<std::byte> buf = thread_buffer<LayerCopy>(1 << 20);
  while (std::size_t r = plain->read(buf)) {
    h.update(buf.data(), r);
    out.write(std::span<const std::byte>(buf.data(), r));
  }
  // Drain the reader so the blob's own digest is verified even when the
  // compressed stream ended early.
  while (in.read(buf) != 0) {
  }
  out.finish();
  blobs_.insert_or_assign(d.digest, StoredBlob{.path = path, .diff_id = h.finish()});
}

void DockerArchiveSink::write_manifest(const ParsedManifest& manifest,
                                       const std::vector<std::string>& names, bool root) {
  if (manifest.is_index()) {
    throw InputError("a docker-archive holds single-platform images; choose one platform of " +
                     manifest.digest.str());
  }
  if (!root) return;
  Image image{.config = manifest.config->digest, .layers = {}, .repo_tags = {}};
  for (const auto& l : manifest.layers) image.layers.push_back(l.digest);
  for (const auto& n : names) image.repo_tags.push_back(repo_tag(n));
  for (const auto& d : image.layers) {
    if (!blobs_.contains(d)) throw InputError("layer " + d.str() + " was not written");
  }
  if (!blobs_.contains(image.config))
    throw InputError("config " + image.config.str() + " was not written");
  images_.push_back(std::move(image));
}

void DockerArchiveSink::commit() {
  TarWriter tar(file_);
  std::string manifest_json;
  json::Writer w(manifest_json);
  w.begin_array();
  std::set<std::string> written;
  for (const auto& image : images_) {
    const StoredBlob& config_blob = blobs_.at(image.config);
    const std::string config_bytes = [&] {
      auto fd = open_regular_file(config_blob.path);
      FileRangeStream s(fd, 0, oci::file_size(fd->get()));
      return read_stream(s, kMaxManifestBytes, "image config");
    }();
    const ImageConfig config = parse_image_config(config_bytes);
    if (config.diff_ids.size() != image.layers.size()) {
      throw IntegrityError("config " + image.config.str() + " has " +
                           std::to_string(config.diff_ids.size()) + " diff_ids for " +
                           std::to_string(image.layers.size()) + " layers");
    }
    const std::string config_name = std::string(image.config.hex()) + ".json";
    if (written.insert(config_name).second) tar.add_bytes(config_name, config_bytes);
    std::vector<std::string> layer_names;
    for (std::size_t i = 0; i < image.layers.size(); ++i) {
      const StoredBlob& blob = blobs_.at(image.layers[i]);
      if (blob.diff_id != config.diff_ids[i]) {
        throw IntegrityError("layer " + image.layers[i].str() + " uncompresses to " +
                             blob.diff_id.str() + " but the config's diff_ids[" +
                             std::to_string(i) + "] is " + config.diff_ids[i].str());
      }
      const std::string name = std::string(blob.diff_id.hex()) + ".tar";
      if (written.insert(name).second) tar.add_file(name, blob.path);
      layer_names.push_back(name);
    }
    w.begin_object();
    w.key("Config");
    w.string(config_name);
    w.key("RepoTags");
    w.begin_array();
    for (const auto& t : image.repo_tags) w.string(t);
    w.end_array();
    w.key("Layers");
    w.begin_array();
    for (const auto& l : layer_names) w.string(l);
    w.end_array();
    w.end_object();
  }
  w.end_array();
  tar.add_bytes("manifest.json", manifest_json);
  tar.commit();
}

}  // namespace ecr::oci
