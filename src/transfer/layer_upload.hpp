// Uploading one blob through InitiateLayerUpload / UploadLayerPart /
// CompleteLayerUpload, with parts pipelined and resume from
// lastValidByteReceived.
//
// Each upload runs two threads: a producer that cuts the blob into parts and
// hashes each part's request body for its signature, and a sender (the
// caller's thread) that signs and sends the parts in order. No body is ever
// held whole: it is the part's bytes base64-encoded between a few JSON
// members, so the producer encodes it slice by slice into a small buffer to
// hash it, and the sender encodes it again as libcurl sends it, straight
// into libcurl's upload buffer. A part's bytes are held in memory only when
// the source cannot give them again: a blob in a file (an OCI layout, an
// archive) is read from the file each time, so its upload holds a few
// hundred KiB whatever its size; a blob that streams (a layer compressed on
// the way, a registry's download) is held a part at a time, in pooled
// buffers. Touching fresh memory is not free (0.7 CPU s per GB on this
// project's bench VM, docs/performance.md), and an encoded part is a third
// larger than the part.
//
// They pass kPartBuffersPerUpload buffers back and forth, so parts n+1 and
// n+2 are read and hashed while part n is in flight. The producer hashes
// parts two at a time, part n+1's body beside part n+2's: two SHA-256 streams
// on one core go 1.7x as fast as one where the CPU has the SHA extensions
// (core/sha256_lanes.hpp), and the signature's hash is most of a push's CPU.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/mapped_range.hpp"
#include "core/sha256_lanes.hpp"
#include "ecr/digest.hpp"
#include "ecr/image.hpp"
#include "ecr/progress.hpp"
#include "http/transport.hpp"
#include "transfer/part_buffer_pool.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::transfer {

// A layerPartBlob holds at most this many bytes before encoding (the model's
// limit); a registry answering a larger partSize is refused.
inline constexpr std::int64_t kMaxPartBlobBytes = 20'971'520;
// InvalidLayerPartException answers that do not move the upload forward
// tolerated per layer before giving up: a registry that keeps asking for bytes
// it then refuses must not loop us forever.
inline constexpr int kMaxPartResumes = 16;
// Attempts in a row at one part that fail on the link (a reset or stall
// mid-body) and leave the registry holding no more of it, before the push
// gives up (error answers, 5xx and throttling, get the standard
// max_attempts). A registry keeps a part whole or not at all (ECR and
// ecr-local do), so over a link that breaks often every attempt at a part is
// a fresh draw: at 5 resets per 100 MiB a 10 MiB part (13.3 MiB as base64)
// fails about half its attempts (0.49), and 15 in a row (1 in 49,000 per
// part) leave a 1 GiB push (103 parts) a chance of about 1 in 480 to fail; at
// 3 resets per 100 MiB, about 1 in 160,000. The retry quota (RetryPolicy)
// still stops a storm against a registry that fails everything.
inline constexpr int kMaxPartAttemptsWithoutProgress = 15;
// A vanished upload (UploadNotFoundException) restarts the layer this many
// times at most.
inline constexpr int kMaxUploadRestarts = 2;
// Part buffers one upload holds: the part in flight and the next two, whose
// bodies the producer hashes together. More would only help when reading a
// part takes longer than sending one, and then the source, not the
// pipeline, bounds the push.
inline constexpr std::size_t kPartBuffersPerUpload = 3;
// A part's bytes are encoded (and read from a file) this many at a time: a
// multiple of 3 (every slice but a part's last encodes without padding),
// small enough that the bytes and their 64 KiB of base64 stay in the CPU's
// cache between the read, the encoder and the hash.
inline constexpr std::size_t kEncodeSlice = 3 * 16 * 1024;

// The producer's end of the pipeline: bytes written here are cut into parts of
// the upload's part size, each hashed for its request and handed to the
// sender. Not thread-safe (one producer).
class PartWriter : public ByteOutput {
 public:
  // Free room in the current part (never empty): read into it, then advance().
  virtual std::span<std::byte> space() = 0;
  // Takes `n` bytes written into space(). May block until the sender frees a
  // buffer; throws Cancelled when the transfer is cancelled.
  virtual void advance(std::size_t n) = 0;
  // Copies `bytes` in (for producers that write from their own buffers, such
  // as a compressor).
  void write(std::span<const std::byte> bytes) override;
  // Takes the whole blob as bytes read at any offset (a file): no part is
  // held in memory, each is read again when it is sent. Only as the first
  // and only write of a producer. This one reads them through space().
  virtual void write_all(const std::shared_ptr<const RandomAccessBytes>& bytes);
};

// Writes the whole blob, from its first byte to its end, into `out` and
// returns its descriptor: the digest and size of the bytes written, verified
// against what the source claims or computed on the way (a layer compressed
// during the upload). Called again from the start when a resume needs bytes
// the pipeline no longer holds, or when the upload restarts; it must then
// write the same bytes.
using BlobProducer = std::function<Descriptor(PartWriter& out)>;

// A producer that copies `descriptor`'s blob from `source`, verifying it.
BlobProducer copy_blob(ImageSource& source, const Descriptor& descriptor);

