// `ecr image inspect SOURCE` and `ecr image copy SOURCE DEST`: a thin shell over
// ecr::inspect_image (include/ecr/inspect.hpp) and ecr::copy
// (include/ecr/transfer.hpp) for any two places: images on disk and registry
// references (`docker://REF`, `ecr:REF` or a full ECR URI; see docs/cli.md).
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
