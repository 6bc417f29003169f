// inspect: what a source holds, as JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ecr/image.hpp"
#include "ecr/manifest.hpp"

namespace ecr {

// JSON describing the image `ref`: {"digest","mediaType","names",
// "config":{...},"layers":[{"digest","size","mediaType"}]} or, for an index,
// "manifests":[{"digest","size","mediaType","platform"}]. With `platform`, an
// index's matching child is described instead (InputError when none matches).
std::string inspect_image(ImageSource& source, std::string_view ref,
                          const std::optional<Platform>& platform = std::nullopt,
                          bool pretty = true);

}  // namespace ecr
