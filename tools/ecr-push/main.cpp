// ecr-push [options] SOURCE DEST: an image from an OCI layout, oci-archive or
// docker-archive into an ECR repository through the layer upload APIs.
#include <iostream>

#include "ecr/image_location.hpp"
#include "transfer_cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "Push an image to Amazon ECR.\n"
      "SOURCE: oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF] or a "
      "bare path (format detected).\n"
      "DEST: REPO[:TAG] or a full ECR image URI "
      "(<account>.dkr.ecr.<region>.amazonaws.com/REPO[:TAG]).",
      "ecr-push"};
  app.footer(ecr::cli::kExitStatusHelp);
  ecr::cli::CommonFlags flags;
  std::string source;
  std::string dest;
  bool create_repository = false;
  std::vector<std::string> tags;
  std::string compression = "gzip";
  bool referrers = false;
  ecr::cli::add_common_options(app, flags);
  app.add_flag("--create-repository", create_repository, "create the repository if missing");
  app.add_option("--tag", tags, "another tag for the image (repeatable)");
  app.add_option("--compression", compression, "for uncompressed layers: gzip|zstd|none")
      ->check(CLI::IsMember({"gzip", "zstd", "none"}))
      ->capture_default_str();
  app.add_flag("--referrers", referrers,
               "also push the image's OCI referrers (signatures, SBOMs) found in an OCI "
               "layout's index.json, and theirs");
  app.add_option("SOURCE", source, "image to push")->required();
  app.add_option("DEST", dest, "ECR repository[:tag]")->required();

  return ecr::cli::run(app, argc, argv, "push", [&] {
    const auto& cancel = ecr::cli::install_cancel_handlers();
    ecr::TransferOptions options = ecr::cli::transfer_options(flags, cancel);
    options.create_repository = create_repository;
    options.tags = tags;
    options.compression = ecr::cli::compress_options(compression);
    options.referrers = referrers;
    const ecr::ImageLocation from = ecr::ImageLocation::parse(source);
    const ecr::ImageLocation to = ecr::ImageLocation::parse(dest, ecr::LocationKind::kEcr);
    if (to.kind != ecr::LocationKind::kEcr) {
      throw CLI::ValidationError("DEST", "must be an ECR repository, not " + to.str());
    }
    const ecr::PushResult r = ecr::copy(from, to, ecr::cli::client_config(flags), options);
    ecr::cli::finish_progress();
    if (flags.json) {
      std::cout << ecr::cli::summary_json(r, "bytesUploaded", referrers) << "\n";
    } else if (!flags.quiet) {
      std::cout << "pushed " << to.image->str() << " " << r.digest.str() << "\n";
      if (referrers) std::cout << ecr::cli::referrer_lines(r, "pushed");
    }
    if (referrers && from.kind == ecr::LocationKind::kDockerArchive && !flags.quiet) {
      std::cerr << "ecr-push: a docker-archive holds no referrers; the image was pushed alone\n";
    }
  });
}
