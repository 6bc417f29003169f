// oci-archive: an OCI layout in a tar. Two ways to write one, chosen by what
// the transfer knows before its first blob:
//   in place  when told the plan (ImageSink::expect: every blob's digest and
//             size, the manifests, the root's names), the archive is laid out
//             at once and each blob written at its place (InPlaceArchive), a
//             registry's downloads straight into it (blob_slot);
//   staged    otherwise (layers compressed on the way are named only once
//             written), a layout is built in a staging directory and tarred
//             to a temp file at commit.
// Both write the same bytes for the same image, are renamed into place at
// commit, and leave nothing behind uncommitted.
#pragma once

#include <filesystem>
#include <memory>

#include "oci/in_place_archive.hpp"
#include "oci/oci_layout.hpp"

namespace ecr::oci {

class OciArchiveSink final : public ImageSink {
 public:
  // An existing archive at `file` is replaced at commit, not extended.
  explicit OciArchiveSink(std::filesystem::path file);
  SinkTraits traits() const override {
    return {.accepts_index = true,
            .wants_compressed_layers = true,
            .places_files = true,
            .holds_referrers = true};
  }
  void expect(const WritePlan& plan) override;
  bool has_blob(const Digest& digest) override;
  void write_blob(BlobReader& in) override;
  bool place_file(const Descriptor& descriptor, const std::filesystem::path& file) override;
  std::unique_ptr<BlobSlot> blob_slot(const Descriptor& descriptor) override;
  void write_manifest(const ParsedManifest& manifest, const std::vector<std::string>& names,
                      bool root) override;
  void list_referrer(const Descriptor& referrer) override;
  void commit() override;

 private:
  // The staged layout, made on first use.
  OciLayoutSink& layout();
  void commit_staged();

  std::filesystem::path file_;
  std::unique_ptr<InPlaceArchive> in_place_;  // after expect()
  std::vector<Descriptor> index_entries_;     // in place: what index.json lists
  std::unique_ptr<StagingDir> staging_;       // staged: the directory ...
  std::unique_ptr<OciLayoutSink> layout_;     // ... and the layout in it
};

}  // namespace ecr::oci
