// A small, correct JSON writer: escapes quotes, backslashes and control
// characters, passes UTF-8 through untouched, writes integers exactly and
// doubles with the shortest round-tripping digits.
//
// Compact mode (the wire) writes no whitespace: {"a":[1,2]}. Pretty mode
// writes exactly what Python's json.dumps(value, indent=4, ensure_ascii=False)
// writes (what the AWS CLI prints): one item per line, 4-space indent, ": "
// after keys, empty containers as {} and [], doubles in Python's repr layout
// (1.0, 1e+16, 1e-05). Non-finite doubles are written as null.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ecr::json {

// Appends to a std::string owned by the caller. Tracks nesting only to place
// commas; structural misuse (a value where a key is required) is a programming
// error caught by assertions in debug builds.
//
//   std::string out;
//   json::Writer w(out);
//   w.begin_object(); w.key("repositoryName"); w.string("app"); w.end_object();
class Writer {
 public:
  explicit Writer(std::string& out, bool pretty = false);

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  void key(std::string_view k);
  void string(std::string_view s);
  void integer(std::int64_t v);
  void number(double v);
  void boolean(bool v);
  void null();
  // Inserts already-serialized JSON text as one value (trusted input only).
  void raw(std::string_view json_text);
  // Reserves `n` bytes of string payload and returns where to write them; the
  // caller fills exactly `n` bytes that need no escaping (e.g. base64), which
  // are written between quotes. Lets a 20 MiB part be encoded in place.
  char* string_in_place(std::size_t n);

 private:
  void before_value();
  void close(char bracket);
  void newline_and_indent(std::size_t depth);
  std::string& out_;
  bool pretty_;
  std::vector<bool> has_items_;  // one per open container
  bool after_key_ = false;
};

// Appends `s` escaped (without the surrounding quotes).
void escape_to(std::string& out, std::string_view s);

}  // namespace ecr::json
