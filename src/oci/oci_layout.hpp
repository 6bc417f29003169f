// The OCI image layout (image-spec image-layout.md): `oci-layout`,
// `index.json` and `blobs/<alg>/<hex>`, read from a directory or a tar, and
// written to a directory (an oci-archive is that directory, tarred at commit).
#pragma once

#include <filesystem>
#include <memory>
#include <set>
#include <vector>

#include "ecr/image.hpp"
#include "oci/file_io.hpp"
#include "oci/file_tree.hpp"

namespace ecr::oci {

inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";
inline constexpr std::string_view kOciLayoutFile = R"({"imageLayoutVersion":"1.0.0"})";

std::string blob_path(const Digest& digest);

// Lists image `root` in `entries` (an index.json's manifests) under `names`:
// an entry with one of the names, or (no names) an unnamed entry for the
// same digest, is replaced.
void list_in_index(std::vector<Descriptor>& entries, const Descriptor& root,
                   const std::vector<std::string>& names);

class OciLayoutSource final : public ImageSource {
 public:
  // Throws InputError when the tree has no valid oci-layout or index.json.
  explicit OciLayoutSource(std::unique_ptr<FileTree> tree);
  std::vector<ImageEntry> list() override;
  std::optional<std::filesystem::path> identity_file(const Descriptor& descriptor) const override {
    return tree_->identity_file(blob_path(descriptor.digest));
  }

 protected:
  std::unique_ptr<ByteStream> open_raw(const Descriptor& descriptor) override;

 private:
  std::unique_ptr<FileTree> tree_;
  ParsedManifest index_;
};

class OciLayoutSink final : public ImageSink {
 public:
  // Writes to `dir`: a new layout (staged next to it, renamed into place at
  // commit) or an existing one (blobs added, index.json replaced at commit).
  explicit OciLayoutSink(std::filesystem::path dir);
  ~OciLayoutSink() override;
  bool has_blob(const Digest& digest) override;
  SinkTraits traits() const override {
    return {.accepts_index = true, .wants_compressed_layers = true, .places_files = true};
  }
  void write_blob(BlobReader& in) override;
  bool place_file(const Descriptor& descriptor, const std::filesystem::path& file) override;
  void write_manifest(const ParsedManifest& manifest, const std::vector<std::string>& names,
                      bool root) override;
  void commit() override;

  // The directory being written (the staging directory for a new layout).
  const std::filesystem::path& root() const noexcept { return root_; }
  // Writes oci-layout and index.json into root() without renaming anything.
  void finish_files();

 private:
  void store_bytes(const Digest& digest, std::string_view bytes);
  std::filesystem::path dir_;
  std::unique_ptr<StagingDir> staging_;  // new layouts only
  std::filesystem::path root_;
  std::vector<Descriptor> index_entries_;
  std::vector<std::filesystem::path> added_blobs_;  // removed again if never committed
  bool committed_ = false;
};

}  // namespace ecr::oci
