// The central abstraction (DESIGN.md): an image is a manifest (or an index of
// manifests) plus blobs addressed by digest. Every place an image lives is an
// ImageSource and/or an ImageSink; a transfer is copy(source, sink).
//
// Implementing a new place means implementing these two small interfaces; the
// verification of every blob's digest and size is done here, in BlobReader,
// not by each implementation. A place's special abilities (a registry's
// batched availability check, ranged parallel downloads into a cache, an
// archive written in place) are overrides of the virtual functions below, never
// branches in the transfer that drives them (ecr::copy, transfer.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ecr/digest.hpp"
#include "ecr/manifest.hpp"
#include "ecr/progress.hpp"

namespace ecr {

// Bytes that can be read again at any offset: a blob's range of a file. A
// push reads each part of such a blob twice, once to hash its request body
// and once as it sends it, and so holds none of it in memory
// (transfer/layer_upload.hpp); from a file it maps each part instead of
// reading it, when in_file() says where the bytes are.
class RandomAccessBytes {
 public:
  virtual ~RandomAccessBytes() = default;
  virtual std::int64_t size() const noexcept = 0;
  // Fills all of `out` with the bytes from `offset` on (offset + out.size()
  // <= size()). Throws InputError when they cannot be read, or are no longer
  // there (the file shrank since it was opened). Called from several threads
  // at once (a push's producer and sender).
  virtual void read_at(std::int64_t offset, std::span<std::byte> out) const = 0;

  // Where the bytes are, when they are a stretch of an open file: its
  // descriptor (open as long as this object lives) and the offset of byte 0
  // in it. A push then maps each part rather than reading it
  // (core/mapped_range.hpp). nullopt: read them with read_at().
  struct InFile {
    int fd = -1;
    std::int64_t offset = 0;
  };
  virtual std::optional<InFile> in_file() const noexcept { return std::nullopt; }
};

// A plain stream of bytes (a file range, an HTTP body, a decompressor).
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Reads up to out.size() bytes into `out`; returns how many, 0 only at the end.
  // Throws ecr::Error subclasses on I/O failure.
  virtual std::size_t read(std::span<std::byte> out) = 0;
  // The stream's bytes, from where it stands to its end, as bytes that can
  // be read at any offset, when the stream has them (a file's range); else
  // null. Reading them does not move the stream.
  virtual std::shared_ptr<const RandomAccessBytes> random_access() const { return nullptr; }
};

// Where a blob's bytes are written as they are produced.
class ByteOutput {
 public:
  virtual ~ByteOutput() = default;
  // Takes all of `bytes`; throws ecr::Error subclasses on failure.
  virtual void write(std::span<const std::byte> bytes) = 0;
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
  // The whole blob as bytes read at any offset, when the source has them
  // (a file) and nothing was read yet; else null. Only the size is checked
  // (IntegrityError when it is not the descriptor's), whatever the Check:
  // for consumers whose bytes are verified anyway, as with kSizeOnly.
  std::shared_ptr<const RandomAccessBytes> random_access() const override;
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

class ImageSink;

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

  // Fetches `blobs` before a transfer writes them into `sink` one at a time:
  // a registry downloads them in parallel ranges, straight into the sink
  // where it offers a BlobSlot (ImageSink::blob_slot), else into the blob
  // cache, when the transfer has one. The default does nothing: a local
  // source is read as the sink writes.
  virtual void fetch_ahead(const std::vector<Descriptor>& blobs, ImageSink& sink,
                           TransferContext& context);
  // Writes blob `descriptor` into `sink` and says how it got there. The
  // default lets the sink read it (ImageSink::copy_blob) and answers the
  // sink's SinkTraits::written_as; a registry source hands over what
  // fetch_ahead landed (as a file, to a sink that places files) and fetches
  // again a cached copy that turns out damaged.
  virtual BlobAction send_blob(const Descriptor& descriptor, ImageSink& sink,
                               TransferContext& context);
  // The local file whose identity (path, size, mtime, inode) stands for the
  // blob's bytes, so the digest index (docs/cache.md) can remember what an
  // uncompressed layer compresses to: a layout's blob file, or an archive's
  // own file. nullopt (the default) where there is none (a registry).
  virtual std::optional<std::filesystem::path> identity_file(const Descriptor& descriptor) const;
  // The manifests that name `subject` as their OCI 1.1 `subject` (its
  // referrers: signatures, SBOMs, attestations), each described as a
  // referrers index describes it: media type, digest and size of the
  // manifest, its artifactType (else its config's media type) and its
  // annotations; sorted by digest. The default: none (a docker-archive
  // holds no referrers). Throws what reading the place throws.
  virtual std::vector<Descriptor> referrers(const Digest& subject);

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
  // True where blobs may be written from several threads at once (a
  // registry): a transfer then streams each blob from source to sink on its
  // own job. Otherwise blobs are written one at a time, in plan order, after
  // the source has fetched them (ImageSource::fetch_ahead).
  bool concurrent_writes = false;
  // What writing a blob here is called in a transfer's result: kUploaded for
  // a registry, kCopied for a local place.
  BlobAction written_as = BlobAction::kCopied;
  // True where an image's referrers can be kept (OCI layouts and archives
  // list them in index.json, a registry by their subject): a transfer that
  // carries referrers refuses a sink that cannot.
  bool holds_referrers = false;
};

// Everything a transfer is about to write into a sink, announced before the
// first blob (ImageSink::expect). Views into the transfer's plan, valid only
// during the call.
struct WritePlan {
  // Configs and layers, each digest once.
  std::span<const Descriptor> blobs;
  // Every manifest and index, each digest once, children before the indexes
  // that name them; the root last.
  std::span<const ParsedManifest> manifests;
  // What the root is written under (write_manifest's `names`).
  std::span<const std::string> names;
  // The image's referrers, when the transfer carries them: their manifests
  // (each digest once, an index's children before it), written after the
  // root, and the referrers themselves as list_referrer is given them.
  std::span<const ParsedManifest> referrer_manifests{};
  std::span<const Descriptor> referrers{};
};

