// `ecr image inspect SOURCE` and `ecr image copy SOURCE DEST`: a thin shell over
// ecr::inspect_image and ecr::copy_image (include/ecr/image_copy.hpp).
#pragma once

#include <CLI/CLI.hpp>

namespace ecr::cli {

// Adds the "image" subcommand with "inspect" and "copy" to `parent`. The
// callbacks print their output to stdout and throw ecr::Error subclasses
// (InputError, IntegrityError) on failure, for main to map to exit codes.
CLI::App* add_image_command(CLI::App& parent);

}  // namespace ecr::cli
