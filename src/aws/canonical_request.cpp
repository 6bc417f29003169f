#include "aws/canonical_request.hpp"

#include <algorithm>

namespace ecr::aws {
namespace {

// The characters Python's str.split() treats as whitespace in ASCII, which is
// what botocore's trimall uses.
bool header_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

}  // namespace

std::string remove_dot_segments(std::string_view path) {
  if (path.empty()) return {};
  std::vector<std::string_view> kept;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
    } else if (!segment.empty() && segment != ".") {
      kept.push_back(segment);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string out = path.front() == '/' ? "/" : "";
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) out += '/';
    out += kept[i];
  }
  if (path.back() == '/' && !kept.empty()) out += '/';
  return out;
}

std::string canonical_path(std::string_view raw_path, bool normalize) {
  if (raw_path.empty()) return "/";
  const std::string path = normalize ? remove_dot_segments(raw_path) : std::string(raw_path);
  return path.empty() ? "/" : uri_encode(path, /*keep_slash=*/true);
}

QueryParams parse_query(std::string_view raw_query) {
  QueryParams params;
  std::size_t start = 0;
  while (start <= raw_query.size()) {
    const auto amp = raw_query.find('&', start);
    const auto end = amp == std::string_view::npos ? raw_query.size() : amp;
    const std::string_view pair = raw_query.substr(start, end - start);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos) {
        params.emplace_back(percent_decode(pair), std::string());
      } else {
        params.emplace_back(percent_decode(pair.substr(0, eq)),
                            percent_decode(pair.substr(eq + 1)));
      }
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return params;
}

std::string canonical_query(const QueryParams& params) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(params.size());
  for (const auto& [key, value] : params) {
    encoded.emplace_back(uri_encode(key, false), uri_encode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [key, value] : encoded) {
    if (!out.empty()) out += '&';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

std::string canonical_header_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (const char c : value) {
    if (header_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string signed_header_list(const SignedHeaderMap& headers) {
  std::string out;
  for (const auto& entry : headers) {
    if (!out.empty()) out += ';';
    out += entry.first;
  }
  return out;
}

std::string build_canonical_request(std::string_view method, std::string_view canonical_uri,
                                    std::string_view canonical_query_string,
                                    const SignedHeaderMap& headers, std::string_view payload_hash) {
  std::string out;
  out.reserve(256);
  out.append(method).append("\n");
  out.append(canonical_uri).append("\n");
  out.append(canonical_query_string).append("\n");
  for (const auto& [name, values] : headers) {
    out += name;
    out += ':';
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ',';
      out += canonical_header_value(values[i]);
    }
    out += '\n';
  }
  out += '\n';
  out += signed_header_list(headers);
  out += '\n';
  out.append(payload_hash);
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace ecr::aws
