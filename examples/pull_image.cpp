// Pulls an image from Amazon ECR into a local file or directory and prints the
// digest of its manifest. Ctrl-C stops the transfer cleanly: nothing partial
// is left at DEST.
//
//   pull_image SOURCE DEST
//
// SOURCE: REPOSITORY[:TAG], REPOSITORY@sha256:... or a full ECR image URI.
// DEST:   oci:DIR, oci-archive:FILE or docker-archive:FILE (with an optional
//         :REF naming the image inside it).
//
// Credentials, region and endpoint come from the environment, as for
// push_image.
#include <ecr/transfer.hpp>

#include <atomic>
#include <csignal>
#include <iostream>

namespace {

// Lock-free, so the signal handler may set it; the engine polls it.
std::atomic<bool> cancel_requested{false};

extern "C" void request_cancel(int) { cancel_requested = true; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: pull_image SOURCE DEST\n";
    return 2;
  }
  std::signal(SIGINT, request_cancel);
  std::signal(SIGTERM, request_cancel);
  try {
    ecr::TransferOptions options;
    options.cancel = &cancel_requested;
    const ecr::PullResult result =
        ecr::pull(ecr::ImageReference::parse(argv[1]), argv[2], ecr::ClientConfig{}, options);
    std::cout << result.digest.str() << '\n';
    return 0;
  } catch (const ecr::Cancelled&) {
    std::cerr << "pull_image: cancelled\n";
    return 130;
  } catch (const ecr::ServiceError& e) {
    std::cerr << "pull_image: " << e.name() << ": " << e.message() << '\n';
  } catch (const ecr::Error& e) {
    std::cerr << "pull_image: " << e.what() << '\n';
  }
  return 1;
}
