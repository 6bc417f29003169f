// oci-archive: an OCI layout in a tar. Built as a layout in a staging directory,
// tarred to a temp file at commit and renamed into place.
#pragma once

#include <filesystem>

#include "oci/oci_layout.hpp"

namespace ecr::oci {

class OciArchiveSink final : public ImageSink {
 public:
  // An existing archive at `file` is replaced at commit, not extended.
  explicit OciArchiveSink(std::filesystem::path file);
  bool has_blob(const Digest& digest) override { return layout_.has_blob(digest); }
  SinkTraits traits() const override { return layout_.traits(); }
  void write_blob(BlobReader& in) override { layout_.write_blob(in); }
  bool place_file(const Descriptor& descriptor, const std::filesystem::path& file) override {
    return layout_.place_file(descriptor, file);
  }
  void write_manifest(const ParsedManifest& manifest, const std::vector<std::string>& names,
                      bool root) override {
    layout_.write_manifest(manifest, names, root);
  }
  void commit() override;

 private:
  std::filesystem::path file_;
  StagingDir staging_;
  OciLayoutSink layout_;
};

}  // namespace ecr::oci
