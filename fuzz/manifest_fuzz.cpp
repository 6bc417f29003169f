// libFuzzer: manifest, index and config parsing must throw ecr::Error or
// succeed on any input; nothing else (crash, leak, other exception).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ecr/error.hpp"
#include "ecr/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (std::string_view hint : {std::string_view(), ecr::media_type::kOciIndex,
                                ecr::media_type::kDockerManifest}) {
    try {
      ecr::ParsedManifest m = ecr::parse_manifest(bytes, hint);
      if (!m.is_index()) (void)ecr::serialize_oci_manifest(*m.config, m.layers, m.annotations);
    } catch (const ecr::Error&) {
    }
  }
  try {
    (void)ecr::parse_image_config(bytes);
  } catch (const ecr::Error&) {
  }
  return 0;
}
