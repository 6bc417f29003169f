#include "oci/json_fields.hpp"

#include "ecr/error.hpp"

namespace ecr::oci {
namespace {

std::string at(std::string_view where, std::string_view key) {
  std::string s(where);
  s += '.';
  s += key;
  return s;
}

}  // namespace

std::optional<JsonElement> field(JsonObject obj, std::string_view key) {
  JsonElement e;
  if (obj.at_key(key).get(e) != simdjson::SUCCESS) return std::nullopt;
  return e;
}

JsonObject as_object(JsonElement e, std::string_view where) {
  JsonObject obj;
  if (e.get_object().get(obj) != simdjson::SUCCESS) {
    throw InputError(std::string(where) + " must be a JSON object");
  }
  return obj;
}

simdjson::dom::array as_array(JsonElement e, std::string_view where) {
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) {
    throw InputError(std::string(where) + " must be a JSON array");
  }
  return arr;
}

std::string as_string(JsonElement e, std::string_view where) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) {
    throw InputError(std::string(where) + " must be a string");
  }
  return std::string(s);
}

std::string required_string(JsonObject obj, std::string_view key, std::string_view where) {
  auto e = field(obj, key);
  if (!e) throw InputError(at(where, key) + " is missing");
  return as_string(*e, at(where, key));
}

std::string optional_string(JsonObject obj, std::string_view key, std::string_view where) {
  auto e = field(obj, key);
  if (!e || e->is_null()) return {};
  return as_string(*e, at(where, key));
}

std::vector<std::string> optional_string_array(JsonObject obj, std::string_view key,
                                               std::string_view where) {
  std::vector<std::string> out;
  auto e = field(obj, key);
  if (!e || e->is_null()) return out;
  const std::string name = at(where, key);
  for (JsonElement item : as_array(*e, name)) out.push_back(as_string(item, name + "[]"));
  return out;
}

std::map<std::string, std::string> optional_string_map(JsonObject obj, std::string_view key,
                                                       std::string_view where) {
  std::map<std::string, std::string> out;
  auto e = field(obj, key);
  if (!e || e->is_null()) return out;
  const std::string name = at(where, key);
  for (auto [k, v] : as_object(*e, name)) {
    out[std::string(k)] = as_string(v, at(name, k));
  }
  return out;
}

std::int64_t required_size(JsonObject obj, std::string_view key, std::string_view where) {
  auto e = field(obj, key);
  const std::string name = at(where, key);
  if (!e) throw InputError(name + " is missing");
  std::int64_t v = 0;
  if (e->get_int64().get(v) != simdjson::SUCCESS) {
    throw InputError(name + " must be an integer between 0 and 2^63-1");
  }
  if (v < 0) throw InputError(name + " must not be negative (found " + std::to_string(v) + ")");
  return v;
}

Platform parse_platform_object(JsonElement e, std::string_view where) {
  JsonObject obj = as_object(e, where);
  Platform p;
  p.architecture = required_string(obj, "architecture", where);
  p.os = required_string(obj, "os", where);
  p.variant = optional_string(obj, "variant", where);
  p.os_version = optional_string(obj, "os.version", where);
  p.os_features = optional_string_array(obj, "os.features", where);
  p.features = optional_string_array(obj, "features", where);
  return p;
}

Descriptor parse_descriptor(JsonElement e, std::string_view where) {
  JsonObject obj = as_object(e, where);
  std::string media_type = required_string(obj, "mediaType", where);
  if (media_type.empty()) throw InputError(at(where, "mediaType") + " must not be empty");
  const std::string digest_text = required_string(obj, "digest", where);
  if (!Digest::valid(digest_text)) {
    throw InputError(at(where, "digest") + " is not a valid sha256 digest: \"" + digest_text +
                     "\"");
  }
  Descriptor d{.media_type = std::move(media_type),
               .digest = Digest::parse(digest_text),
               .size = required_size(obj, "size", where)};
  d.urls = optional_string_array(obj, "urls", where);
  d.annotations = optional_string_map(obj, "annotations", where);
  if (auto p = field(obj, "platform"); p && !p->is_null()) {
    d.platform = parse_platform_object(*p, at(where, "platform"));
  }
  d.artifact_type = optional_string(obj, "artifactType", where);
  return d;
}

}  // namespace ecr::oci
