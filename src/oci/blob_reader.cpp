#include "ecr/error.hpp"
#include "ecr/image.hpp"

namespace ecr {

BlobReader::BlobReader(Descriptor expected, std::unique_ptr<ByteStream> raw, Check check)
    : expected_(std::move(expected)), raw_(std::move(raw)), check_(check) {}

std::size_t BlobReader::read(std::span<std::byte> out) {
  if (verified_) return 0;
  // Ask for one byte more than the descriptor allows so an overlong blob is
  // caught at the first byte past its size, not after it streamed on.
  const auto remaining = static_cast<std::uint64_t>(expected_.size - position_);
  if (out.size() > remaining + 1) out = out.first(remaining + 1);
  const std::size_t n = raw_->read(out);
  position_ += static_cast<std::int64_t>(n);
  if (position_ > expected_.size) {
    throw IntegrityError("blob " + expected_.digest.str() + " is longer than its size " +
                         std::to_string(expected_.size));
  }
  if (check_ == Check::kDigest) hash_.update(out.data(), n);
  if (n == 0) {
    if (position_ != expected_.size) {
      throw IntegrityError("blob " + expected_.digest.str() +
                           " is truncated: " + std::to_string(position_) + " of " +
                           std::to_string(expected_.size) + " bytes");
    }
    if (check_ == Check::kDigest) {
      const Digest actual = hash_.finish();
      if (actual != expected_.digest) {
        throw IntegrityError("blob " + expected_.digest.str() + " does not match its content (" +
                             actual.str() + ")");
      }
    }
    verified_ = true;
  }
  return n;
}

std::shared_ptr<const RandomAccessBytes> BlobReader::random_access() const {
  if (position_ != 0) return nullptr;
  std::shared_ptr<const RandomAccessBytes> bytes = raw_->random_access();
  if (bytes == nullptr) return nullptr;
  if (bytes->size() > expected_.size) {
    throw IntegrityError("blob " + expected_.digest.str() + " is longer than its size " +
                         std::to_string(expected_.size));
  }
  if (bytes->size() < expected_.size) {
    throw IntegrityError("blob " + expected_.digest.str() +
                         " is truncated: " + std::to_string(bytes->size()) + " of " +
                         std::to_string(expected_.size) + " bytes");
  }
  return bytes;
}

std::string BlobReader::read_all(std::size_t max_bytes) {
  if (expected_.size < 0 || static_cast<std::uint64_t>(expected_.size) > max_bytes) {
    throw InputError("blob " + expected_.digest.str() + " is " + std::to_string(expected_.size) +
                     " bytes; at most " + std::to_string(max_bytes) + " are accepted here");
  }
  std::string out(static_cast<std::size_t>(expected_.size), '\0');
  std::size_t filled = 0;
  while (true) {
    std::byte spare[1];
    std::span<std::byte> dst =
        filled < out.size()
            ? std::span<std::byte>(reinterpret_cast<std::byte*>(out.data()) + filled,
                                   out.size() - filled)
            : std::span<std::byte>(spare, 1);
    const std::size_t n = read(dst);
    if (n == 0) break;
    filled += n;
  }
  return out;
}

}  // namespace ecr
