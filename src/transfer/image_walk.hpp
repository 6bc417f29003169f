// The one walk every transfer is (DESIGN.md, "The central abstraction"):
// resolve the root, choose the platform, plan the blobs, ask the sink what it
// has, compress what the sink wants compressed, move the rest, write the
// manifests children first. Places differ only inside their ImageSource and
// ImageSink; nothing here asks which place it is talking to.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ecr/image.hpp"
#include "ecr/transfer.hpp"

namespace ecr::transfer {

// Indexes nest at most this deep: an index of indexes of manifests (as
// BuildKit's attestation indexes and some multi-platform images are).
inline constexpr int kMaxIndexLevels = 2;

// What a transfer writes.
struct ImagePlan {
  // Every manifest and index, each digest once, children before the indexes
  // that name them; the root last.
  std::vector<ParsedManifest> manifests;
  // Configs and layers, each digest once, in manifest order; the
  // referrers' after the image's.
  std::vector<Descriptor> blobs;
  // The referrers carried (plan_referrers): their manifests, each digest
  // once, an index's children before it, written after the root; the
  // referrers themselves, nearest to the image first; and the blobs they
  // name, which are copied as they are, never compressed.
  std::vector<ParsedManifest> referrer_manifests;
  std::vector<Descriptor> referrers;
  std::set<Digest> referrer_blobs;

  const ParsedManifest& root() const { return manifests.back(); }
};

// Resolves `ref` of `source` and plans it for `sink`. With `platform`, an
// index is narrowed to its matching manifest. Throws PlatformError (no
// manifest for the platform; an index for a sink that holds single-platform
// images), InputError (indexes nested deeper than kMaxIndexLevels) and what
// the source throws.
ImagePlan plan_image(ImageSource& source, std::string_view ref, const ImageSink& sink,
                     const std::optional<Platform>& platform);

// Adds to `plan` the referrers `source` holds for its manifests, and theirs
// in turn, breadth first, each digest once. Throws InputError for a referrer
// more than kMaxReferrerDepth from the image, and what the source throws.
void plan_referrers(ImageSource& source, ImagePlan& plan);

// Copies `ref` of `source` into `sink` without committing it. The root is
// named `names`, or (nullopt) the names the source lists for it. Progress,
// cancellation and byte counts go through `context`. Throws as ecr::copy.
TransferResult copy_image(ImageSource& source, std::string_view ref, ImageSink& sink,
                          const std::optional<std::vector<std::string>>& names,
                          const TransferOptions& options, TransferContext& context);

}  // namespace ecr::transfer
