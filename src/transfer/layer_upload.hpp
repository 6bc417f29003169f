// Uploading one blob through InitiateLayerUpload / UploadLayerPart /
// CompleteLayerUpload, with parts pipelined and resume from
// lastValidByteReceived.
//
// Each upload runs two threads: a producer that reads (and, for docker save
// layers, compresses) the blob, hashes it and base64-encodes each part into
// its request body, and a sender (the caller's thread) that sends the parts in
// order. They pass kPartBuffersPerUpload buffers back and forth, so part n+1
// is read and encoded while part n is in flight: an upload holds one raw part
// (the producer's) and that many encoded ones, whatever the blob's size.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ecr/digest.hpp"
#include "ecr/image.hpp"
#include "ecr/progress.hpp"
#include "transfer/part_buffer_pool.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::transfer {

// A layerPartBlob holds at most this many bytes before encoding (the model's
// limit); a registry answering a larger partSize is refused.
inline constexpr std::int64_t kMaxPartBlobBytes = 20'971'520;
// InvalidLayerPartException answers tolerated per layer before giving up: each
// one means the registry kept fewer bytes than sent (a reset mid-part), and a
// registry that never advances must not loop us forever.
inline constexpr int kMaxPartResumes = 16;
// A vanished upload (UploadNotFoundException) restarts the layer this many
// times at most.
inline constexpr int kMaxUploadRestarts = 2;
// Part buffers one upload holds: the part in flight and the next one being
// read and encoded. More would only help when reading a part takes longer
// than sending one, and then the source, not the pipeline, bounds the push.
inline constexpr std::size_t kPartBuffersPerUpload = 2;

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

// An UploadLayerPart request body and what its signature needs of it.
struct PartBody {
  std::size_t encoded_at = 0;  // offset of the base64 part in the body
  Digest sha256;               // of the whole body: the SigV4 payload hash
};

// Makes `out` the UploadLayerPart request for `part` (replacing what it
// held), base64-encoding the part straight into the body. The body's SHA-256
// is taken as it is written, a slice at a time while the slice is still in
// the CPU's cache, instead of by a second pass over the 13 MB body when it
// is signed; the producer does it, so the sender's thread only signs and
// sends.
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
