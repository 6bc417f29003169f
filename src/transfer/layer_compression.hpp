// The one compression adapter: uncompressed layers (the tars `docker save`
// writes, and OCI layouts that hold tar layers) headed for a sink that wants
// compressed layers are compressed on the way, by every transfer alike. Each
// is compressed with the deterministic compressor (include/ecr/compression.hpp)
// as the sink writes it (ImageSink::write_streamed_blob: a registry uploads
// the parts as they come; a local sink stages them), so its bytes are read
// once and its digest is finished at the end. The image's manifests are then
// rewritten from the computed digests.
//
// The digest index (include/ecr/cache.hpp) remembers "this layer of this
// source file, compressed this way, is blob D of size S", keyed by the
// source's identity_file(), so a re-push of an unchanged tarball neither
// compresses nor hashes anything: the sink's has_blobs sees D, and the
// manifests are rebuilt from it.
#pragma once

#include <filesystem>
#include <map>
#include <optional>

#include "cache/digest_index.hpp"
#include "ecr/compression.hpp"
#include "ecr/image.hpp"

namespace ecr::transfer {

// True for the media types of uncompressed layers (OCI and Docker).
bool is_uncompressed_layer(std::string_view media_type) noexcept;

// The media type of a layer compressed with `algorithm`.
std::string_view compressed_layer_media_type(Compression algorithm) noexcept;

class LayerCompression {
 public:
  // `cache_dir` unset: no digest index.
  LayerCompression(const CompressOptions& options,
                   const std::optional<std::filesystem::path>& cache_dir);

  // Adds `layer` of `source` (once per digest) and looks it up in the digest
  // index under the source's identity_file().
  void add(const ImageSource& source, const Descriptor& layer);
  bool contains(const Digest& layer) const { return layers_.contains(layer); }
  // The blob `layer` becomes: from the index, or once written; nullopt before.
  const std::optional<Descriptor>& compressed(const Digest& layer) const {
    return layers_.at(layer).compressed;
  }

  // `layer` of `source` compressed as a sink writes it, reporting the
  // uncompressed bytes read as `layer`'s progress.
  StreamedBlob stream(ImageSource& source, const Descriptor& layer, TransferContext& context) const;
  // Remembers the blob written for `layer` (in the index too, when there is
  // one: best effort, a cache that cannot be written does not fail a
  // transfer). Safe to call for different layers from several threads.
  void written(const Digest& layer, const Descriptor& compressed);

  // `m` with its uncompressed layers replaced by their compressed blobs (all
  // known by now); `m` itself when it has none.
  ParsedManifest rewrite(const ParsedManifest& m) const;
  // `index` with each child replaced by its rewritten form in `rewritten`
  // (by the child's original digest); `index` itself when none changed.
  static ParsedManifest rewrite_index(const ParsedManifest& index,
                                      const std::map<Digest, ParsedManifest>& rewritten);

 private:
  struct Layer {
    std::optional<SourceFileKey> key;      // its digest-index entry, when indexed
    std::optional<Descriptor> compressed;  // from the index, or once written
  };
  std::optional<SourceFileKey> key_for(const ImageSource& source, const Descriptor& layer) const;

  CompressOptions options_;
  std::optional<DigestIndex> index_;
  std::map<Digest, Layer> layers_;
};

// Reads `m`'s config and checks that its diff_ids name `m`'s layers: as many
// as there are layers, and each uncompressed layer the compressor will read
// (its digest is its diff_id) at its position. Throws InputError (diff_id
// count) or IntegrityError naming the layer.
void check_diff_ids(ImageSource& source, const ParsedManifest& m,
                    const LayerCompression& compression);

}  // namespace ecr::transfer
