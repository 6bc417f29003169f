// UploadLayerPart with its part written while the body arrives.
//
// A part's body is 7-28 MB of JSON whose layerPartBlob holds the part in
// base64. Taken whole, a part costs its transfer, then its decoding, hashing,
// writing and syncing, one after another, while the client waits; the parts
// of a layer are sequential by the protocol, so for a big layer that sum is
// the push's pace. Streamed, the part is decoded, hashed and written a piece
// at a time as the body arrives (the listener hashes the body for SigV4 on
// its I/O thread meanwhile), so once the last byte lands only the sync is
// left.
//
// Nothing is trusted early. The body is kept whole too, and the request is
// then answered exactly as a buffered one: signature, throttling, parsing,
// validation and the part's checks all run on the whole body as before;
// only the write is done already. The part is written past the session's
// end, where nothing counts until Registry::commit_streamed_part records it,
// after all of those; and Registry::stream_part claims the session first, so
// nothing else writes there meanwhile. A request refused for any reason
// drops those bytes. A body this does not read (the blob not the last
// member, escapes, base64 that does not decode, a session that does not take
// a part there) is simply kept whole and answered as before.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/http_exchange.hpp"
#include "server/layer_part_body.hpp"
#include "server/registry.hpp"
#include "server/request_scratch.hpp"

namespace ecr::server {

// A part written while its body arrived, and where its base64 lies in the
// body (between the quotes of the last member, layerPartBlob).
struct StreamedPart {
  std::unique_ptr<UploadAppend> append;
  StringSpan blob;
};

class LayerPartStream final : public BodyStream {
 public:
  // Bodies shorter than this are taken whole: there is nothing to overlap.
  static constexpr std::uint64_t kMinBodyBytes = 64 * 1024;

  // `content_length`: the body's declared length, which the listener has
  // checked against the route's limit.
  LayerPartStream(Registry& registry, ScratchPool& scratches, std::uint64_t content_length);
  ~LayerPartStream() override;
  LayerPartStream(const LayerPartStream&) = delete;
  LayerPartStream& operator=(const LayerPartStream&) = delete;

  // Keeps the piece and, while the body reads as expected, decodes and
  // writes the part's bytes in it. Never declines a piece.
  bool write(std::string_view piece) override;

  // After the last piece: the scratch holding the whole body, padded for
  // simdjson like a buffered body; null when the body was empty.
  std::unique_ptr<ScratchPool::Lease> take_body();
  // The part written from the body, when the whole base64 decoded and was
  // written and nothing but whitespace and the closing brace follows it;
  // nullopt otherwise (its bytes dropped, the claim released).
  std::optional<StreamedPart> take_part();

 private:
  enum class State {
    kScanning,  // reading the members before layerPartBlob
    kDecoding,  // the session is claimed; base64 is decoded as it comes
    kDecoded,   // the closing quote came: the whole part is written
    kWhole,     // not streamed: the body is only kept
  };
  void scan();
  void decode();
  void give_up() noexcept;
  // Buffer `index` (of staging_) able to hold `n` bytes; the buffer being
  // decoded into keeps its pending bytes when it grows.
  char* staging_room(std::size_t index, std::size_t n);

  Registry& registry_;
  ScratchPool& scratches_;
  std::uint64_t content_length_;
  std::unique_ptr<ScratchPool::Lease> body_;
  State state_ = State::kScanning;
  PartPrefix prefix_;
  std::unique_ptr<UploadAppend> append_;
  std::size_t decoded_to_ = 0;   // base64 consumed, as an offset into the body
  std::size_t blob_end_ = 0;     // the closing quote's offset, once kDecoded
  std::uint64_t part_bytes_ = 0; // decoded so far
  // Decoded bytes go to two 4 KiB-aligned buffers in turn, so that direct
  // I/O takes whole 4 KiB blocks: staging_[current_] is decoded into
  // (`pending_` bytes, not written yet), while the whole blocks of the other
  // one (`ready_` bytes) are written during the next piece's decoding; what
  // follows the last whole block starts the next buffer.
  struct FreeAligned {
    void operator()(char* p) const noexcept;
  };
  std::array<std::unique_ptr<char, FreeAligned>, 2> staging_;
  std::array<std::size_t, 2> staging_size_{};
  std::size_t current_ = 0;
  std::size_t pending_ = 0;
  std::size_t ready_ = 0;
};

}  // namespace ecr::server
