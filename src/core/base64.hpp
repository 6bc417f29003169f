// Base64, standard alphabet with '=' padding (RFC 4648 section 4), as used for
// awsJson blobs (UploadLayerPart.layerPartBlob) and authorization tokens.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ecr::base64 {

// Exact length of the encoding of `n` bytes.
constexpr std::size_t encoded_size(std::size_t n) { return (n + 2) / 3 * 4; }
// Upper bound on the decoded length of `n` encoded characters.
constexpr std::size_t max_decoded_size(std::size_t n) { return n / 4 * 3 + 3; }

// Encodes `in` into `out`, which must hold encoded_size(in.size()) bytes.
// Writes straight into the caller's buffer (a part body), no intermediate
// string. Returns the number of bytes written.
std::size_t encode_to(std::string_view in, char* out) noexcept;
std::string encode(std::string_view in);

// Strict decode: rejects characters outside the alphabet (including
// whitespace), a length that is not a multiple of 4, misplaced or excess '='
// padding, and non-zero bits in the last character before the padding.
// Throws InputError saying what was wrong and at which offset.
// `out` must hold max_decoded_size(in.size()) bytes (the fast loops store
// whole words into that slack); returns bytes written. After a throw, the
// contents of `out` are unspecified.
std::size_t decode_to(std::string_view in, char* out);
std::string decode(std::string_view in);

}  // namespace ecr::base64
