// `ecr image inspect SOURCE` and `ecr image copy SOURCE DEST`: a thin shell over
// ecr::inspect_image and ecr::copy_image (include/ecr/image_copy.hpp) for
// images on disk, and over ecr::push, ecr::pull and ecr::copy
// (include/ecr/transfer.hpp) when a side is a registry reference
// (`docker://REF`, `ecr:REF` or a full ECR URI; see docs/cli.md).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "ecr/config.hpp"

namespace ecr::cli {

// Adds the "image" subcommand with "inspect" and "copy" to `parent`.
// `client_config` gives the region, profile and endpoint of the global
// options, read when a command touches a registry. The callbacks print their
// output to stdout and throw ecr::Error subclasses (InputError,
// IntegrityError, ServiceError, Cancelled) on failure, for main to map to exit
// codes.
CLI::App* add_image_command(CLI::App& parent, std::function<ClientConfig()> client_config);

}  // namespace ecr::cli
