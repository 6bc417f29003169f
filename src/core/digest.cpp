// Digest validation and SHA-256 over OpenSSL EVP.
#include "ecr/digest.hpp"

#include <openssl/evp.h>

#include <new>
#include <optional>
#include <stdexcept>

#include "ecr/error.hpp"

namespace ecr {
namespace {

constexpr std::string_view kPrefix = "sha256:";
constexpr std::size_t kHexLength = 64;
// Long enough to recognise the input in a message, short enough that a
// multi-megabyte garbage string does not end up in a log line.
constexpr std::size_t kMaxQuoted = 80;

// The input as it appears in an error message: quoted, non-printable bytes as
// \xNN, cut after kMaxQuoted bytes.
std::string quote_escaped(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxQuoted; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (text.size() > kMaxQuoted) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xf];
}

// Returns what is wrong with `text`, or nothing when it is a valid digest.
std::optional<std::string> find_problem(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return "missing algorithm prefix \"sha256:\"";
  std::string_view algorithm = text.substr(0, colon);
  if (algorithm != "sha256") {
    if (algorithm.empty()) return std::string("empty algorithm before ':'");
    return "unsupported algorithm " + quote_escaped(algorithm) + " (only sha256 is accepted)";
  }
  std::string_view hex = text.substr(kPrefix.size());
  if (hex.size() != kHexLength) {
    return "hex part has " + std::to_string(hex.size()) + " characters, expected 64";
  }
  for (std::size_t i = 0; i < hex.size(); ++i) {
    char c = hex[i];
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) continue;
    std::string where = " at offset " + std::to_string(kPrefix.size() + i);
    if (c >= 'A' && c <= 'F') return "uppercase hex character " + describe_char(c) + where;
    return "non-hex character " + describe_char(c) + where;
  }
  return std::nullopt;
}

// Fetched once: OpenSSL 3 looks the algorithm up on every EVP_sha256() init
// otherwise, which costs more than hashing a small manifest. Lives for the
// whole process on purpose.
const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

std::string to_hex(const std::uint8_t* bytes, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kPrefix);
  out.reserve(kPrefix.size() + 2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace

Digest Digest::parse(std::string_view text) {
  if (auto problem = find_problem(text)) {
    throw InputError("invalid digest " + quote_escaped(text) + ": " + *problem);
  }
  return Digest(std::string(text));
}

bool Digest::valid(std::string_view text) noexcept {
  // Same rules as parse(), without building a message.
  if (text.size() != kPrefix.size() + kHexLength || text.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  for (char c : text.substr(kPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Digest Digest::from_bytes(std::span<const std::uint8_t, 32> bytes) {
  return Digest(to_hex(bytes.data(), bytes.size()));
}

Digest Digest::of(std::string_view data) {
  Sha256 hasher;
  hasher.update(data);
  return hasher.finish();
}

struct Sha256::Impl {
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx{EVP_MD_CTX_new()};

  Impl() {
    if (!ctx) throw std::bad_alloc();
    init();
  }
  // EVP fails only on allocation failure or a broken OpenSSL install; neither
  // is an input, transport or integrity problem, so it is not an ecr::Error.
  void init() {
    if (EVP_DigestInit_ex(ctx.get(), sha256_md(), nullptr) != 1) {
      throw std::runtime_error("OpenSSL EVP_DigestInit_ex(SHA256) failed");
    }
  }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t size) {
  if (size == 0) return;
  if (EVP_DigestUpdate(impl_->ctx.get(), data, size) != 1) {
    throw std::runtime_error("OpenSSL EVP_DigestUpdate failed");
  }
  size_ += size;
}

Digest Sha256::finish() {
  std::uint8_t sum[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(impl_->ctx.get(), sum, &length) != 1 || length != 32) {
    throw std::runtime_error("OpenSSL EVP_DigestFinal_ex failed");
  }
  impl_->init();
  size_ = 0;
  return Digest::from_bytes(std::span<const std::uint8_t, 32>(sum, 32));
}

}  // namespace ecr
