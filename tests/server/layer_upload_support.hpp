// Shared by the server suites that need a layer in a repository before the
// behaviour they test.
#pragma once

#include <string>

#include "ecr/client.hpp"

namespace ecr::testing {

// Uploads `bytes` as one layer part of `repo` through the ECR API and
// completes the upload; returns the layer's digest.
std::string upload_blob(Client& client, const std::string& repo, const std::string& bytes);

}  // namespace ecr::testing
