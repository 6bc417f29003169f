#include "image_command.hpp"

#include <iostream>
#include <memory>
#include <optional>

#include "ecr/error.hpp"
#include "ecr/image_copy.hpp"
#include "ecr/image_location.hpp"

namespace ecr::cli {
namespace {

struct ImageArgs {
  std::string source;
  std::string dest;
  std::string platform;
  std::string compression = "gzip";
  std::size_t threads = 0;
};

CopyOptions copy_options(const ImageArgs& a) {
  CopyOptions o;
  if (!a.platform.empty()) o.platform = Platform::parse(a.platform);
  if (a.compression == "zstd") {
    o.compression.algorithm = Compression::kZstd;
    o.compression.level = 3;
  } else if (a.compression == "none") {
    o.compression.algorithm = Compression::kNone;
  } else if (a.compression != "gzip") {
    throw InputError("--compression must be gzip, zstd or none (found \"" + a.compression + "\")");
  }
  o.compression.threads = a.threads;
  return o;
}

}  // namespace

CLI::App* add_image_command(CLI::App& parent) {
  auto args = std::make_shared<ImageArgs>();
  CLI::App* image = parent.add_subcommand("image", "Images on disk: OCI layout, oci-archive, docker-archive");
  image->require_subcommand(1);

  CLI::App* inspect = image->add_subcommand(
      "inspect", "Print the manifest digest, media type, config and layers of an image as JSON");
  inspect->add_option("SOURCE", args->source,
                      "oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF] or a path")
      ->required();
  inspect->add_option("--platform", args->platform, "os/arch[/variant] to pick from an index");
  inspect->callback([args] {
    const ImageLocation loc = ImageLocation::parse(args->source);
    auto source = open_image_source(loc);
    std::optional<Platform> platform;
    if (!args->platform.empty()) platform = Platform::parse(args->platform);
    std::cout << inspect_image(*source, loc.ref, platform) << "\n";
  });

  CLI::App* copy = image->add_subcommand("copy", "Copy an image between on-disk formats");
  copy->add_option("SOURCE", args->source, "where the image is")->required();
  copy->add_option("DEST", args->dest, "where it goes (oci:, oci-archive:, docker-archive:)")
      ->required();
  copy->add_option("--platform", args->platform, "os/arch[/variant] to pick from an index");
  copy->add_option("--compression", args->compression,
                   "gzip (default), zstd or none: how uncompressed layers are compressed");
  copy->add_option("--threads", args->threads, "compression threads (0: all cores)");
  copy->callback([args] {
    const CopyResult r = copy_image(ImageLocation::parse(args->source),
                                    ImageLocation::parse(args->dest), copy_options(*args));
    std::cout << r.digest.str() << "\n";
  });
  return image;
}

}  // namespace ecr::cli
