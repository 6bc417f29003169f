// Strict field access over simdjson's DOM for the image documents: every getter
// names the document and the field in its InputError, so a refused manifest says
// exactly which field was wrong.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ecr/manifest.hpp"

namespace ecr::oci {

using JsonObject = simdjson::dom::object;
using JsonElement = simdjson::dom::element;

// The member `key` of `obj`, or nullopt when absent.
std::optional<JsonElement> field(JsonObject obj, std::string_view key);

JsonObject as_object(JsonElement e, std::string_view where);
simdjson::dom::array as_array(JsonElement e, std::string_view where);
std::string as_string(JsonElement e, std::string_view where);

std::string required_string(JsonObject obj, std::string_view key, std::string_view where);
std::string optional_string(JsonObject obj, std::string_view key, std::string_view where);
std::vector<std::string> optional_string_array(JsonObject obj, std::string_view key,
                                               std::string_view where);
std::map<std::string, std::string> optional_string_map(JsonObject obj, std::string_view key,
                                                       std::string_view where);
// A non-negative JSON integer; refuses floats, negatives and values over 2^63-1.
std::int64_t required_size(JsonObject obj, std::string_view key, std::string_view where);

Platform parse_platform_object(JsonElement e, std::string_view where);
Descriptor parse_descriptor(JsonElement e, std::string_view where);

}  // namespace ecr::oci