// A part's bytes: held in memory, or a range of bytes read at any offset (a
// file), read again whenever they are needed. A stretch of an open file is
// read through a mapping instead once mapped() (the push maps each part as
// it is cut): the encoder reads the page cache with no copy and no system
// call. Alternating pushes of the realistic
// bench image: 0.262 client CPU-s against 0.287 with pread; big-layer 1.15
// against 1.31 (docs/performance.md, 2026-12-05 06:30).
class PartBytes {
 public:
  explicit PartBytes(std::string_view memory) : memory_(memory), size_(memory.size()) {}
  PartBytes(std::shared_ptr<const RandomAccessBytes> file, std::int64_t offset, std::size_t size)
      : file_(std::move(file)), offset_(offset), size_(size) {}

  std::size_t size() const noexcept { return size_; }
  // Encodes bytes [at, at + n) as base64 into `out` (room for
  // base64::encoded_size(n)) and returns how many characters that is. Bytes
  // read from a file go through `scratch` (room for n bytes). Throws
  // InputError when a file's bytes are no longer there (it shrank).
  std::size_t encode(std::size_t at, std::size_t n, char* out, char* scratch) const;
  // The same bytes, mapped while the copy lives when they are a stretch of
  // an open file (RandomAccessBytes::in_file); otherwise a plain copy.
  PartBytes mapped() const;
  // The bytes from `at` on.
  PartBytes from(std::size_t at) const;

 private:
  std::string_view memory_;
  std::shared_ptr<const RandomAccessBytes> file_;  // null: in memory
  std::int64_t offset_ = 0;                        // in file_
  std::size_t size_ = 0;
  // file_'s bytes mapped (mapped()), from byte mapped_at_ of the mapping on.
  std::shared_ptr<const MappedRange> mapping_;
  std::size_t mapped_at_ = 0;
};

// An UploadLayerPart request body:
//   {"uploadId":"...","partFirstByte":N,"layerPartBlob":"<base64>",
//    "partLastByte":M,"registryId":"...","repositoryName":"..."}
// The members known before the blob come first, so ecr-local finds the
// upload and the part's offset in the body's first bytes and takes the part
// in as it arrives (server/layer_part_intake.hpp); JSON leaves the members'
// order free, and ECR reads them in any order. Only the members around the
// blob are kept: the blob is encoded from the part's bytes when the body is
// hashed and again when it is sent.
struct PartBody {
  std::string lead;           // through the blob's opening quote
  std::string tail;           // from the blob's closing quote
  std::size_t blob_size = 0;  // of the base64
  // Of the whole body, the SigV4 payload hash: set by PartHasher.
  std::optional<Digest> sha256;

  std::size_t size() const noexcept { return lead.size() + blob_size + tail.size(); }
};

// The body (not hashed yet) for the `length` bytes of an upload from
// `first_byte` on.
PartBody part_body(const std::optional<std::string>& registry_id, std::string_view repository,
                   std::string_view upload_id, std::int64_t first_byte, std::size_t length);

// Hashes bodies for their signatures, encoding their blobs slice by slice
// into buffers of its own.
class PartHasher {
 public:
  PartHasher();
  // Sets a.sha256 and, when `b` is given, b->sha256, hashing the two bodies
  // side by side (two SHA-256 streams on one core).
  void hash(PartBody& a, const PartBytes& a_bytes, PartBody* b = nullptr,
            const PartBytes* b_bytes = nullptr);

 private:
  std::string read_[2];     // bytes read from a file
  std::string encoded_[2];  // their base64
};

// A body as the transport sends it, its blob encoded from the part's bytes
// into the transport's buffer as it goes: any range of it can be read, so
// libcurl may rewind it.
class PartRequestBody final : public http::BodySource {
 public:
  // `scratch` holds bytes read from a file on their way to the encoder.
  PartRequestBody(const PartBody& body, const PartBytes& bytes, std::string& scratch);
  std::size_t size() const override { return body_.size(); }
  void read_at(std::size_t offset, std::span<char> out) const override;

 private:
  const PartBody& body_;
  const PartBytes& bytes_;
  std::string& scratch_;
};

struct UploadStats {
  Descriptor uploaded;          // what CompleteLayerUpload was given
  std::int64_t bytes_sent = 0;  // part bytes sent, re-sends included
};

// Who reports an upload's byte progress: the upload (bytes of the blob sent,
// once each part is acknowledged), or the producer (a layer compressed on
// the way reports the uncompressed bytes it has read; the upload then only
// reports its start).
enum class UploadProgress { kPartsSent, kByProducer };

// Uploads the blob `produce` writes. Progress is reported under `shown`'s
// digest, with its size as total (for a blob compressed on the way: the
// uncompressed layer). `fallback_part_size` is used when the registry does
// not answer a partSize. LayerAlreadyExistsException from CompleteLayerUpload
// counts as success. Throws IntegrityError when the producer finds the blob
// does not match its descriptor or CompleteLayerUpload answers another
// digest, and what the producer and the registry throw.
UploadStats upload_blob(RegistrySession& session, const Descriptor& shown,
                        const BlobProducer& produce, PartBufferPool& pool,
                        std::int64_t fallback_part_size, TransferContext& reporter,
                        UploadProgress progress = UploadProgress::kPartsSent);

}  // namespace ecr::transfer
