// copy(source, sink): the one transfer between any two places images live, and
// inspect, which describes what a source holds.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ecr/compression.hpp"
#include "ecr/image.hpp"
#include "ecr/image_location.hpp"
#include "ecr/manifest.hpp"

namespace ecr {

struct CopyOptions {
  // Pick this platform from an index; unset keeps the whole index (a sink that
  // cannot hold an index then refuses with InputError listing the platforms).
  std::optional<Platform> platform;
  // How uncompressed layers are compressed for sinks that want compressed
  // layers; kNone keeps them uncompressed. Compressed layers are never
  // recompressed (that would change digests).
  CompressOptions compression{};
  // Names for the destination image; empty = the names the source lists.
  std::vector<std::string> names;
  // Caps for decompressing layers (docker-archive sinks).
  DecompressionLimits limits{};
};

struct CopyResult {
  Digest digest;           // of the manifest or index written
  std::string media_type;
};

// Copies the image `ref` of `source` into `sink` without committing it (the
// caller commits, possibly after several copies). Throws InputError (no such
// image, platform not in the index, wrong content), IntegrityError (a blob
// that does not match its digest, a layer whose diff_id disagrees with the
// config) and whatever the sink throws.
CopyResult copy_image(ImageSource& source, std::string_view ref, ImageSink& sink,
                      const CopyOptions& options = {});

// Opens both locations, copies and commits. The ref of `from` picks the
// image; the ref of `to`, when given, names it.
CopyResult copy_image(const ImageLocation& from, const ImageLocation& to,
                      const CopyOptions& options = {});

// JSON describing the image `ref`: {"digest","mediaType","names",
// "config":{...},"layers":[{"digest","size","mediaType"}]} or, for an index,
// "manifests":[{"digest","size","mediaType","platform"}]. With `platform`, an
// index's matching child is described instead (InputError when none matches).
std::string inspect_image(ImageSource& source, std::string_view ref,
                          const std::optional<Platform>& platform = std::nullopt,
                          bool pretty = true);

}  // namespace ecr
