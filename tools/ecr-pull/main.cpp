// ecr-pull [options] SOURCE DEST: an image from ECR into an oci-archive,
// docker-archive or OCI layout.
#include <iostream>

#include "ecr/image_location.hpp"
#include "transfer_cli.hpp"

namespace {

// The kind of a bare DEST path, from --format.
ecr::LocationKind format_kind(const std::string& format) {
  if (format == "oci") return ecr::LocationKind::kOciLayout;
  if (format == "docker-archive") return ecr::LocationKind::kDockerArchive;
  return ecr::LocationKind::kOciArchive;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Pull an image from Amazon ECR.\n"
      "SOURCE: REPO:TAG, REPO@DIGEST or a full ECR image URI.\n"
      "DEST: oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF], or a "
      "bare path written in --format.",
      "ecr-pull"};
  app.footer(ecr::cli::kExitStatusHelp);
  ecr::cli::CommonFlags flags;
  std::string source;
  std::string dest;
  std::string format = "oci-archive";
  bool referrers = false;
  ecr::cli::add_common_options(app, flags);
  app.add_option("--format", format, "format of a bare DEST path")
      ->check(CLI::IsMember({"oci", "oci-archive", "docker-archive"}))
      ->capture_default_str();
  app.add_flag("--referrers", referrers,
               "also pull the image's OCI referrers (ListImageReferrers), and theirs, listing "
               "them in the OCI layout's index.json");
  app.add_option("SOURCE", source, "image to pull")->required();
  app.add_option("DEST", dest, "where to write it")->required();

  return ecr::cli::run(app, argc, argv, "pull", [&] {
    const auto& cancel = ecr::cli::install_cancel_handlers();
    ecr::TransferOptions options = ecr::cli::transfer_options(flags, cancel);
    // As docker pull: the host's image out of an index unless told otherwise,
    // and the image as the registry holds it (no layer recompressed).
    if (!options.platform && !options.all_platforms) options.platform = ecr::host_platform();
    options.compression.algorithm = ecr::Compression::kNone;
    const ecr::ImageLocation from = ecr::ImageLocation::parse(source, ecr::LocationKind::kEcr);
    if (from.kind != ecr::LocationKind::kEcr) {
      throw CLI::ValidationError("SOURCE", "must be an ECR image, not " + from.str());
    }
    const ecr::ImageLocation to = ecr::ImageLocation::parse(dest, format_kind(format));
    if (to.kind == ecr::LocationKind::kEcr) {
      throw CLI::ValidationError("DEST", "must be a local place, not " + to.str());
    }
    if (referrers && to.kind == ecr::LocationKind::kDockerArchive) {
      throw CLI::ValidationError("--referrers",
                                 "needs an OCI layout or oci-archive DEST: a docker-archive "
                                 "cannot hold referrers");
    }
    options.referrers = referrers;
    const ecr::PullResult r = ecr::copy(from, to, ecr::cli::client_config(flags), options);
    ecr::cli::finish_progress();
    if (flags.json) {
      std::cout << ecr::cli::summary_json(r, "bytesDownloaded", referrers) << "\n";
    } else if (!flags.quiet) {
      std::cout << "pulled " << from.image->str() << " " << r.digest.str() << " into " << to.str()
                << "\n";
      if (referrers) std::cout << ecr::cli::referrer_lines(r, "pulled");
    }
  });
}
