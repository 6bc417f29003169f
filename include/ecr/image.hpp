// The central abstraction (DESIGN.md): an image is a manifest (or an index of
// manifests) plus blobs addressed by digest. Every place an image lives is an
// ImageSource and/or an ImageSink; a transfer is copy(source, sink).
//
// Implementing a new place (ECR, a cache) means implementing these two small
// interfaces; the verification of every blob's digest and size is done here, in
// BlobReader, not by each implementation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ecr/digest.hpp"
#include "ecr/manifest.hpp"

namespace ecr {

// A plain stream of bytes (a file range, an HTTP body, a decompressor).
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Reads up to out.size() bytes into `out`; returns how many, 0 only at the end.
  // Throws ecr::Error subclasses on I/O failure.
  virtual std::size_t read(std::span<std::byte> out) = 0;
};

// Reads one blob and verifies it as it streams: more bytes than the descriptor's
// size, fewer, or a different SHA-256 at the end throw IntegrityError naming the
// blob's digest. A reader that is not read to the end verifies nothing, so
// consumers read to the end (read_all does).
class BlobReader final : public ByteStream {
 public:
  // What the reader checks. kSizeOnly skips the SHA-256, for consumers whose
  // bytes are verified anyway: a push (the registry hashes what it receives
  // and refuses a mismatch at CompleteLayerUpload) or a compressor that
  // hashes what it reads itself.
  enum class Check { kDigest, kSizeOnly };

  BlobReader(Descriptor expected, std::unique_ptr<ByteStream> raw, Check check = Check::kDigest);

  std::size_t read(std::span<std::byte> out) override;
  // Reads the whole blob; InputError when its size exceeds `max_bytes`.
  std::string read_all(std::size_t max_bytes);

  std::int64_t size() const noexcept { return expected_.size; }
  const Descriptor& descriptor() const noexcept { return expected_; }
  // Bytes delivered so far.
  std::int64_t position() const noexcept { return position_; }

 private:
  Descriptor expected_;
  std::unique_ptr<ByteStream> raw_;
  Sha256 hash_;
  std::int64_t position_ = 0;
  bool verified_ = false;
  Check check_;
};

// One image a source holds: its root manifest (or index) descriptor and its
// names (OCI `org.opencontainers.image.ref.name`, or docker RepoTags).
struct ImageEntry {
  std::vector<std::string> names;
  Descriptor descriptor;
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;

  // The images in this source, in stored order.
  virtual std::vector<ImageEntry> list() = 0;

  // The root manifest or index for `ref`: empty (the only image; InputError
  // when there are several), a name from list(), "@N" (the N-th image, from 0)
  // or a manifest digest. Throws InputError when nothing matches, naming the
  // reference and listing what the source holds. The manifest is verified
  // against the descriptor it was listed with (IntegrityError).
  virtual ParsedManifest resolve(std::string_view ref);

  // A manifest by descriptor (an index's child). The default reads it as a blob
  // (OCI layouts store manifests as blobs); a registry overrides this.
  virtual ParsedManifest fetch_manifest(const Descriptor& descriptor);

  // Opens a blob. The reader verifies digest and size as it streams (only the
  // size with Check::kSizeOnly). Throws InputError when the source does not
  // hold it.
  BlobReader open_blob(const Descriptor& descriptor,
                       BlobReader::Check check = BlobReader::Check::kDigest);

 protected:
  // The unverified bytes of a blob; open_blob wraps them in a BlobReader.
  virtual std::unique_ptr<ByteStream> open_raw(const Descriptor& descriptor) = 0;
};

// What a sink can hold, so copy() adapts the image before writing anything.
struct SinkTraits {
  // False for docker-archive: it holds single-platform images only.
  bool accepts_index = true;
  // True where layers are expected compressed (OCI sinks, registries):
  // copy() compresses uncompressed (docker save) layers on the way.
  bool wants_compressed_layers = true;
  // True when place_file() can take a blob as a file (OCI layouts and
  // archives): the caller then verifies a file it has not just verified before
  // offering it, because the sink does not read it through.
  bool places_files = false;
};

// A place images are written. Nothing written is visible until commit(); an
// implementation destroyed without commit() removes what it staged.
class ImageSink {
 public:
  virtual ~ImageSink() = default;

  virtual SinkTraits traits() const { return {}; }
  // True when the sink already holds this blob (copy() then skips it).
  virtual bool has_blob(const Digest& digest) = 0;
  // Writes the blob `in` delivers (its descriptor says what it is), reading it
  // to the end so it is verified. Throws IntegrityError from the reader.
  virtual void write_blob(BlobReader& in) = 0;
  // Takes the blob `descriptor` from `file`, a local file the caller has
  // verified against it (e.g. a cache entry), without reading it through:
  // as a hard link when `file` is on the same filesystem, else as a
  // kernel-side copy. The sink may keep sharing the file's inode, so `file`
  // must not be modified in place afterwards (cache entries never are).
  // Returns false when it cannot (the caller then streams the blob through
  // write_blob); the default always does.
  virtual bool place_file(const Descriptor& descriptor, const std::filesystem::path& file);
  // Writes a manifest or index. `root` is true for the image's top document,
  // which is listed under `names` (tags or ref names; may be empty); a child of
  // an index is written with root false and no names.
  virtual void write_manifest(const ParsedManifest& manifest, const std::vector<std::string>& names,
                              bool root) = 0;
  // Makes everything written visible at once (rename into place).
  virtual void commit() = 0;
};

}  // namespace ecr
