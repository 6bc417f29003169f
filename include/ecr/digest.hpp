// Content digests: the `sha256:<64 lowercase hex>` names that address every blob
// and manifest, and the streaming SHA-256 that computes them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace ecr {

// A validated sha256 digest. Only the `sha256` algorithm is accepted; the hex
// part must be exactly 64 lowercase hex characters (as the OCI spec and ECR's
// ImageDigest pattern require).
class Digest {
 public:
  // Parses "sha256:<64 hex>". Throws InputError naming what was wrong
  // (missing algorithm, unsupported algorithm, wrong length, non-hex or
  // uppercase character) and quoting the offending text.
  static Digest parse(std::string_view text);
  // Returns false instead of throwing.
  static bool valid(std::string_view text) noexcept;
  // From the 32 raw bytes of a SHA-256 sum.
  static Digest from_bytes(std::span<const std::uint8_t, 32> bytes);
  // SHA-256 of `data` in one call.
  static Digest of(std::string_view data);

  const std::string& str() const noexcept { return text_; }  // "sha256:<hex>"
  std::string_view hex() const noexcept { return std::string_view(text_).substr(7); }
  std::string_view algorithm() const noexcept { return "sha256"; }

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  explicit Digest(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// Streaming SHA-256 over OpenSSL's EVP interface (SHA-NI when the CPU has it).
// Not thread-safe; one hasher per stream. Movable, not copyable; a moved-from
// hasher may only be destroyed or assigned to. The constructor, update() and
// finish() throw std::bad_alloc or std::runtime_error only if OpenSSL itself
// fails (out of memory, broken install), never because of the data.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Finishes the sum; the hasher is then reset and may be reused.
  Digest finish();
  // Bytes fed since construction or the last finish().
  std::uint64_t size() const noexcept { return size_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint64_t size_ = 0;
};

}  // namespace ecr

template <>
struct std::hash<ecr::Digest> {
  std::size_t operator()(const ecr::Digest& d) const noexcept {
    return std::hash<std::string>()(d.str());
  }
};
