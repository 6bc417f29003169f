// Layers a push compresses on the way: the uncompressed tars `docker save`
// writes (and OCI layouts that hold tar layers). Registries hold compressed
// layers, so each one is compressed with the deterministic compressor
// (include/ecr/compression.hpp) in the same pass that feeds its upload parts:
// its bytes are read once, and the digest and size of the compressed blob are
// finished during the upload. The image's manifests are rewritten afterwards
// from the computed digests, byte for byte as copy_image writes them.
//
// The digest index (include/ecr/cache.hpp) remembers "this layer of this
// source file, compressed this way, is blob D of size S", so a re-push of an
// unchanged tarball neither compresses nor hashes anything: the registry's
// BatchCheckLayerAvailability sees D, and the manifests are rebuilt from it.
#pragma once

#include <filesystem>
#include <map>
#include <optional>

#include "ecr/cache.hpp"
#include "ecr/compression.hpp"
#include "ecr/image.hpp"
#include "transfer/layer_upload.hpp"
#include "transfer/progress.hpp"

namespace ecr::transfer {

// True for the media types of uncompressed layers (OCI and Docker).
bool is_uncompressed_layer(std::string_view media_type) noexcept;

// One uncompressed layer and the compressed blob it becomes.
struct LayerCompression {
  Descriptor source;                     // the uncompressed layer (digest = diff_id)
  std::optional<SourceFileKey> key;      // its digest-index entry, when indexed
  std::optional<Descriptor> compressed;  // from the index, or once uploaded
};

class CompressionPlan {
 public:
  // `cache_dir` unset, or `source_path` unset (a source that is not a file or
  // directory): no digest index.
  CompressionPlan(const CompressOptions& options,
                  const std::optional<std::filesystem::path>& cache_dir,
                  const std::optional<std::filesystem::path>& source_path);

  // Adds `layer` (once per digest) and looks it up in the digest index.
  void add(const Descriptor& layer);
  bool contains(const Digest& layer) const { return layers_.contains(layer); }
  LayerCompression& at(const Digest& layer) { return layers_.at(layer); }
  bool empty() const noexcept { return layers_.empty(); }

  // A producer that compresses `layer` from `source` into an upload's parts,
  // reporting the uncompressed bytes it has read as `layer`'s kUploading
  // progress (for upload_blob's UploadProgress::kByProducer).
  BlobProducer compress(ImageSource& source, const Descriptor& layer, Reporter& reporter) const;
  // Remembers the uploaded compressed blob (in the index too, when there is
  // one: best effort, a cache that cannot be written does not fail a push).
  void uploaded(const Digest& layer, const Descriptor& compressed);

  // `m` with its uncompressed layers replaced by their compressed blobs (all
  // known by now), serialized as copy_image does; `m` itself when it has none.
  ParsedManifest rewrite(const ParsedManifest& m) const;
  // `index` with its children replaced by their rewritten forms (in order).
  static ParsedManifest rewrite_index(const ParsedManifest& index,
                                      const std::vector<ParsedManifest>& children);

 private:
  std::optional<SourceFileKey> key_for(const Descriptor& layer) const;

  CompressOptions options_;
  std::optional<DigestIndex> index_;
  std::optional<std::filesystem::path> source_path_;
  std::map<Digest, LayerCompression> layers_;
};

// Reads `m`'s config and checks that each layer in `plan` is the one the
// config's diff_ids name at its position, as copy_image does. Throws
// InputError (diff_id count) or IntegrityError naming the layer.
void check_diff_ids(ImageSource& source, const ParsedManifest& m, const CompressionPlan& plan);

}  // namespace ecr::transfer
