// The OCI image layout (image-spec image-layout.md): `oci-layout`,
// `index.json` and `blobs/<alg>/<hex>`, read from a directory or a tar, and
// written to a directory (an oci-archive is that directory, tarred at commit).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
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

// `manifest` as a referrers list describes it (OCI distribution spec,
// "Listing Referrers"): its media type, digest and size, its artifactType or
// else its config's media type, and its annotations.
Descriptor referrer_descriptor(const ParsedManifest& manifest);

// Lists `referrer` in `entries` unnamed: an unnamed entry for the same
// digest is replaced, an entry naming it keeps its name.
void list_referrer_in_index(std::vector<Descriptor>& entries, const Descriptor& referrer);

class OciLayoutSource final : public ImageSource {
 public:
  // Throws InputError when the tree has no valid oci-layout or index.json.
  explicit OciLayoutSource(std::unique_ptr<FileTree> tree);
  std::vector<ImageEntry> list() override;
  std::optional<std::filesystem::path> identity_file(const Descriptor& descriptor) const override {
    return tree_->identity_file(blob_path(descriptor.digest));
  }
  // The manifests index.json lists, and the children of the indexes it
  // lists, whose subject is `subject` (the image-layout spec lets a layout
  // list referrers in index.json). Each is read and verified once, at the
  // first call; a child the layout does not hold is passed over.
  std::vector<Descriptor> referrers(const Digest& subject) override;

 protected:
  std::unique_ptr<ByteStream> open_raw(const Descriptor& descriptor) override;

 private:
  std::unique_ptr<FileTree> tree_;
  ParsedManifest index_;
  // Subject -> its referrers, built by the first referrers() call.
  std::optional<std::map<Digest, std::vector<Descriptor>>> referrers_;
};

class OciLayoutSink final : public ImageSink {
 public:
  // Writes to `dir`: a new layout (staged next to it, renamed into place at
  // commit) or an existing one (blobs added, index.json replaced at commit).
  explicit OciLayoutSink(std::filesystem::path dir);
  ~OciLayoutSink() override;
  bool has_blob(const Digest& digest) override;
  SinkTraits traits() const override {
    return {.accepts_index = true,
            .wants_compressed_layers = true,
            .places_files = true,
            .holds_referrers = true};
  }
  void write_blob(BlobReader& in) override;
  bool place_file(const Descriptor& descriptor, const std::filesystem::path& file) override;
  void write_manifest(const ParsedManifest& manifest, const std::vector<std::string>& names,
                      bool root) override;
  void list_referrer(const Descriptor& referrer) override;
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
