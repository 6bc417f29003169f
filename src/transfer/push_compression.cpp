#include "transfer/push_compression.hpp"

#include <system_error>

#include "ecr/errors.hpp"

namespace ecr::transfer {

bool is_uncompressed_layer(std::string_view media_type) noexcept {
  return media_type == media_type::kOciLayer ||
         media_type == "application/vnd.docker.image.rootfs.diff.tar";
}

namespace {

std::string_view compressed_media_type(Compression algorithm) {
  return algorithm == Compression::kZstd ? media_type::kOciLayerZstd : media_type::kOciLayerGzip;
}

// The compressor's input, reporting the bytes read as the layer's progress
// (every kProgressStep bytes and at the end).
class ProgressStream final : public ByteStream {
 public:
  ProgressStream(ByteStream& in, const Descriptor& layer, Reporter& reporter)
      : in_(in), layer_(layer), reporter_(reporter) {}

  std::size_t read(std::span<std::byte> out) override {
    const std::size_t n = in_.read(out);
    read_ += static_cast<std::int64_t>(n);
    if (read_ - reported_ >= kProgressStep || (n == 0 && read_ != reported_)) {
      reported_ = read_;
      reporter_.report(layer_.digest, BlobState::kUploading, read_, layer_.size);
    }
    return n;
  }

 private:
  ByteStream& in_;
  const Descriptor& layer_;
  Reporter& reporter_;
  std::int64_t read_ = 0;
  std::int64_t reported_ = 0;
};

}  // namespace

CompressionPlan::CompressionPlan(const CompressOptions& options,
                                 const std::optional<std::filesystem::path>& cache_dir,
                                 const std::optional<std::filesystem::path>& source_path)
    : options_(options), source_path_(source_path) {
  if (!cache_dir || !source_path) return;
  try {
    index_.emplace(*cache_dir);
  } catch (const InputError&) {
    // An unusable cache costs the re-push its shortcut, not the push.
  }
}

std::optional<SourceFileKey> CompressionPlan::key_for(const Descriptor& layer) const {
  if (!index_) return std::nullopt;
  // A layout directory holds the layer as its own file; an archive is one file.
  std::error_code ec;
  const std::filesystem::path file = std::filesystem::is_directory(*source_path_, ec)
                                         ? *source_path_ / "blobs" /
                                               std::string(layer.digest.algorithm()) /
                                               std::string(layer.digest.hex())
                                         : *source_path_;
  try {
    return SourceFileKey::of(file, "layer " + layer.digest.str() + " " +
                                       std::string(compression_name(options_.algorithm)) +
                                       " level " + std::to_string(options_.level));
  } catch (const InputError&) {
    return std::nullopt;  // not a file we can stat: nothing to remember it by
  }
}

void CompressionPlan::add(const Descriptor& layer) {
  if (layers_.contains(layer.digest)) return;
  LayerCompression c{.source = layer, .key = key_for(layer), .compressed = std::nullopt};
  if (c.key) {
    if (const auto hit = index_->lookup(*c.key)) {
      c.compressed =
          Descriptor{.media_type = std::string(compressed_media_type(options_.algorithm)),
                     .digest = hit->digest,
                     .size = hit->size};
    }
  }
  layers_.emplace(layer.digest, std::move(c));
}

BlobProducer CompressionPlan::compress(ImageSource& source, const Descriptor& layer,
                                       Reporter& reporter) const {
  return [&source, &layer, &reporter, options = options_](PartWriter& out) {
    // The compressor hashes the bytes it reads (the diff_id), so the reader
    // only checks the size and the digest is compared here.
    BlobReader in = source.open_blob(layer, BlobReader::Check::kSizeOnly);
    ProgressStream counted(in, layer, reporter);
    const CompressedLayer c = compress_layer(
        counted, [&](std::span<const std::byte> bytes) { out.write(bytes); }, options);
    if (c.diff_id != layer.digest) {
      throw IntegrityError("blob " + layer.digest.str() + " does not match its content (" +
                           c.diff_id.str() + ")");
    }
    return Descriptor{.media_type = std::string(compressed_media_type(options.algorithm)),
                      .digest = c.digest,
                      .size = c.size};
  };
}

void CompressionPlan::uploaded(const Digest& layer, const Descriptor& compressed) {
  LayerCompression& c = layers_.at(layer);
  c.compressed = compressed;
  if (!c.key) return;
  try {
    index_->record(
        *c.key,
        IndexedDigest{.digest = compressed.digest, .size = compressed.size, .extra = layer.str()});
  } catch (const InputError&) {
    // Best effort, as above: the next push compresses again.
  }
}

ParsedManifest CompressionPlan::rewrite(const ParsedManifest& m) const {
  std::vector<Descriptor> layers = m.layers;
  bool rewritten = false;
  for (auto& layer : layers) {
    const auto it = layers_.find(layer.digest);
    if (it == layers_.end() || !is_uncompressed_layer(layer.media_type)) continue;
    Descriptor d = *it->second.compressed;
    d.annotations = layer.annotations;
    layer = std::move(d);
    rewritten = true;
  }
  if (!rewritten) return m;
  return parse_manifest(serialize_oci_manifest(*m.config, layers, m.annotations),
                        media_type::kOciManifest);
}

ParsedManifest CompressionPlan::rewrite_index(const ParsedManifest& index,
                                              const std::vector<ParsedManifest>& children) {
  std::vector<Descriptor> descriptors = index.manifests;
  bool rewritten = false;
  for (std::size_t i = 0; i < descriptors.size() && i < children.size(); ++i) {
    Descriptor& child = descriptors[i];
    if (children[i].digest == child.digest) continue;
    child.digest = children[i].digest;
    child.size = static_cast<std::int64_t>(children[i].raw.size());
    child.media_type = children[i].media_type;
    rewritten = true;
  }
  if (!rewritten) return index;
  return parse_manifest(serialize_oci_index(descriptors, index.annotations), media_type::kOciIndex);
}

void check_diff_ids(ImageSource& source, const ParsedManifest& m, const CompressionPlan& plan) {
  BlobReader reader = source.open_blob(*m.config);
  const ImageConfig config = parse_image_config(reader.read_all(kMaxManifestBytes));
  if (config.diff_ids.size() != m.layers.size()) {
    throw InputError("manifest " + m.digest.str() + " has " + std::to_string(m.layers.size()) +
                     " layers but its config has " + std::to_string(config.diff_ids.size()) +
                     " diff_ids");
  }
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const Descriptor& layer = m.layers[i];
    // The compressor's diff_id is the layer's digest (the reader verifies it).
    if (plan.contains(layer.digest) && is_uncompressed_layer(layer.media_type) &&
        layer.digest != config.diff_ids[i]) {
      throw IntegrityError("layer " + layer.digest.str() + " has diff_id " + layer.digest.str() +
                           " but the config says " + config.diff_ids[i].str());
    }
  }
}

}  // namespace ecr::transfer
