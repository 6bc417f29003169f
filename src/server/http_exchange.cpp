#include "server/http_exchange.hpp"

#include <algorithm>
#include <charconv>

#include "aws/percent_encoding.hpp"
#include "core/text.hpp"

namespace ecr::server {
namespace {

// A decimal number made of digits only (no sign, no spaces); nullopt on
// anything else or overflow.
std::optional<std::uint64_t> decimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

using text::trim;

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  return http::find_header(headers, name).value_or(std::string_view());
}

bool HttpRequest::has_header(std::string_view name) const {
  return http::find_header(headers, name).has_value();
}

std::string_view HttpRequest::query_value(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return {};
}

std::string_view HttpRequest::body() const {
  if (!scratch) return {};
  return std::string_view((*scratch)->body).substr(0, body_bytes);
}

void HttpResponse::set_header(std::string_view name, std::string value) {
  std::erase_if(headers,
                [name](const auto& h) { return http::equal_ignoring_case(h.first, name); });
  headers.emplace_back(std::string(name), std::move(value));
}

std::string_view HttpResponse::header(std::string_view name) const {
  return http::find_header(headers, name).value_or(std::string_view());
}

std::string percent_decode(std::string_view text) {
  // Form encoding: '+' is a space (a '+' meant literally comes as %2B, which
  // the escapes then give back); the %XY escapes are aws::percent_decode's.
  std::string spaced(text);
  std::replace(spaced.begin(), spaced.end(), '+', ' ');
  return aws::percent_decode(spaced);
}

bool parse_target(std::string_view target, HttpRequest& request) {
  if (target.empty() || target.front() != '/') return false;
  const std::size_t mark = target.find('?');
  std::vector<std::pair<std::string, std::string>> query;
  if (mark != std::string_view::npos) {
    std::string_view rest = target.substr(mark + 1);
    while (!rest.empty()) {
      const std::size_t amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (pair.empty()) continue;
      const std::size_t eq = pair.find('=');
      query.emplace_back(
          percent_decode(pair.substr(0, eq)),
          eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1)));
    }
  }
  request.path = std::string(target.substr(0, mark));
  request.query = std::move(query);
  return true;
}

std::optional<ByteRange> parse_byte_range(std::string_view header, std::uint64_t size) {
  header = trim(header);
  constexpr std::string_view kUnit = "bytes=";
  if (header.size() < kUnit.size() ||
      !http::equal_ignoring_case(header.substr(0, kUnit.size()), kUnit)) {
    return std::nullopt;
  }
  const std::string_view spec = trim(header.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return std::nullopt;
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view first_text = trim(spec.substr(0, dash));
  const std::string_view last_text = trim(spec.substr(dash + 1));
  if (first_text.empty()) {  // "-N": the last N bytes
    auto suffix = decimal(last_text);
    if (!suffix) return std::nullopt;
    if (*suffix == 0 || size == 0) return ByteRange{0, 0};
    const std::uint64_t length = std::min(*suffix, size);
    return ByteRange{size - length, length};
  }
  auto first = decimal(first_text);
  if (!first) return std::nullopt;
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!last_text.empty()) {
    auto given = decimal(last_text);
    if (!given || *given < *first) return std::nullopt;
    last = std::min(*given, last);
  }
  if (*first >= size) return ByteRange{0, 0};
  return ByteRange{*first, last - *first + 1};
}

void answer_with_file(const HttpRequest& request, HttpResponse& response,
                      std::shared_ptr<const UniqueFd> file, std::uint64_t size) {
  response.set_header("Accept-Ranges", "bytes");
  FileRange range{std::move(file), 0, size};
  if (request.has_header("Range")) {
    if (auto wanted = parse_byte_range(request.header("Range"), size)) {
      if (wanted->length == 0) {
        response.status = 416;
        response.set_header("Content-Range", "bytes */" + std::to_string(size));
        return;
      }
      response.status = 206;
      response.set_header("Content-Range", "bytes " + std::to_string(wanted->first) + "-" +
                                               std::to_string(wanted->first + wanted->length - 1) +
                                               "/" + std::to_string(size));
      range.offset = wanted->first;
      range.length = wanted->length;
    }
  }
  response.file = std::move(range);
}

}  // namespace ecr::server
