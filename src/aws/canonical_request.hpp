// SigV4 canonicalisation, written once: sign_headers, presign_url and the
// server-side verification all build their canonical request here, so the
// client and ecr-local can never disagree about what was signed.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/percent_encoding.hpp"

namespace ecr::aws {

// RFC 3986 5.2.4 dot-segment removal plus collapsing of empty segments
// ("//"), which AWS services other than S3 expect; a trailing '/' survives
// when something is left. Same results as botocore's remove_dot_segments.
std::string remove_dot_segments(std::string_view path);

// The canonical URI of a path as it appears on the URL/request line. The
// path is encoded once more even though it is already URL-encoded: the
// "double encoding" every service but S3 expects ("%20" -> "%2520").
std::string canonical_path(std::string_view raw_path, bool normalize);

// Query parameters, percent-decoded, in the order they appeared.
using QueryParams = std::vector<std::pair<std::string, std::string>>;
QueryParams parse_query(std::string_view raw_query);

// Each key and value encoded, then sorted by encoded key and, for repeated
// keys, by encoded value; "k=v" joined with '&' (a bare key gives "k=").
std::string canonical_query(const QueryParams& params);

// Trimall: leading/trailing whitespace removed, inner runs (including the
// line breaks of obsolete folded headers) collapsed to one space.
std::string canonical_header_value(std::string_view value);

// The headers to sign: lowercase name -> raw values in the order received.
// std::map keeps the names sorted as the canonical form requires.
using SignedHeaderMap = std::map<std::string, std::vector<std::string>>;

// "name1;name2;..." in sorted order.
std::string signed_header_list(const SignedHeaderMap& headers);

// METHOD \n canonical-uri \n canonical-query \n canonical-headers \n
// signed-headers \n payload-hash. Repeated headers are joined with ','.
std::string build_canonical_request(std::string_view method, std::string_view canonical_uri,
                                    std::string_view canonical_query_string,
                                    const SignedHeaderMap& headers, std::string_view payload_hash);

// ASCII lowercase.
std::string lowercase(std::string_view text);

}  // namespace ecr::aws
