// docker-archive: what `docker save` writes and `docker load` reads.
//
// Reading takes both forms: legacy (manifest.json + <id>/layer.tar, config
// <hex>.json) and Docker 25+ (an OCI layout whose manifest.json points into
// blobs/sha256/). Each manifest.json entry becomes an image whose manifest is
// synthesized (an OCI manifest, deterministic): uncompressed layers are
// described as application/vnd.oci.image.layer.v1.tar with their diff_id as
// digest, which is how copy() knows to compress them for an OCI sink.
//
// Writing uses the form skopeo writes and every `docker load` accepts:
// manifest.json with RepoTags, the config as <config-hex>.json and each layer
// uncompressed as <diff_id-hex>.tar; compressed layers are decompressed (under
// the decompression limits) and their diff_ids checked against the config.
#pragma once

#include <filesystem>
#include <map>
#include <memory>

#include "ecr/compression.hpp"
#include "ecr/image.hpp"
#include "oci/file_io.hpp"
#include "oci/file_tree.hpp"

namespace ecr::oci {

class DockerArchiveSource final : public ImageSource {
 public:
  explicit DockerArchiveSource(std::unique_ptr<FileTree> tree);
  std::vector<ImageEntry> list() override { return images_; }
  ParsedManifest fetch_manifest(const Descriptor& descriptor) override;
  std::optional<std::filesystem::path> identity_file(const Descriptor& descriptor) const override;

 protected:
  std::unique_ptr<ByteStream> open_raw(const Descriptor& descriptor) override;

 private:
  std::unique_ptr<FileTree> tree_;
  std::vector<ImageEntry> images_;
  std::map<Digest, ParsedManifest> manifests_;
  std::map<Digest, std::string> paths_;  // blob digest -> path in the archive
};

class DockerArchiveSink final : public ImageSink {
 public:
  explicit DockerArchiveSink(std::filesystem::path file, DecompressionLimits limits = {});
  SinkTraits traits() const override {
    return SinkTraits{.accepts_index = false, .wants_compressed_layers = false};
  }
  bool has_blob(const Digest& digest) override { return blobs_.contains(digest); }
  void write_blob(BlobReader& in) override;
  void write_manifest(const ParsedManifest& manifest, const std::vector<std::string>& names,
                      bool root) override;
  void commit() override;

 private:
  struct StoredBlob {
    std::filesystem::path path;
    Digest diff_id;  // of the stored (uncompressed) bytes
  };
  struct Image {
    Digest config;
    std::vector<Digest> layers;
    std::vector<std::string> repo_tags;
  };
  std::filesystem::path file_;
  DecompressionLimits limits_;
  StagingDir staging_;
  std::map<Digest, StoredBlob> blobs_;
  std::vector<Image> images_;
  int counter_ = 0;
};

}  // namespace ecr::oci
