#include "transfer/layer_compression.hpp"

#include "ecr/service_errors.hpp"

namespace ecr::transfer {

bool is_uncompressed_layer(std::string_view media_type) noexcept {
  return media_type == media_type::kOciLayer ||
         media_type == "application/vnd.docker.image.rootfs.diff.tar";
}

std::string_view compressed_layer_media_type(Compression algorithm) noexcept {
  return algorithm == Compression::kZstd ? media_type::kOciLayerZstd : media_type::kOciLayerGzip;
}

namespace {

// The compressor's input, reporting the bytes read as the layer's progress
// (every kProgressStep bytes and at the end).
class ProgressStream final : public ByteStream {
 public:
  ProgressStream(ByteStream& in, const Descriptor& layer, TransferContext& context)
      : in_(in), layer_(layer), context_(context) {}

  std::size_t read(std::span<std::byte> out) override {
    const std::size_t n = in_.read(out);
    read_ += static_cast<std::int64_t>(n);
    if (read_ - reported_ >= kProgressStep || (n == 0 && read_ != reported_)) {
      reported_ = read_;
      context_.report(layer_.digest, BlobState::kUploading, read_, layer_.size);
    }
    return n;
  }

 private:
  ByteStream& in_;
  const Descriptor& layer_;
  TransferContext& context_;
  std::int64_t read_ = 0;
  std::int64_t reported_ = 0;
};

}  // namespace

LayerCompression::LayerCompression(const CompressOptions& options,
                                   const std::optional<std::filesystem::path>& cache_dir)
    : options_(options) {
  if (!cache_dir) return;
  try {
    index_.emplace(*cache_dir);
  } catch (const InputError&) {
    // An unusable cache costs the re-push its shortcut, not the transfer.
  }
}

std::optional<SourceFileKey> LayerCompression::key_for(const ImageSource& source,
                                                       const Descriptor& layer) const {
  if (!index_) return std::nullopt;
  try {
    const auto file = source.identity_file(layer);
    if (!file) return std::nullopt;
    // The level and engine are the ones used, so a changed default or engine
    // is a different entry.
    return SourceFileKey::of(*file,
                             "layer " + layer.digest.str() + " " + compressor_name(options_));
  } catch (const InputError&) {
    return std::nullopt;  // not a file we can stat: nothing to remember it by
  }
}

void LayerCompression::add(const ImageSource& source, const Descriptor& layer) {
  if (layers_.contains(layer.digest)) return;
  Layer l{.key = key_for(source, layer), .compressed = std::nullopt};
  if (l.key) {
    if (const auto hit = index_->lookup(*l.key)) {
      l.compressed =
          Descriptor{.media_type = std::string(compressed_layer_media_type(options_.algorithm)),
                     .digest = hit->digest,
                     .size = hit->size};
    }
  }
  layers_.emplace(layer.digest, std::move(l));
}

StreamedBlob LayerCompression::stream(ImageSource& source, const Descriptor& layer,
                                      TransferContext& context) const {
  return StreamedBlob{
      .shown_as = layer,
      .write_to = [&source, layer, &context, options = options_](ByteOutput& out) {
        // The compressor hashes the bytes it reads (the diff_id), so the
        // reader only checks the size and the digest is compared here.
        BlobReader in = source.open_blob(layer, BlobReader::Check::kSizeOnly);
        ProgressStream counted(in, layer, context);
        const CompressedLayer c = compress_layer(
            counted, [&](std::span<const std::byte> bytes) { out.write(bytes); }, options);
        if (c.diff_id != layer.digest) {
          throw IntegrityError("blob " + layer.digest.str() + " does not match its content (" +
                               c.diff_id.str() + ")");
        }
        Descriptor d{.media_type = std::string(compressed_layer_media_type(options.algorithm)),
                     .digest = c.digest,
                     .size = c.size};
        return d;
      }};
}

void LayerCompression::written(const Digest& layer, const Descriptor& compressed) {
  Layer& l = layers_.at(layer);
  l.compressed = compressed;
  if (!l.key) return;
  try {
    index_->record(
        *l.key,
        IndexedDigest{.digest = compressed.digest, .size = compressed.size, .extra = layer.str()});
  } catch (const InputError&) {
    // Best effort, as above: the next push compresses again.
  }
}

ParsedManifest LayerCompression::rewrite(const ParsedManifest& m) const {
  std::vector<Descriptor> layers = m.layers;
  bool rewritten = false;
  for (auto& layer : layers) {
    const auto it = layers_.find(layer.digest);
    if (it == layers_.end() || !it->second.compressed || !is_uncompressed_layer(layer.media_type)) {
      continue;
    }
    Descriptor d = *it->second.compressed;
    d.annotations = layer.annotations;
    layer = std::move(d);
    rewritten = true;
  }
  if (!rewritten) return m;
  return parse_manifest(serialize_oci_manifest(*m.config, layers, m.annotations),
                        media_type::kOciManifest);
}

ParsedManifest LayerCompression::rewrite_index(const ParsedManifest& index,
                                               const std::map<Digest, ParsedManifest>& rewritten) {
  std::vector<Descriptor> children = index.manifests;
  bool changed = false;
  for (auto& child : children) {
    const auto it = rewritten.find(child.digest);
    if (it == rewritten.end() || it->second.digest == child.digest) continue;
    child.digest = it->second.digest;
    child.size = static_cast<std::int64_t>(it->second.raw.size());
    child.media_type = it->second.media_type;
    changed = true;
  }
  if (!changed) return index;
  return parse_manifest(serialize_oci_index(children, index.annotations), media_type::kOciIndex);
}

void check_diff_ids(ImageSource& source, const ParsedManifest& m,
                    const LayerCompression& compression) {
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
    if (compression.contains(layer.digest) && is_uncompressed_layer(layer.media_type) &&
        layer.digest != config.diff_ids[i]) {
      throw IntegrityError("layer " + layer.digest.str() + " has diff_id " + layer.digest.str() +
                           " but the config says " + config.diff_ids[i].str());
    }
  }
}

}  // namespace ecr::transfer
