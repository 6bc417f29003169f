// The AVX2 inner loops of the base64 encoder and decoder, used when the CPU
// has AVX2. Both leave the tail (and the decoder the padded last quad) to the
// scalar code.
#pragma once

#include <cstddef>

namespace ecr::base64::detail {

// True when this build has the AVX2 encoder and the running CPU supports it.
bool have_avx2() noexcept;

// Encodes whole 24-byte blocks from the front of `in` (`n` bytes), stopping
// while at least 4 bytes remain past the last block (its loads read 28 bytes).
// Writes 32 characters per block to `out`; returns the input bytes consumed,
// a multiple of 24. The caller encodes the rest.
std::size_t encode_blocks_avx2(const char* in, std::size_t n, char* out) noexcept;

// Decodes whole 32-character blocks from the front of `in` (`n` characters,
// a multiple of 4), stopping while at least 44 characters remain, so that the
// padded last quad is never in a block and each block's 32-byte store (24
// bytes of output) stays inside a max_decoded_size() buffer. Writes 24 bytes
// per block to `out`; returns the characters consumed. Sets `bad` when a
// consumed character is outside the alphabet ('=' included); the output is
// then meaningless and the caller finds and reports the character.
std::size_t decode_blocks_avx2(const char* in, std::size_t n, char* out, bool& bad) noexcept;

}  // namespace ecr::base64::detail
