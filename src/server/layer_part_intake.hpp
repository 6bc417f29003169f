// An UploadLayerPart body taken in as it arrives.
//
// A part's body is ~13 MB of JSON for a 10 MiB part, nearly all of it the
// layerPartBlob's base64. Handled only once it was all in, the part was
// scanned for, decoded and fed to the layer digest while the client waited
// for the answer: on a big layer, whose parts go one after the other, about
// a third of each part's time. The intake does that work behind the socket
// reads instead, on each stretch of the body the listener has just received
// (HttpListener's hash_received), in the same pass as the SigV4 payload hash:
//
//   - it finds the layerPartBlob string in the object's first members
//     (find_string_member_start) and reads uploadId and partFirstByte from
//     the members before it;
//   - it decodes the base64 into the scratch's part buffer, a whole quad of
//     characters at a time, carrying a split quad to the next stretch;
//   - it feeds the decoded bytes to the upload's layer digest, taken from
//     the registry where it stops at partFirstByte, with the SHA-256 rounds
//     of that digest and of the payload hash interleaved on one core
//     (sha256_lanes.hpp);
//   - it has the decoded bytes written to the upload as whole direct-I/O
//     blocks by a registry worker (incoming_part.hpp), beside its own work
//     on what arrives next, so that once the body is in only the part's
//     last bytes are left to write and sync.
//
// Nothing it finds is trusted on its own. The handler still verifies the
// signature over the payload hash, checks that the rest of the body is the
// plain shape with the blob where the intake saw it
// (find_plain_string_member), parses the request, and gives the registry the
// fed digest and the bytes written ahead only when the parsed uploadId and
// partFirstByte are the ones they were taken for; the registry checks the
// part as always, and cuts the bytes written ahead away unless it accepts
// it. A body of another
// shape (the blob after members the prefix does not reach, escapes in it,
// base64 that does not decode, a part over the model's limit) is handled as
// before, from the buffered bytes, with that path's answers and errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/sha256_lanes.hpp"
#include "ecr/digest.hpp"
#include "server/layer_part_body.hpp"

namespace simdjson::dom {
class parser;
}

namespace ecr::server {

// Where the intake has a part's bytes written while it arrives: the
// registry's IncomingPart (incoming_part.hpp), which says what the calls do.
class WriteAhead {
 public:
  virtual ~WriteAhead() = default;
  // Starts writing the part's bytes up to `ready` (whole blocks) from `part`
  // (block-aligned); returns at once.
  virtual void write_up_to(const char* part, std::size_t ready) noexcept = 0;
  // Waits for the write in flight, if any.
  virtual void wait() noexcept = 0;
};

// What the intake takes from the registry for the part it found, either
// possibly missing: the upload's layer digest, the running SHA-256 of its
// bytes [0, first_byte) (Registry::take_upload_hash), and the upload taken
// for the part to be written as it arrives (Registry::receive_part).
struct PartTarget {
  std::optional<Sha256Lane> hash;
  std::unique_ptr<WriteAhead> incoming;
};
using PartTargetSource =
    std::function<PartTarget(const std::string& upload_id, std::int64_t first_byte)>;

class LayerPartIntake {
 public:
  // The most bytes before the blob's opening quote that are looked through
  // for it: ecr-push sends about 100, botocore (blob last) about 200. Each
  // arriving stretch walks them again, so the cap also bounds what a body
  // sent a byte at a time costs.
  static constexpr std::size_t kMaxPrefixBytes = 4096;

  // The part's decoded bytes, where the body's base64 lay, and what the
  // intake found out about it.
  struct Part {
    StringSpan blob;              // the base64's characters in the body
    std::string_view bytes;       // decoded, at a 4 KiB-aligned address
    std::string upload_id;        // from the members before the blob
    std::int64_t first_byte = 0;  // partFirstByte, likewise
    // The upload's layer digest fed `bytes`, when the source had one.
    std::optional<Sha256Lane> layer_hash;
    // The part's first bytes written to the upload, when the source gave
    // the upload to write to.
    std::unique_ptr<WriteAhead> incoming;
  };

  // Starts a body of `length` bytes. The part is decoded into `part` (grown
  // to hold it, never shrunk or cleared); `parser` reads the members before
  // the blob; `targets` supplies the layer digest and the upload to write
  // to. All three outlive the body.
  void start(std::size_t length, std::string& part, simdjson::dom::parser& parser,
             PartTargetSource targets);

  // Takes in the body's next `n` bytes. Never fails: a body it cannot follow
  // is only hashed from then on (take_part() is then nullopt). Returns
  // without waiting for the disk.
  void take(const char* data, std::size_t n);

  // The SHA-256 of every byte taken (SigV4's payload hash); once per body.
  Digest body_digest();

  // After the whole body: the part, when the body was the shape the intake
  // follows and the blob was decoded whole; nullopt otherwise. Once per body.
  std::optional<Part> take_part();

  // Forgets the body, letting go of what it took from the registry:
  // take_part() is nullopt until the next start().
  void clear() noexcept { lose(); }

 private:
  enum class State { kPrefix, kBlob, kAfterBlob, kLost };

  // Looks for the blob's start in what arrived; `data` holds the step's bytes.
  void find_blob(const char* data, std::size_t n);
  // Reads uploadId and partFirstByte from the members before the blob and
  // takes the layer digest for them.
  void read_members_before_blob();
  // Decodes the blob's characters in `data` (a step's bytes from the blob's
  // start or later, `at` the body offset of the first), up to its closing
  // quote if it is there.
  void decode(const char* data, std::size_t n, std::size_t at);
  // Decodes `n` characters, whole quads, after the part so far; false when
  // they do not decode or the part passes the model's limit.
  bool decode_quads(const char* text, std::size_t n);
  void lose() noexcept;

  State state_ = State::kLost;
  std::size_t length_ = 0;
  std::size_t taken_ = 0;  // body bytes taken so far
  std::string* part_ = nullptr;
  std::size_t skew_ = 0;  // the part's offset in *part_, for its alignment
  simdjson::dom::parser* parser_ = nullptr;
  PartTargetSource targets_;

  std::string prefix_;  // the body's bytes before the blob was found
  StringSpan blob_;     // begin once found, end once its quote arrived
  char carry_[4] = {};  // a quad split by a step's end
  std::size_t carried_ = 0;
  bool padded_ = false;  // a quad with '=' was decoded: the blob must end
  std::size_t decoded_ = 0;

  std::string upload_id_;
  std::int64_t first_byte_ = 0;
  Sha256Lane body_hash_;
  std::optional<Sha256Lane> layer_hash_;
  std::unique_ptr<WriteAhead> incoming_;
};

}  // namespace ecr::server
