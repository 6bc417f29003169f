// ByteStreams over a string, for tests. StringStream hands out at most
// `chunk` bytes a read (by default all that fit), so a reader can be tested
// against short reads; RandomAccessStringStream also offers its bytes to be
// read at any offset, as a file's range does.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <string>

#include "ecr/image.hpp"

namespace ecr::testing {

class StringStream final : public ByteStream {
 public:
  explicit StringStream(std::string data,
                        std::size_t chunk = std::numeric_limits<std::size_t>::max())
      : data_(std::move(data)), chunk_(chunk) {}
  std::size_t read(std::span<std::byte> out) override {
    const std::size_t n = std::min({out.size(), data_.size() - pos_, chunk_});
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  std::size_t chunk_;
  std::size_t pos_ = 0;
};

// A string's bytes, read at any offset.
class StringBytes final : public RandomAccessBytes {
 public:
  explicit StringBytes(std::string data) : data_(std::move(data)) {}
  std::int64_t size() const noexcept override { return static_cast<std::int64_t>(data_.size()); }
  void read_at(std::int64_t offset, std::span<std::byte> out) const override {
    std::memcpy(out.data(), data_.data() + offset, out.size());
  }

 private:
  std::string data_;
};

class RandomAccessStringStream final : public ByteStream {
 public:
  explicit RandomAccessStringStream(std::string data)
      : bytes_(std::make_shared<StringBytes>(std::move(data))) {}
  std::size_t read(std::span<std::byte> out) override {
    const std::size_t n = std::min(out.size(), static_cast<std::size_t>(bytes_->size()) - pos_);
    bytes_->read_at(static_cast<std::int64_t>(pos_), out.first(n));
    pos_ += n;
    return n;
  }
  std::shared_ptr<const RandomAccessBytes> random_access() const override {
    if (pos_ != 0) return nullptr;
    return bytes_;
  }

 private:
  std::shared_ptr<const StringBytes> bytes_;
  std::size_t pos_ = 0;
};

}  // namespace ecr::testing
