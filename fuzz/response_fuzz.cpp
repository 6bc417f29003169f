// libFuzzer: the client's generated response deserializers (api::from_json,
// src/api/serde*.cpp) on any body a service could send. The first byte picks
// the operation (kResponseShapes, every operation of the model), the rest is
// the body. A body that does not read is an InputError, the one failure
// from_json documents; a body that reads writes back (api::to_json) to a
// document that reads again and writes back to the very same text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/model_table.hpp"
#include "ecr/error.hpp"
#include "response_shapes.hpp"

namespace {

// The table names every operation of the model, in the model's order.
bool table_matches_model() {
  const auto operations = ecr::api::model::operations();
  if (operations.size() != ecr::fuzz::kResponseShapes.size()) return false;
  for (std::size_t i = 0; i < operations.size(); ++i) {
    if (operations[i].name != ecr::fuzz::kResponseShapes[i].operation) return false;
    if (operations[i].output != std::string(operations[i].name) + "Response") return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool complete = table_matches_model();
  if (!complete) {
    std::fprintf(stderr, "response_shapes.hpp does not list the model's operations\n");
    std::abort();
  }
  if (size == 0) return 0;
  const auto& shape = ecr::fuzz::kResponseShapes[data[0] % ecr::fuzz::kResponseShapes.size()];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string written;
  try {
    written = shape.reserialize(body);
  } catch (const ecr::InputError&) {
    return 0;
  }
  std::string rewritten;
  try {
    rewritten = shape.reserialize(written);
  } catch (const ecr::Error& e) {
    std::fprintf(stderr, "%.*s: what to_json wrote does not read back: %s\n%s\n",
                 static_cast<int>(shape.operation.size()), shape.operation.data(), e.what(),
                 written.c_str());
    std::abort();
  }
  if (rewritten != written) {
    std::fprintf(stderr, "%.*s: a second round trip changed the document\n%s\n%s\n",
                 static_cast<int>(shape.operation.size()), shape.operation.data(), written.c_str(),
                 rewritten.c_str());
    std::abort();
  }
  return 0;
}
