#include "ecr/image_location.hpp"

#include "ecr/error.hpp"
#include "oci/docker_archive.hpp"
#include "oci/oci_archive_sink.hpp"
#include "oci/oci_layout.hpp"

namespace ecr {
namespace {

struct Prefix {
  std::string_view name;
  Transport transport;
};
constexpr Prefix kPrefixes[] = {{"oci:", Transport::kOciLayout},
                                {"oci-archive:", Transport::kOciArchive},
                                {"docker-archive:", Transport::kDockerArchive}};

}  // namespace

ImageLocation ImageLocation::parse(std::string_view text) {
  ImageLocation loc;
  std::string_view rest = text;
  for (const auto& p : kPrefixes) {
    if (text.starts_with(p.name)) {
      loc.transport = p.transport;
      rest = text.substr(p.name.size());
      const auto colon = rest.find(':');
      if (colon != std::string_view::npos) {
        loc.ref = std::string(rest.substr(colon + 1));
        rest = rest.substr(0, colon);
      }
      break;
    }
  }
  if (rest.empty()) throw InputError("image location \"" + std::string(text) + "\" has no path");
  loc.path = std::string(rest);
  return loc;
}

std::string ImageLocation::str() const {
  std::string s;
  for (const auto& p : kPrefixes) {
    if (p.transport == transport) s = p.name;
  }
  s += path.string();
  if (!ref.empty()) s += ":" + ref;
  return s;
}

std::unique_ptr<ImageSource> open_image_source(const ImageLocation& loc,
                                               const DecompressionLimits& limits) {
  std::error_code ec;
  switch (loc.transport) {
    case Transport::kOciLayout:
      return std::make_unique<oci::OciLayoutSource>(std::make_unique<oci::DirectoryTree>(loc.path));
    case Transport::kOciArchive:
      return std::make_unique<oci::OciLayoutSource>(
          std::make_unique<oci::TarTree>(loc.path, limits));
    case Transport::kDockerArchive:
      return std::make_unique<oci::DockerArchiveSource>(
          std::make_unique<oci::TarTree>(loc.path, limits));
    case Transport::kDetect:
      break;
  }
  if (std::filesystem::is_directory(loc.path, ec)) {
    if (!std::filesystem::exists(loc.path / "oci-layout", ec)) {
      throw InputError(loc.path.string() + " is a directory without an oci-layout file");
    }
    return std::make_unique<oci::OciLayoutSource>(std::make_unique<oci::DirectoryTree>(loc.path));
  }
  auto tree = std::make_unique<oci::TarTree>(loc.path, limits);
  if (tree->has("manifest.json")) return std::make_unique<oci::DockerArchiveSource>(std::move(tree));
  if (tree->has("index.json")) return std::make_unique<oci::OciLayoutSource>(std::move(tree));
  throw InputError(loc.path.string() +
                   " is neither a docker-archive (manifest.json) nor an oci-archive (index.json)");
}

std::unique_ptr<ImageSink> open_image_sink(const ImageLocation& loc,
                                           const DecompressionLimits& limits) {
  switch (loc.transport) {
    case Transport::kOciLayout:
      return std::make_unique<oci::OciLayoutSink>(loc.path);
    case Transport::kOciArchive:
      return std::make_unique<oci::OciArchiveSink>(loc.path);
    case Transport::kDockerArchive:
      return std::make_unique<oci::DockerArchiveSink>(loc.path, limits);
    case Transport::kDetect:
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
