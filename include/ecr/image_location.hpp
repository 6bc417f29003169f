// Where images live, named as skopeo names them:
//   oci:DIR[:REF]  oci-archive:FILE[:REF]  docker-archive:FILE[:REF]
//   ecr:REPO[:TAG|@DIGEST]  docker://URI
//   <account>.dkr.ecr.<region>.amazonaws.com/REPO[:TAG|@DIGEST]
// or a bare path whose content says which (sources only).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ecr/compression.hpp"
#include "ecr/image.hpp"
#include "ecr/reference.hpp"

namespace ecr {

enum class LocationKind { kOciLayout, kOciArchive, kDockerArchive, kEcr, kDetect };

struct ImageLocation {
  LocationKind kind = LocationKind::kDetect;
  // The directory or file (all kinds but kEcr).
  std::filesystem::path path;
  // An image in the store: a ref name or tag, "@N", or a digest; empty = the
  // only one (all kinds but kEcr).
  std::string ref;
  // The repository and tag or digest (kEcr).
  std::optional<ImageReference> image;

  // Parses "kind:path[:ref]" (split at the first ':' after the prefix, as
  // skopeo does, so a docker ref "name:tag" keeps its colon), "ecr:REF" or
  // "docker://REF" (an ImageReference), or text without a prefix: a full ECR
  // image URI that is not an existing path is kEcr; otherwise the text is
  // read as `bare` says (kDetect: a path whose content says which; kEcr: an
  // ImageReference such as "repo:tag"; a file kind: a path of that kind).
  // Throws InputError for an empty path or a bad reference (naming the part).
  static ImageLocation parse(std::string_view text, LocationKind bare = LocationKind::kDetect);
  std::string str() const;
};

// Opens a local source. A kDetect location is looked at: a directory with an
// `oci-layout` file is an OCI layout; a tar with manifest.json is a
// docker-archive; a tar with index.json an oci-archive. Throws InputError
// when the location holds none of these, for hostile content (see TarTree),
// and for kEcr (registries are opened with the client configuration:
// ecr::copy and open_registry_source in transfer.hpp).
std::unique_ptr<ImageSource> open_image_source(const ImageLocation& location,
                                               const DecompressionLimits& limits = {});
// Opens a local sink; nothing appears at the location until its commit(). A
// kDetect location is accepted only when it is an existing OCI layout.
// Throws InputError as open_image_source.
std::unique_ptr<ImageSink> open_image_sink(const ImageLocation& location,
                                           const DecompressionLimits& limits = {});

}  // namespace ecr
