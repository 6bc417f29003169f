// RFC 3986 percent-encoding, written once: SigV4 canonicalisation
// (canonical_request.hpp) and ecr-local's download URLs both use it.
#pragma once

#include <string>
#include <string_view>

namespace ecr::aws {

// Everything but the unreserved characters A-Z a-z 0-9 - _ . ~ becomes %XY
// with uppercase hex, byte by byte (UTF-8 is encoded as its bytes), as SigV4
// wants it; '/' is kept only when `keep_slash` (paths).
std::string uri_encode(std::string_view text, bool keep_slash);

// Decodes %XY escapes (either hex case); a '%' not followed by two hex digits
// stays literal. '+' is not a space here (SigV4 query strings are not form
// encoded). The result may hold any byte, including NUL.
std::string percent_decode(std::string_view text);

}  // namespace ecr::aws
