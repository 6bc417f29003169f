// ecr-pull [options] SOURCE DEST: an image from ECR into an oci-archive,
// docker-archive or OCI layout.
#include <iostream>

#include "ecr/image_location.hpp"
#include "transfer_cli.hpp"

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
  ecr::cli::add_common_options(app, flags);
  app.add_option("--format", format, "format of a bare DEST path")
      ->check(CLI::IsMember({"oci", "oci-archive", "docker-archive"}))
      ->capture_default_str();
  app.add_option("SOURCE", source, "image to pull")->required();
  app.add_option("DEST", dest, "where to write it")->required();

  return ecr::cli::run(app, argc, argv, "pull", [&] {
    const auto& cancel = ecr::cli::install_cancel_handlers();
    const ecr::TransferOptions options = ecr::cli::transfer_options(flags, cancel);
    const ecr::ImageReference ref = ecr::cli::parse_registry_reference(source);
    std::string location = dest;
    if (ecr::ImageLocation::parse(dest).transport == ecr::Transport::kDetect) {
      location = format + ":" + dest;
    }
    const ecr::PullResult r = ecr::pull(ref, location, ecr::cli::client_config(flags), options);
    ecr::cli::finish_progress();
    if (flags.json) {
      std::cout << ecr::cli::summary_json(r, "bytesDownloaded") << "\n";
    } else if (!flags.quiet) {
      std::cout << "pulled " << ref.str() << " " << r.digest.str() << " into " << location << "\n";
    }
  });
}