// Where one blob's bytes are written in place, at any offsets and from
// several threads at once (the parallel ranges of a download), so they are
// written once, where they stay. Destroyed without commit(), the blob is not
// in the sink (what was written stays unseen until written again).
class BlobSlot {
 public:
  virtual ~BlobSlot() = default;
  // Writes `bytes` at `offset` of the blob. Safe to call from several
  // threads at once. Throws IntegrityError when the bytes would lie outside
  // the blob's size, InputError on a write failure.
  virtual void write_at(std::int64_t offset, std::span<const std::byte> bytes) = 0;
  // Where in a 4 KiB page the sink's file holds byte `offset` of the blob. A
  // writer whose bytes for `offset` sit at that place in a page of memory
  // lets the sink write the whole pages among them past the page cache, as
  // an oci-archive written in place does. The default is right for a blob
  // that starts its file.
  virtual std::size_t page_offset(std::int64_t offset) const {
    return static_cast<std::size_t>(offset % 4096);
  }
  // After the last write_at: checks that the blob's bytes hash to its
  // digest (most of them were hashed as they landed in order), then the
  // sink holds it. Throws IntegrityError naming the digest when they do not;
  // the blob can then be written again through a new slot.
  virtual void commit() = 0;
};

// A blob whose digest is known only once all of it is written (after
// go-containerregistry's stream.Layer): a layer compressed on the way.
struct StreamedBlob {
  // What progress is reported under: the uncompressed layer.
  Descriptor shown_as;
  // Writes every byte of the blob into `out`, from the first, and returns the
  // blob's descriptor (media type, digest and size of the bytes written). A
  // sink may call it again from the start (a registry upload resuming after a
  // lost part); it then writes the same bytes.
  std::function<Descriptor(ByteOutput& out)> write_to;
};

// A place images are written. Nothing written is visible until commit(); an
// implementation destroyed without commit() removes what it staged.
class ImageSink {
 public:
  virtual ~ImageSink() = default;

  virtual SinkTraits traits() const { return {}; }
  // Told what the transfer will write, when all of it (every blob's digest
  // and size, every manifest's bytes, the root's names) is known before the
  // first blob is: when no layer is compressed on the way. Called at most
  // once, before any blob or manifest is written; afterwards only what
  // `plan` names is written, and what the sink does not already hold is all
  // written before commit(). An oci-archive lays out its file from it, so
  // every blob can be written at its place (blob_slot). The default does
  // nothing.
  virtual void expect(const WritePlan& plan);
  // True when the sink already holds this blob (copy() then skips it).
  virtual bool has_blob(const Digest& digest) = 0;
  // has_blob of each of `blobs`, in order. A registry asks in batches
  // (BatchCheckLayerAvailability); the default asks one at a time.
  virtual std::vector<bool> has_blobs(const std::vector<Descriptor>& blobs,
                                      TransferContext& context);
  // Writes the blob `in` delivers (its descriptor says what it is), reading it
  // to the end so it is verified. Throws IntegrityError from the reader.
  virtual void write_blob(BlobReader& in) = 0;
  // Writes blob `descriptor` of `source`. A sink that may need the bytes again
  // (a registry upload resuming after a lost part) opens the blob again. The
  // default reads it once through write_blob.
  virtual void copy_blob(ImageSource& source, const Descriptor& descriptor,
                         TransferContext& context);
  // Writes a blob whose digest is known only at its end and returns its
  // descriptor. The default stages it in a temp file, then writes it through
  // write_blob, verified against the descriptor the blob returned (unless the
  // sink already has it); a registry uploads it as it is produced.
  virtual Descriptor write_streamed_blob(const StreamedBlob& blob, TransferContext& context);
  // Takes the blob `descriptor` from `file`, a local file the caller has
  // verified against it (e.g. a cache entry), without reading it through:
  // as a hard link when `file` is on the same filesystem, else as a
  // kernel-side copy. The sink may keep sharing the file's inode, so `file`
  // must not be modified in place afterwards (cache entries never are).
  // Returns false when it cannot (the caller then streams the blob through
  // write_blob); the default always does.
  virtual bool place_file(const Descriptor& descriptor, const std::filesystem::path& file);
  // A slot to write blob `descriptor` into in place (BlobSlot), for a source
  // whose bytes arrive as parallel ranges (a registry download): they are
  // then written once, at their place, with no staging copy. nullptr (the
  // default) where the sink has none: the caller then lands the blob
  // elsewhere and hands it over with place_file or write_blob. Safe to call
  // from several threads at once. Throws InputError when the slot cannot be
  // made.
  virtual std::unique_ptr<BlobSlot> blob_slot(const Descriptor& descriptor);
  // Writes a manifest or index. `root` is true for the image's top document,
  // which is listed under `names` (tags or ref names; may be empty); a child of
  // an index is written with root false and no names.
  virtual void write_manifest(const ParsedManifest& manifest, const std::vector<std::string>& names,
                              bool root) = 0;
  // Lists `referrer` (a descriptor as ImageSource::referrers gives it),
  // whose manifest was written already (write_manifest, root false), as a
  // referrer of the image: an OCI layout adds it to index.json unnamed (an
  // entry for the same digest is replaced). The default does nothing: a
  // registry finds referrers by their manifest's subject.
  virtual void list_referrer(const Descriptor& referrer);
  // Makes everything written visible at once (rename into place).
  virtual void commit() = 0;
};

}  // namespace ecr
