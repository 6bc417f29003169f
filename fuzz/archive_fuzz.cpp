// libFuzzer: reading an archive (oci-archive or docker-archive, detected by
// content) and every blob it names must throw ecr::Error or succeed.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "ecr/error.hpp"
#include "ecr/image.hpp"
#include "ecr/image_location.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("ecr-archive-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  const auto path = dir / "input.tar";
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    ecr::DecompressionLimits limits;
    limits.max_bytes = 16 << 20;  // keep each run small
    auto source = ecr::open_image_source(ecr::ImageLocation::parse(path.string()), limits);
    for (const auto& image : source->list()) {
      try {
        ecr::ParsedManifest m = source->fetch_manifest(image.descriptor);
        if (m.config) (void)source->open_blob(*m.config).read_all(1 << 20);
        for (const auto& l : m.layers) (void)source->open_blob(l).read_all(16 << 20);
      } catch (const ecr::Error&) {
      }
    }
  } catch (const ecr::Error&) {
  }
  // Staging directories of a refused compressed tar must be gone.
  return 0;
}
