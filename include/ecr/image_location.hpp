// Where images live on disk, named as skopeo names them:
//   oci:DIR[:REF]  oci-archive:FILE[:REF]  docker-archive:FILE[:REF]
// or a bare path whose content says which (sources only).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "ecr/compression.hpp"
#include "ecr/image.hpp"

namespace ecr {

enum class Transport { kOciLayout, kOciArchive, kDockerArchive, kDetect };

struct ImageLocation {
  Transport transport = Transport::kDetect;
  std::filesystem::path path;
  // An image in the store: a ref name or tag, "@N", or a digest; empty = the only one.
  std::string ref;

  // Parses "transport:path[:ref]" (split at the first ':' after the transport,
  // as skopeo does, so a docker ref "name:tag" keeps its colon), or a bare path
  // (kDetect). Throws InputError for an empty path.
  static ImageLocation parse(std::string_view text);
  std::string str() const;
};

// Opens a source. A kDetect location is looked at: a directory with an
// `oci-layout` file is an OCI layout; a tar with manifest.json is a
// docker-archive; a tar with index.json an oci-archive. Throws InputError
// when the location holds none of these, or for hostile content (see TarTree).
std::unique_ptr<ImageSource> open_image_source(const ImageLocation& location,
                                               const DecompressionLimits& limits = {});
// Opens a sink; nothing appears at the location until its commit(). A
// kDetect location is accepted only when it is an existing OCI layout.
std::unique_ptr<ImageSink> open_image_sink(const ImageLocation& location,
                                           const DecompressionLimits& limits = {});

}  // namespace ecr
