#include "server/layer_part_intake.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstring>

#include "core/base64.hpp"
#include "ecr/error.hpp"

namespace ecr::server {

void LayerPartIntake::start(std::size_t length, std::string& part, simdjson::dom::parser& parser,
                            PartTargetSource targets) {
  state_ = State::kPrefix;
  length_ = length;
  taken_ = 0;
  part_ = &part;
  skew_ = layer_part_skew(part.data());
  parser_ = &parser;
  targets_ = std::move(targets);
  prefix_.clear();
  blob_ = {};
  carried_ = 0;
  padded_ = false;
  decoded_ = 0;
  upload_id_.clear();
  first_byte_ = 0;
  body_hash_ = Sha256Lane();
  layer_hash_.reset();
  incoming_.reset();
}

void LayerPartIntake::take(const char* data, std::size_t n) {
  if (n == 0) return;
  const std::size_t step_begin = taken_;
  const std::size_t decoded_before = decoded_;
  try {
    if (state_ == State::kPrefix) find_blob(data, n);
    if (state_ == State::kBlob) {
      const std::size_t from = std::max(blob_.begin, step_begin) - step_begin;
      if (from < n) decode(data + from, n - from, step_begin + from);
    }
  } catch (...) {
    lose();  // memory for the part or the members: the buffered path is left
  }
  taken_ += n;
  // The whole blocks decoded so far, written while the rest arrives; the
  // part's address is block-aligned (skew_), and so is every block's.
  if (incoming_) {
    incoming_->write_up_to(part_->data() + skew_,
                           decoded_ / kLayerPartAlignment * kLayerPartAlignment);
  }
  if (layer_hash_) {
    update_pair(body_hash_, data, n, *layer_hash_, part_->data() + skew_ + decoded_before,
                decoded_ - decoded_before);
  } else {
    body_hash_.update(data, n);
  }
}

Digest LayerPartIntake::body_digest() { return body_hash_.finish(); }

std::optional<LayerPartIntake::Part> LayerPartIntake::take_part() {
  if (state_ != State::kAfterBlob || taken_ != length_) {
    lose();
    return std::nullopt;
  }
  Part part{blob_,
            std::string_view(part_->data() + skew_, decoded_),
            std::move(upload_id_),
            first_byte_,
            std::move(layer_hash_),
            std::move(incoming_)};
  state_ = State::kLost;
  layer_hash_.reset();
  incoming_.reset();
  return part;
}

void LayerPartIntake::find_blob(const char* data, std::size_t n) {
  prefix_.append(data, std::min(n, kMaxPrefixBytes - prefix_.size()));
  const MemberStart start = find_string_member_start(prefix_, "layerPartBlob");
  switch (start.state) {
    case MemberStart::State::kFound:
      blob_.begin = start.value_begin;
      state_ = State::kBlob;
      read_members_before_blob();
      return;
    case MemberStart::State::kNotPlain:
      return lose();
    case MemberStart::State::kIncomplete:
      if (prefix_.size() >= kMaxPrefixBytes) lose();
      return;
  }
}

void LayerPartIntake::read_members_before_blob() {
  // The members before the blob, closed as an object whose blob is empty.
  std::string head = prefix_.substr(0, blob_.begin);
  head += "\"}";
  simdjson::dom::element document;
  if (parser_->parse(head).get(document)) return;
  std::string_view upload_id;
  std::int64_t first_byte = 0;
  if (document["uploadId"].get(upload_id) || document["partFirstByte"].get(first_byte)) return;
  upload_id_ = upload_id;
  first_byte_ = first_byte;
  if (!targets_) return;
  PartTarget target = targets_(upload_id_, first_byte_);
  layer_hash_ = std::move(target.hash);
  incoming_ = std::move(target.incoming);
}

void LayerPartIntake::decode(const char* data, std::size_t n, std::size_t at) {
  const void* quote = std::memchr(data, '"', n);
  const std::size_t chars =
      quote ? static_cast<std::size_t>(static_cast<const char*>(quote) - data) : n;
  const char* p = data;
  std::size_t left = chars;
  if (carried_ > 0) {
    const std::size_t fill = std::min(4 - carried_, left);
    std::memcpy(carry_ + carried_, p, fill);
    carried_ += fill;
    p += fill;
    left -= fill;
    if (carried_ < 4) {
      // The step held less than the quad's rest: the blob goes on in the
      // next one, or it ended short of a whole quad.
      if (quote) lose();
      return;
    }
    carried_ = 0;
    if (!decode_quads(carry_, 4)) return lose();
  }
  const std::size_t whole = left / 4 * 4;
  if (whole > 0 && !decode_quads(p, whole)) return lose();
  carried_ = left - whole;
  std::memcpy(carry_, p + whole, carried_);
  if (quote) {
    // A length that is not a whole number of quads: the parser's decode
    // names the error.
    if (carried_ != 0) return lose();
    blob_.end = at + chars;
    state_ = State::kAfterBlob;
  }
}

bool LayerPartIntake::decode_quads(const char* text, std::size_t n) {
  if (padded_) return false;  // characters after the padding
  // Room for the part so far, this stretch's decode and its slack, aligned.
  const std::size_t need = kLayerPartAlignment + decoded_ + base64::max_decoded_size(n);
  if (part_->size() < need) {
    // A write in flight reads the buffer about to move. Only a cold
    // scratch's buffer grows (a warm one holds a whole part already), so
    // this wait is rare and short (one stretch's write).
    if (incoming_) incoming_->wait();
    const std::size_t most = kLayerPartAlignment + base64::max_decoded_size(length_);
    part_->resize(std::max(need, std::min(most, 2 * part_->size())));
    // The buffer moved: the part keeps its alignment.
    const std::size_t skew = layer_part_skew(part_->data());
    if (skew != skew_) {
      std::memmove(part_->data() + skew, part_->data() + skew_, decoded_);
      skew_ = skew;
    }
  }
  try {
    decoded_ += base64::decode_to(std::string_view(text, n), part_->data() + skew_ + decoded_);
  } catch (const InputError&) {
    return false;
  }
  if (text[n - 1] == '=') padded_ = true;
  return decoded_ <= kMaxLayerPartBytes;
}

void LayerPartIntake::lose() noexcept {
  state_ = State::kLost;
  layer_hash_.reset();  // taken for nothing: completion hashes the file
  incoming_.reset();    // the bytes written ahead go, and the upload is free
}

}  // namespace ecr::server
