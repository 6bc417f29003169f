#include "ecr/image_location.hpp"

#include "ecr/error.hpp"
#include "oci/docker_archive.hpp"
#include "oci/oci_archive_sink.hpp"
#include "oci/oci_layout.hpp"

namespace ecr {
namespace {

struct Prefix {
  std::string_view name;
  LocationKind kind;
};
constexpr Prefix kPrefixes[] = {{"oci:", LocationKind::kOciLayout},
                                {"oci-archive:", LocationKind::kOciArchive},
                                {"docker-archive:", LocationKind::kDockerArchive}};
constexpr std::string_view kRegistryPrefixes[] = {"ecr:", "docker://"};

ImageLocation registry_location(std::string_view reference) {
  ImageLocation loc;
  loc.kind = LocationKind::kEcr;
  loc.image = ImageReference::parse(reference);
  return loc;
}

// True for text naming an image in an ECR registry by its host, when no file
// of that name exists (a path wins, as skopeo's bare paths do).
bool is_registry_uri(std::string_view text) {
  std::error_code ignored;
  if (std::filesystem::exists(std::filesystem::path(text), ignored)) return false;
  try {
    return ImageReference::parse(text).host.has_value();
  } catch (const InputError&) {
    return false;
  }
}

std::string registry_not_local(const ImageLocation& loc) {
  return loc.str() +
         " is a registry image; open it with the client configuration "
         "(ecr::copy, ecr::open_registry_source)";
}

}  // namespace

ImageLocation ImageLocation::parse(std::string_view text, LocationKind bare) {
  for (std::string_view prefix : kRegistryPrefixes) {
    if (text.starts_with(prefix)) return registry_location(text.substr(prefix.size()));
  }
  ImageLocation loc;
  std::string_view rest = text;
  bool prefixed = false;
  for (const auto& p : kPrefixes) {
    if (text.starts_with(p.name)) {
      loc.kind = p.kind;
      rest = text.substr(p.name.size());
      const auto colon = rest.find(':');
      if (colon != std::string_view::npos) {
        loc.ref = std::string(rest.substr(colon + 1));
        rest = rest.substr(0, colon);
      }
      prefixed = true;
      break;
    }
  }
  if (!prefixed) {
    if (bare == LocationKind::kEcr || is_registry_uri(text)) return registry_location(text);
    loc.kind = bare;
  }
  if (rest.empty()) throw InputError("image location \"" + std::string(text) + "\" has no path");
  loc.path = std::string(rest);
  return loc;
}

std::string ImageLocation::str() const {
  if (kind == LocationKind::kEcr) return "ecr:" + (image ? image->str() : std::string());
  std::string s;
  for (const auto& p : kPrefixes) {
    if (p.kind == kind) s = p.name;
  }
  s += path.string();
  if (!ref.empty()) s += ":" + ref;
  return s;
}

std::unique_ptr<ImageSource> open_image_source(const ImageLocation& loc,
                                               const DecompressionLimits& limits) {
  std::error_code ec;
  switch (loc.kind) {
    case LocationKind::kOciLayout:
      return std::make_unique<oci::OciLayoutSource>(std::make_unique<oci::DirectoryTree>(loc.path));
    case LocationKind::kOciArchive:
      return std::make_unique<oci::OciLayoutSource>(
          std::make_unique<oci::TarTree>(loc.path, limits));
    case LocationKind::kDockerArchive:
      return std::make_unique<oci::DockerArchiveSource>(
          std::make_unique<oci::TarTree>(loc.path, limits));
    case LocationKind::kEcr:
      throw InputError(registry_not_local(loc));
    case LocationKind::kDetect:
      break;
  }
  if (std::filesystem::is_directory(loc.path, ec)) {
    if (!std::filesystem::exists(loc.path / "oci-layout", ec)) {
      throw InputError(loc.path.string() + " is a directory without an oci-layout file");
    }
    return std::make_unique<oci::OciLayoutSource>(std::make_unique<oci::DirectoryTree>(loc.path));
  }
  auto tree = std::make_unique<oci::TarTree>(loc.path, limits);
  if (tree->has("manifest.json"))
    return std::make_unique<oci::DockerArchiveSource>(std::move(tree));
  if (tree->has("index.json")) return std::make_unique<oci::OciLayoutSource>(std::move(tree));
  throw InputError(loc.path.string() +
                   " is neither a docker-archive (manifest.json) nor an oci-archive (index.json)");
}

std::unique_ptr<ImageSink> open_image_sink(const ImageLocation& loc,
                                           const DecompressionLimits& limits) {
  switch (loc.kind) {
    case LocationKind::kOciLayout:
      return std::make_unique<oci::OciLayoutSink>(loc.path);
    case LocationKind::kOciArchive:
      return std::make_unique<oci::OciArchiveSink>(loc.path);
    case LocationKind::kDockerArchive:
      return std::make_unique<oci::DockerArchiveSink>(loc.path, limits);
    case LocationKind::kEcr:
      throw InputError(registry_not_local(loc));
    case LocationKind::kDetect:
      break;
  }
  std::error_code ec;
  if (std::filesystem::exists(loc.path / "oci-layout", ec)) {
    return std::make_unique<oci::OciLayoutSink>(loc.path);
  }
  throw InputError("destination \"" + loc.path.string() +
                   "\" needs a transport: oci:DIR, oci-archive:FILE or docker-archive:FILE");
}

}  // namespace ecr
