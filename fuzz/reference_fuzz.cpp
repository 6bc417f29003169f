// libFuzzer: the image names users type: ImageReference (ECR and registry
// references, include/ecr/reference.hpp), the ECR registry host forms
// (parse_ecr_registry_host) and ImageLocation (the tools' SOURCE and DEST,
// include/ecr/image_location.hpp). Nothing may crash; bad input is an
// InputError; a parsed reference prints back to a name that parses to the
// same reference.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ecr/error.hpp"
#include "ecr/image_location.hpp"
#include "ecr/reference.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const ecr::ImageReference ref = ecr::ImageReference::parse(text);
    const std::string printed = ref.str();
    if (ecr::ImageReference::parse(printed).str() != printed) std::abort();
  } catch (const ecr::InputError&) {
  }
  if (auto host = ecr::parse_ecr_registry_host(text)) {
    if (host->registry_id.size() != 12 || host->region.empty()) std::abort();
    if (text.find(host->registry_id) == std::string_view::npos) std::abort();
  }
  try {
    (void)ecr::ImageLocation::parse(text);
  } catch (const ecr::InputError&) {
  }
  return 0;
}
