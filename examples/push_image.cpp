// Pushes a local image to an Amazon ECR repository and prints the digest of
// the manifest it wrote.
//
//   push_image SOURCE DEST
//
// SOURCE: oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF] or a
//         bare path (the format is detected).
// DEST:   REPOSITORY[:TAG] or a full ECR image URI
//         (123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0).
//
// Credentials, region and endpoint come from where the AWS CLI finds them:
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws, AWS_REGION,
// AWS_ENDPOINT_URL_ECR (docs/library.md lists the whole chain).
#include <ecr/transfer.hpp>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: push_image SOURCE DEST\n";
    return 2;
  }
  try {
    // Nothing set: region, endpoint and credentials are resolved from the
    // environment. Set config.region, config.profile, ... to override it.
    ecr::ClientConfig config;

    ecr::TransferOptions options;
    options.create_repository = true;
    // Called from the engine's worker threads, one call at a time.
    options.progress = [](const ecr::ProgressEvent& event) {
      std::cerr << event.digest.hex().substr(0, 12) << ' ' << ecr::blob_state_name(event.state)
                << ' ' << event.bytes_done << '/' << event.bytes_total << '\n';
    };

    const ecr::PushResult result =
        ecr::push(argv[1], ecr::ImageReference::parse(argv[2]), config, options);
    std::cout << result.digest.str() << '\n';
    return 0;
  } catch (const ecr::ServiceError& e) {
    // The registry said no: e.name() is the AWS error name, e.g.
    // "RepositoryNotFoundException".
    std::cerr << "push_image: " << e.name() << ": " << e.message() << '\n';
  } catch (const ecr::Error& e) {
    // Bad input, no answer from the network, or bytes that do not match
    // their digest.
    std::cerr << "push_image: " << e.what() << '\n';
  }
  return 1;
}
