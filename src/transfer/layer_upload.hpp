// Uploading one blob through InitiateLayerUpload / UploadLayerPart /
// CompleteLayerUpload, with parts pipelined and resume from
// lastValidByteReceived.
//
// Each upload runs two threads: a producer that reads (and, for docker save
// layers, compresses) the blob and base64-encodes each part into its request
// body as the bytes come, hashing the bodies for their signatures on the way,
// and a sender (the caller's thread) that signs and sends the parts in order.
// They pass kPartBuffersPerUpload buffers back and forth, so parts n+1 and
// n+2 are read and encoded while part n is in flight: an upload holds that
// many encoded parts and a 192 KiB staging buffer, whatever the blob's size.
// The producer hashes parts two at a time, part n+1's body beside part n+2's
// as n+2 is encoded: two SHA-256 streams on one core go 1.7x as fast as one
// where the CPU has the SHA extensions (core/sha256_lanes.hpp), and the
// signature's hash is most of a push's CPU.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/sha256_lanes.hpp"
#include "ecr/digest.hpp"
#include "ecr/image.hpp"
#include "ecr/progress.hpp"
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
// The producer reads a part's bytes through a buffer of this size on their
// way to the encoder: a multiple of 3 (every slice but a part's last encodes
// without padding), small enough to stay in the CPU's cache between the read
// and the encoder.
inline constexpr std::size_t kPartStagingBytes = 3 * 64 * 1024;

// The producer's end of the pipeline: bytes written here are cut into parts of
// the upload's part size, each encoded into its request body and handed to
// the sender. Not thread-safe (one producer).
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

// An UploadLayerPart request body, built in a pooled buffer, and what its
// signature needs of it.
struct PartBody {
  std::size_t encoded_at = 0;  // offset of the base64 part in the buffer
  std::size_t size = 0;        // the body is the buffer's first `size` bytes
  Digest sha256;               // of the body: the SigV4 payload hash
};

// Where a part goes: the members written before its blob.
struct PartHead {
  std::string_view upload_id;
  std::int64_t first_byte = 0;
};

// Builds an UploadLayerPart body in `body`, a pooled buffer, as the part's
// bytes come:
//   {"uploadId":"...","partFirstByte":N,"layerPartBlob":"<base64>",
//    "partLastByte":M,"registryId":"...","repositoryName":"..."}
// The blob comes before the members that need the part's length, so it is
// encoded (and hashed) slice by slice before that length is known; the
// members known before it come first, so ecr-local finds the upload and the
// part's offset in the body's first bytes and takes the part in as it
// arrives (server/layer_part_intake.hpp). JSON leaves the members' order
// free, and ECR reads them in any order. The buffer keeps its size from part
// to part (only the first PartBody::size bytes are the request), so a warm
// buffer is never zero-filled again.
class PartBodyBuilder {
 public:
  // When the body is hashed for its signature: slice by slice as it is
  // encoded, or later: beside the next part's body (encode's `leader`) and,
  // for what is left, by seal().
  enum class Hashing { kAsEncoded, kLater };

  // `max_part`: the most bytes the part will hold (room is made for it).
  PartBodyBuilder(std::string& body, std::size_t max_part, const PartHead& head,
                  Hashing hashing = Hashing::kAsEncoded);
  // Appends the encoding of `bytes`; every call but the last must pass a
  // multiple of 3 bytes (so no padding falls inside the blob). A builder
  // hashing as it encodes hashes each slice beside as many bytes of
  // `leader`'s body (closed, hashed kLater) as are not hashed yet.
  void encode(std::string_view bytes, PartBodyBuilder* leader = nullptr);
  // Writes the members after the blob: the body is complete.
  void close(const std::optional<std::string>& registry_id, std::string_view repository,
             std::int64_t length);
  // Hashes what is not hashed yet; returns the closed body's extent and hash.
  PartBody seal();
  // close() and seal().
  PartBody finish(const std::optional<std::string>& registry_id, std::string_view repository,
                  std::int64_t length) {
    close(registry_id, repository, length);
    return seal();
  }

 private:
  std::string& body_;
  std::int64_t first_byte_;
  std::size_t encoded_at_ = 0;  // where the blob's base64 starts
  std::size_t at_ = 0;          // the end of what is written
  std::size_t hashed_ = 0;      // body_[0, hashed_) is fed to hash_
  bool as_encoded_;
  Sha256Lane hash_;
};

// The UploadLayerPart body for the whole of `part`, in `out` (a pooled buffer).
PartBody build_upload_part_body(std::string& out, const std::optional<std::string>& registry_id,
                                std::string_view repository, std::string_view upload_id,
                                std::int64_t first_byte, std::string_view part);

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
