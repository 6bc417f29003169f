// The ImageSink defaults.
#include "ecr/image.hpp"

namespace ecr {

bool ImageSink::place_file(const Descriptor&, const std::filesystem::path&) { return false; }

}  // namespace ecr
