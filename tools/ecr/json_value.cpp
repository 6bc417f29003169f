// JsonValue: conversion from simdjson's DOM and serialization through the
// project's json::Writer (whose pretty mode is Python's indent=4 layout).
#include "json_value.hpp"

#include <algorithm>

#include "core/json_reader.hpp"
#include "core/json_writer.hpp"
#include "ecr/error.hpp"
#include "usage_error.hpp"

namespace ecr::cli {

JsonValue JsonValue::boolean(bool b) {
  JsonValue v;
  v.value_ = b;
  return v;
}
JsonValue JsonValue::integer(std::int64_t i) {
  JsonValue v;
  v.value_ = i;
  return v;
}
JsonValue JsonValue::number(double d) {
  JsonValue v;
  v.value_ = d;
  return v;
}
JsonValue JsonValue::string(std::string s) {
  JsonValue v;
  v.value_ = std::move(s);
  return v;
}
JsonValue JsonValue::array(Array items) {
  JsonValue v;
  v.value_ = std::move(items);
  return v;
}
JsonValue JsonValue::object(Object members) {
  JsonValue v;
  v.value_ = std::move(members);
  return v;
}

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [name, value] : as_object()) {
    if (name == key) return &value;
  }
  return nullptr;
}

JsonValue* JsonValue::find(std::string_view key) {
  for (auto& [name, value] : as_object()) {
    if (name == key) return &value;
  }
  return nullptr;
}

void JsonValue::set(std::string_view key, JsonValue value) {
  if (JsonValue* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  as_object().emplace_back(std::string(key), std::move(value));
}

void JsonValue::erase(std::string_view key) {
  Object& members = as_object();
  members.erase(std::remove_if(members.begin(), members.end(),
                               [&](const auto& member) { return member.first == key; }),
                members.end());
}

namespace {

JsonValue from_element(simdjson::dom::element element) {
  switch (element.type()) {
    case simdjson::dom::element_type::ARRAY: {
      JsonValue::Array items;
      simdjson::dom::array array;
      if (element.get_array().get(array) != simdjson::SUCCESS) break;
      for (simdjson::dom::element item : array) {
        items.push_back(from_element(item));
      }
      return JsonValue::array(std::move(items));
    }
    case simdjson::dom::element_type::OBJECT: {
      JsonValue::Object members;
      simdjson::dom::object object;
      if (element.get_object().get(object) != simdjson::SUCCESS) break;
      for (simdjson::dom::key_value_pair field : object) {
        members.emplace_back(std::string(field.key), from_element(field.value));
      }
      return JsonValue::object(std::move(members));
    }
    case simdjson::dom::element_type::INT64: {
      std::int64_t n = 0;
      if (element.get_int64().get(n) != simdjson::SUCCESS) break;
      return JsonValue::integer(n);
    }
    case simdjson::dom::element_type::UINT64:
      // Only values above INT64_MAX land here; Python would keep them exact,
      // but no ECR member is that large, so a double is close enough.
    {
      std::uint64_t n = 0;
      if (element.get_uint64().get(n) != simdjson::SUCCESS) break;
      return JsonValue::number(static_cast<double>(n));
    }
    case simdjson::dom::element_type::DOUBLE: {
      double d = 0;
      if (element.get_double().get(d) != simdjson::SUCCESS) break;
      return JsonValue::number(d);
    }
    case simdjson::dom::element_type::STRING: {
      std::string_view text;
      if (element.get_string().get(text) != simdjson::SUCCESS) break;
      return JsonValue::string(std::string(text));
    }
    case simdjson::dom::element_type::BOOL: {
      bool b = false;
      if (element.get_bool().get(b) != simdjson::SUCCESS) break;
      return JsonValue::boolean(b);
    }
    case simdjson::dom::element_type::NULL_VALUE:
      break;
  }
  return JsonValue();
}

void write(const JsonValue& value, json::Writer& writer) {
  if (value.is_null()) {
    writer.null();
  } else if (value.is_bool()) {
    writer.boolean(value.as_bool());
  } else if (value.is_integer()) {
    writer.integer(value.as_integer());
  } else if (value.is_number()) {
    writer.number(value.as_number());
  } else if (value.is_string()) {
    writer.string(value.as_string());
  } else if (value.is_array()) {
    writer.begin_array();
    for (const JsonValue& item : value.as_array()) write(item, writer);
    writer.end_array();
  } else {
    writer.begin_object();
    for (const auto& [name, member] : value.as_object()) {
      writer.key(name);
      write(member, writer);
    }
    writer.end_object();
  }
}

}  // namespace

JsonValue parse_json(std::string_view text, std::string_view what) {
  try {
    return from_element(json::parse(json::thread_parser(), text, what));
  } catch (const UsageError&) {
    throw;
  } catch (const InputError& e) {
    throw UsageError(e.what());
  }
}

JsonValue parse_service_json(std::string_view text, std::string_view what) {
  return from_element(json::parse(json::thread_parser(), text, what));
}

std::string to_compact_json(const JsonValue& value) {
  std::string out;
  json::Writer writer(out);
  write(value, writer);
  return out;
}

std::string to_pretty_json(const JsonValue& value) {
  std::string out;
  json::Writer writer(out, true);
  write(value, writer);
  return out;
}

}  // namespace ecr::cli
