#include "server/layer_part_stream.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <thread>

#include "core/base64.hpp"
#include "ecr/error.hpp"

namespace ecr::server {
namespace {

// The members before layerPartBlob are a few hundred bytes; a body that has
// not reached the blob by this point is not one this reads.
constexpr std::size_t kMaxPrefixBytes = 64 * 1024;
// Direct I/O's unit (BlobStore::write_upload_direct).
constexpr std::size_t kBlock = 4096;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

void LayerPartStream::FreeAligned::operator()(char* p) const noexcept { std::free(p); }

LayerPartStream::LayerPartStream(Registry& registry, ScratchPool& scratches,
                                 std::uint64_t content_length)
    : registry_(registry), scratches_(scratches), content_length_(content_length) {}

// The append's own destructor drops its bytes and releases the claim.
LayerPartStream::~LayerPartStream() = default;

bool LayerPartStream::write(std::string_view piece) {
  if (!body_) {
    body_ = std::make_unique<ScratchPool::Lease>(scratches_.lease());
    (*body_)->body.clear();
    (*body_)->body.reserve(static_cast<std::size_t>(content_length_) + simdjson::SIMDJSON_PADDING);
  }
  std::string& body = (*body_)->body;
  // The listener passes no more than the declared length; anything else is
  // not a body this reads.
  if (body.size() + piece.size() > content_length_) give_up();
  body.append(piece);
  try {
    if (state_ == State::kScanning) scan();
    if (state_ == State::kDecoding) decode();
  } catch (const std::exception&) {
    // A disk that failed, base64 that does not decode: the buffered path
    // meets the same and answers it.
    give_up();
  }
  return true;
}

void LayerPartStream::scan() {
  const std::string& body = (*body_)->body;
  switch (scan_part_prefix(body, prefix_)) {
    case PrefixScan::kNeedMore:
      if (body.size() > kMaxPrefixBytes) give_up();
      return;
    case PrefixScan::kNotPlain:
      give_up();
      return;
    case PrefixScan::kFound:
      break;
  }
  append_ = registry_.stream_part(prefix_.repository_name, prefix_.upload_id,
                                  prefix_.part_first_byte);
  if (!append_) {
    give_up();
    return;
  }
  append_->open();
  decoded_to_ = prefix_.blob_begin;
  state_ = State::kDecoding;
}

void LayerPartStream::decode() {
  const std::string& body = (*body_)->body;
  const char* data = body.data();
  const std::size_t size = body.size();
  // Base64 has neither quotes nor backslashes: the first quote ends the
  // blob, and a backslash before it is an escape, which the parser decides.
  const auto* quote =
      static_cast<const char*>(std::memchr(data + decoded_to_, '"', size - decoded_to_));
  const std::size_t end = quote ? static_cast<std::size_t>(quote - data) : size;
  if (std::memchr(data + decoded_to_, '\\', end - decoded_to_) != nullptr) return give_up();
  // Whole groups of four until the quote; then the rest, with its padding.
  const std::size_t usable = quote ? end : decoded_to_ + (end - decoded_to_) / 4 * 4;
  const std::string_view text(data + decoded_to_, usable - decoded_to_);
  // Padding ends the base64: before the quote it is in the wrong place.
  if (!quote && text.find('=') != std::string_view::npos) return give_up();
  // The last piece's blocks are written on a second thread while this one
  // decodes and hashes this piece: the write mostly waits for the device.
  std::exception_ptr write_error;
  {
    std::jthread writer;
    if (ready_ > 0) {
      writer = std::jthread([&] {
        try {
          append_->put(std::string_view(staging_[1 - current_].get(), ready_));
        } catch (...) {
          write_error = std::current_exception();
        }
      });
    }
    if (!text.empty()) {
      char* out = staging_room(current_, pending_ + base64::max_decoded_size(text.size()));
      out += pending_;
      const std::size_t n = base64::decode_to(text, out);
      append_->feed(std::string_view(out, n));
      part_bytes_ += n;
      pending_ += n;
    }
  }
  ready_ = 0;
  if (write_error) std::rethrow_exception(write_error);
  if (part_bytes_ > kMaxLayerPartBytes) return give_up();
  decoded_to_ = usable;
  if (quote) {
    if (pending_ > 0) append_->put(std::string_view(staging_[current_].get(), pending_));
    pending_ = 0;
    blob_end_ = end;
    state_ = State::kDecoded;
    return;
  }
  // Whole blocks wait for the next piece's write; the rest starts the other
  // buffer.
  const std::size_t whole = pending_ / kBlock * kBlock;
  if (whole > 0) {
    const std::size_t next = 1 - current_;
    const std::size_t tail = pending_ - whole;
    char* to = staging_room(next, tail);
    std::memcpy(to, staging_[current_].get() + whole, tail);
    ready_ = whole;
    current_ = next;
    pending_ = tail;
  }
}

char* LayerPartStream::staging_room(std::size_t index, std::size_t n) {
  const std::size_t needed = std::max<std::size_t>((n + kBlock - 1) / kBlock * kBlock, kBlock);
  if (needed > staging_size_[index]) {
    auto* grown = static_cast<char*>(std::aligned_alloc(kBlock, needed));
    if (grown == nullptr) throw std::bad_alloc();
    // Only the buffer being decoded into grows, and only its pending bytes count.
    if (index == current_ && pending_ > 0) std::memcpy(grown, staging_[index].get(), pending_);
    staging_[index].reset(grown);
    staging_size_[index] = needed;
  }
  return staging_[index].get();
}

void LayerPartStream::give_up() noexcept {
  append_.reset();
  for (std::size_t i = 0; i < 2; ++i) {
    staging_[i].reset();
    staging_size_[i] = 0;
  }
  pending_ = 0;
  ready_ = 0;
  state_ = State::kWhole;
}

std::unique_ptr<ScratchPool::Lease> LayerPartStream::take_body() { return std::move(body_); }

std::optional<StreamedPart> LayerPartStream::take_part() {
  if (state_ != State::kDecoded || !body_) {
    give_up();
    return std::nullopt;
  }
  // The blob must be the last member, so the members the prefix was read
  // from are all the members the parser will see.
  const std::string& body = (*body_)->body;
  std::size_t i = blob_end_ + 1;
  while (i < body.size() && is_space(body[i])) ++i;
  if (i >= body.size() || body[i] != '}') {
    give_up();
    return std::nullopt;
  }
  for (++i; i < body.size(); ++i) {
    if (!is_space(body[i])) {
      give_up();
      return std::nullopt;
    }
  }
  StreamedPart part{std::move(append_), StringSpan{prefix_.blob_begin, blob_end_}};
  give_up();
  return part;
}

}  // namespace ecr::server
