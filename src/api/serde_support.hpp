// The building blocks the generated serde code is made of: one reader and one
// writer per wire type, and the member path that error messages name.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.hpp"
#include "ecr/model.hpp"

namespace ecr::api::serde {

// Where in a document the reader is: "imageIds[0].imageTag". Scopes append a
// step and take it off again when they end, so one string serves a whole parse.
class MemberPath {
 public:
  class Scope {
   public:
    Scope(std::string& text, std::size_t restore) : text_(text), restore_(restore) {}
    ~Scope() { text_.resize(restore_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    std::string& text_;
    std::size_t restore_;
  };

  [[nodiscard]] Scope member(std::string_view name);
  [[nodiscard]] Scope index(std::size_t i);
  [[nodiscard]] Scope key(std::string_view map_key);
  const std::string& str() const noexcept { return text_; }

 private:
  std::string text_;
};

// Throws InputError "expected <what> at '<path>'".
[[noreturn]] void throw_type_error(std::string_view what, const MemberPath& path);

// Parses a response or request document; an empty text reads as {} (some
// operations answer with an empty body). `what` names it in errors.
simdjson::dom::element parse_document(std::string_view text, std::string_view what);

simdjson::dom::object expect_object(simdjson::dom::element e, const MemberPath& path);

void read_value(simdjson::dom::element e, std::string& out, MemberPath& path);
void read_value(simdjson::dom::element e, std::int64_t& out, MemberPath& path);
void read_value(simdjson::dom::element e, bool& out, MemberPath& path);
void read_value(simdjson::dom::element e, double& out, MemberPath& path);
void read_value(simdjson::dom::element e, Timestamp& out, MemberPath& path);
void read_blob(simdjson::dom::element e, std::string& out, MemberPath& path);

// Structures: the generated read() overloads, found by argument-dependent lookup.
template <class S>
  requires requires { S::kShapeName; }
void read_value(simdjson::dom::element e, S& out, MemberPath& path) {
  read(e, out, path);
}

template <class T>
void read_value(simdjson::dom::element e, std::vector<T>& out, MemberPath& path) {
  simdjson::dom::array array;
  if (e.get_array().get(array) != simdjson::SUCCESS) throw_type_error("array", path);
  out.clear();
  out.reserve(array.size());
  std::size_t i = 0;
  for (const simdjson::dom::element item : array) {
    const auto scope = path.index(i++);
    read_value(item, out.emplace_back(), path);
  }
}

template <class T>
void read_value(simdjson::dom::element e, std::map<std::string, T>& out, MemberPath& path) {
  out.clear();
  for (const auto field : expect_object(e, path)) {
    const auto scope = path.key(field.key);
    read_value(field.value, out[std::string(field.key)], path);
  }
}

// A JSON null reads as "absent", as AWS SDKs treat it.
template <class T>
void read_member(simdjson::dom::element e, T& out, MemberPath& path, std::string_view name) {
  if (e.is_null()) return;
  const auto scope = path.member(name);
  read_value(e, out, path);
}

template <class T>
void read_member(simdjson::dom::element e, std::optional<T>& out, MemberPath& path,
                 std::string_view name) {
  if (e.is_null()) {
    out.reset();
    return;
  }
  const auto scope = path.member(name);
  read_value(e, out.emplace(), path);
}

void read_blob_member(simdjson::dom::element e, std::string& out, MemberPath& path,
                      std::string_view name);
void read_blob_member(simdjson::dom::element e, std::optional<std::string>& out,
                      MemberPath& path, std::string_view name);

inline void write_value(json::Writer& w, const std::string& v) { w.string(v); }
inline void write_value(json::Writer& w, std::int64_t v) { w.integer(v); }
inline void write_value(json::Writer& w, bool v) { w.boolean(v); }
inline void write_value(json::Writer& w, double v) { w.number(v); }
void write_value(json::Writer& w, Timestamp v);
// Base64 written straight into the output: a 20 MiB part is encoded once, in place.
void write_blob(json::Writer& w, std::string_view bytes);

template <class S>
  requires requires { S::kShapeName; }
void write_value(json::Writer& w, const S& v) {
  to_json(w, v);
}

template <class T>
void write_value(json::Writer& w, const std::vector<T>& v) {
  w.begin_array();
  for (const auto& item : v) write_value(w, item);
  w.end_array();
}

template <class T>
void write_value(json::Writer& w, const std::map<std::string, T>& v) {
  w.begin_object();
  for (const auto& [key, value] : v) {
    w.key(key);
    write_value(w, value);
  }
  w.end_object();
}

template <class T>
void write_member(json::Writer& w, std::string_view name, const T& v) {
  w.key(name);
  write_value(w, v);
}

template <class T>
void write_member(json::Writer& w, std::string_view name, const std::optional<T>& v) {
  if (!v) return;
  w.key(name);
  write_value(w, *v);
}

inline void write_blob_member(json::Writer& w, std::string_view name, const std::string& v) {
  w.key(name);
  write_blob(w, v);
}

inline void write_blob_member(json::Writer& w, std::string_view name,
                              const std::optional<std::string>& v) {
  if (!v) return;
  w.key(name);
  write_blob(w, *v);
}

}  // namespace ecr::api::serde
