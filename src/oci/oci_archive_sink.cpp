#include "oci/oci_archive_sink.hpp"

#include <algorithm>

#include "oci/tar_writer.hpp"

namespace ecr::oci {

OciArchiveSink::OciArchiveSink(std::filesystem::path file)
    : file_(std::move(file)), staging_(file_), layout_(staging_.path() / "layout") {}

void OciArchiveSink::commit() {
  layout_.finish_files();
  const auto& root = layout_.root();
  TarWriter tar(file_);
  tar.add_bytes("oci-layout", kOciLayoutFile);
  tar.add_file("index.json", root / "index.json");
  tar.add_directory("blobs");
  tar.add_directory("blobs/sha256");
  // Sorted, so the same image always gives the same archive bytes.
  std::vector<std::string> blobs;
  for (const auto& e : std::filesystem::directory_iterator(root / "blobs" / "sha256")) {
    blobs.push_back(e.path().filename().string());
  }
  std::sort(blobs.begin(), blobs.end());
  for (const auto& hex : blobs)
    tar.add_file("blobs/sha256/" + hex, root / "blobs" / "sha256" / hex);
  tar.commit();
}

}  // namespace ecr::oci
