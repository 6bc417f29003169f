#include "api/serde_support.hpp"

#include <cmath>
#include <limits>

#include "core/base64.hpp"
#include "core/json_reader.hpp"
#include "ecr/error.hpp"

namespace ecr::api::serde {

MemberPath::Scope MemberPath::member(std::string_view name) {
  const std::size_t restore = text_.size();
  if (!text_.empty()) text_ += '.';
  text_ += name;
  return Scope(text_, restore);
}

MemberPath::Scope MemberPath::index(std::size_t i) {
  const std::size_t restore = text_.size();
  text_ += '[';
  text_ += std::to_string(i);
  text_ += ']';
  return Scope(text_, restore);
}

// Map entries read as "tags.<key>"; keys are caller data, so they are shown as is.
MemberPath::Scope MemberPath::key(std::string_view map_key) { return member(map_key); }

void throw_type_error(std::string_view what, const MemberPath& path) {
  if (path.str().empty()) throw InputError("expected " + std::string(what) + " at document root");
  throw InputError("expected " + std::string(what) + " at '" + path.str() + "'");
}

simdjson::dom::element parse_document(std::string_view text, std::string_view what) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) text = "{}";
  return json::parse(json::thread_parser(), text, what);
}

simdjson::dom::object expect_object(simdjson::dom::element e, const MemberPath& path) {
  simdjson::dom::object object;
  if (e.get_object().get(object) != simdjson::SUCCESS) throw_type_error("object", path);
  return object;
}

void read_value(simdjson::dom::element e, std::string& out, MemberPath& path) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) throw_type_error("string", path);
  out.assign(s);
}

void read_value(simdjson::dom::element e, std::int64_t& out, MemberPath& path) {
  if (e.get_int64().get(out) != simdjson::SUCCESS) throw_type_error("integer", path);
}

void read_value(simdjson::dom::element e, bool& out, MemberPath& path) {
  if (e.get_bool().get(out) != simdjson::SUCCESS) throw_type_error("boolean", path);
}

void read_value(simdjson::dom::element e, double& out, MemberPath& path) {
  if (e.get_double().get(out) != simdjson::SUCCESS) throw_type_error("number", path);
}

// awsJson timestamps are epoch seconds, integral or fractional; kept to the
// millisecond, which is all ECR reports.
void read_value(simdjson::dom::element e, Timestamp& out, MemberPath& path) {
  std::int64_t whole = 0;
  if (e.is_int64() && e.get_int64().get(whole) == simdjson::SUCCESS) {
    constexpr std::int64_t kLimit = std::numeric_limits<std::int64_t>::max() / 1000;
    if (whole > kLimit || whole < -kLimit) throw_type_error("timestamp in range", path);
    out = Timestamp(std::chrono::milliseconds(whole * 1000));
    return;
  }
  double seconds = 0;
  if (e.get_double().get(seconds) != simdjson::SUCCESS) {
    throw_type_error("timestamp (epoch seconds)", path);
  }
  const double ms = std::round(seconds * 1000.0);
  // 2^62 ms is some 146 million years: far beyond any real timestamp, and safe to cast.
  if (!(std::fabs(ms) < 4.6e18)) throw_type_error("timestamp in range", path);
  out = Timestamp(std::chrono::milliseconds(static_cast<std::int64_t>(ms)));
}

void read_blob(simdjson::dom::element e, std::string& out, MemberPath& path) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) throw_type_error("base64 string", path);
  // Decoded into `out`'s own storage: a string reused across requests (the
  // server's pooled part buffer) is neither reallocated nor zero-filled
  // again; std::string zero-fills only what resize() adds.
  const std::size_t room = base64::max_decoded_size(s.size());
  if (out.size() < room) out.resize(room);
  try {
    out.resize(base64::decode_to(s, out.data()));
  } catch (const InputError& error) {
    throw InputError("invalid base64 at '" + path.str() + "': " + error.what());
  }
}

void read_blob_member(simdjson::dom::element e, std::string& out, MemberPath& path,
                      std::string_view name) {
  if (e.is_null()) return;
  const auto scope = path.member(name);
  read_blob(e, out, path);
}

void read_blob_member(simdjson::dom::element e, std::optional<std::string>& out, MemberPath& path,
                      std::string_view name) {
  if (e.is_null()) {
    out.reset();
    return;
  }
  const auto scope = path.member(name);
  read_blob(e, out.emplace(), path);
}

// Whole seconds go out as integers, the rest as the shortest decimal that
// reads back to the same millisecond (1700000000.5), as botocore writes them.
void write_value(json::Writer& w, Timestamp v) {
  const std::int64_t ms = v.time_since_epoch().count();
  if (ms % 1000 == 0) {
    w.integer(ms / 1000);
  } else {
    w.number(static_cast<double>(ms) / 1000.0);
  }
}

void write_blob(json::Writer& w, std::string_view bytes) {
  char* out = w.string_in_place(base64::encoded_size(bytes.size()));
  base64::encode_to(bytes, out);
}

}  // namespace ecr::api::serde
