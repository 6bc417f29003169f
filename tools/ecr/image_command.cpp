#include "image_command.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>

#include "ecr/error.hpp"
#include "ecr/image_location.hpp"
#include "ecr/inspect.hpp"
#include "ecr/transfer.hpp"
#include "transfer_cli.hpp"

namespace ecr::cli {
namespace {

struct ImageArgs {
  std::string source;
  std::string dest;
  std::string platform;
  std::string compression = "gzip";
  std::size_t threads = 0;
  bool create_repository = false;
  bool referrers = false;
  int jobs = kDefaultTransferJobs;
  std::optional<std::string> cache_dir;
  bool no_cache = false;
  bool quiet = false;
};

constexpr const char* kPlaces =
    "oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF], a path, or a registry "
    "image: docker://REF, ecr:REF or <account>.dkr.ecr.<region>.amazonaws.com/REPO[:TAG|@DIGEST]";

// Registry transfers of `ecr image copy` are stopped by SIGINT/SIGTERM, use
// ecr-pull's blob cache (the default one unless --cache-dir or --no-cache)
// and show ecr-push's progress display on a terminal (nowhere else: the
// command's output is the digest on stdout, and scripts reading it get no
// extra lines on stderr).
TransferOptions transfer_options(const ImageArgs& a) {
  CommonFlags flags;
  flags.jobs = a.jobs;
  if (!a.platform.empty()) flags.platform = a.platform;
  flags.cache_dir = a.cache_dir;
  flags.no_cache = a.no_cache;
  flags.quiet = a.quiet || ::isatty(STDERR_FILENO) == 0;
  TransferOptions o = cli::transfer_options(flags, install_cancel_handlers());
  o.compression = compress_options(a.compression);
  o.compression.threads = a.threads;
  o.create_repository = a.create_repository;
  o.referrers = a.referrers;
  return o;
}

}  // namespace

CLI::App* add_image_command(CLI::App& parent, std::function<ClientConfig()> client_config) {
  auto args = std::make_shared<ImageArgs>();
  CLI::App* image = parent.add_subcommand(
      "image", "Images on disk (OCI layout, oci-archive, docker-archive) and in ECR repositories");
  image->require_subcommand(1);

  CLI::App* inspect = image->add_subcommand(
      "inspect", "Print the manifest digest, media type, config and layers of an image as JSON");
  inspect->add_option("SOURCE", args->source, kPlaces)->required();
  inspect->add_option("--platform", args->platform, "os/arch[/variant] to pick from an index");
  inspect->callback([args, client_config] {
    std::optional<Platform> platform;
    if (!args->platform.empty()) platform = Platform::parse(args->platform);
    const ImageLocation loc = ImageLocation::parse(args->source);
    auto source = loc.kind == LocationKind::kEcr ? open_registry_source(*loc.image, client_config())
                                                 : open_image_source(loc);
    std::cout << inspect_image(*source, loc.ref, platform) << "\n";
  });

  CLI::App* copy = image->add_subcommand(
      "copy", "Copy an image between on-disk formats and ECR repositories; prints its digest");
  copy->add_option("SOURCE", args->source, kPlaces)->required();
  copy->add_option("DEST", args->dest, "as SOURCE; a bare path must be an existing OCI layout")
      ->required();
  copy->add_option("--platform", args->platform, "os/arch[/variant] to pick from an index");
  copy->add_option("--compression", args->compression,
                   "gzip (default), zstd or none: how uncompressed layers are compressed");
  copy->add_option("--threads", args->threads, "compression threads (0: all cores)");
  copy->add_flag("--create-repository", args->create_repository,
                 "registry destination: create the repository if missing");
  copy->add_flag("--referrers", args->referrers,
                 "also copy the image's OCI referrers (signatures, SBOMs) and theirs");
  copy->add_option("--jobs", args->jobs, "registry transfers: blobs transferred at once")
      ->capture_default_str();
  copy->add_option("--cache-dir", args->cache_dir,
                   "registry source: blob cache directory (default $XDG_CACHE_HOME/ecr)");
  copy->add_flag("--no-cache", args->no_cache, "registry source: use no blob cache");
  copy->add_flag("-q,--quiet", args->quiet, "registry transfers: no progress on a terminal");
  copy->callback([args, client_config] {
    const std::string digest = [&] {
      const ProgressFinisher finisher;  // before the digest is printed
      return ecr::copy(ImageLocation::parse(args->source), ImageLocation::parse(args->dest),
                       client_config(), transfer_options(*args))
          .digest.str();
    }();
    std::cout << digest << "\n";
  });
  return image;
}

}  // namespace ecr::cli
