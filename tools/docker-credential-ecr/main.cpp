// docker-credential-ecr ACTION: docker's credential-helper protocol for
// Amazon ECR (credential_helper.hpp).
#include <iostream>

#include "credential_helper.hpp"
#include "ecr/cache.hpp"
#include "ecr/error.hpp"

int main(int argc, char** argv) {
  namespace helper = ecr::credential_helper;
  // As every docker-credential-helpers helper: exactly one action, else usage.
  if (argc != 2) {
    std::cout << helper::usage();
    return helper::kExitFailure;
  }
  helper::HelperOptions options;
  try {
    options.cache_dir = ecr::default_cache_root() / "credentials";
  } catch (const ecr::InputError&) {
    // Neither XDG_CACHE_HOME nor HOME: every `get` asks the registry.
  }
  return helper::run(argv[1], std::cin, std::cout, std::cerr, options);
}
