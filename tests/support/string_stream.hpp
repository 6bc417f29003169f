// A ByteStream over a string, for tests. It hands out at most `chunk` bytes a
// read (by default all that fit), so a reader can be tested against short
// reads.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
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

}  // namespace ecr::testing
