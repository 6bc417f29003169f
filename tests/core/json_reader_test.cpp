#include "core/json_reader.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>

#include "ecr/error.hpp"

namespace ecr {
namespace {

std::string json_parse_error(std::string_view text) {
  try {
    json::parse(json::thread_parser(), text, "DescribeRepositories response");
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(JsonReader, ParsesDocument) {
  // Not NUL-terminated and not padded: the reader copies what simdjson needs.
  const std::string text = R"({"repositories":[{"repositoryName":"app","n":3}]}xyz)";
  const std::string_view json_only(text.data(), text.size() - 3);
  simdjson::dom::element root = json::parse(json::thread_parser(), json_only, "response");
  std::string_view name;
  ASSERT_EQ(root["repositories"].at(0)["repositoryName"].get(name), simdjson::SUCCESS);
  EXPECT_EQ(name, "app");
  int64_t n = 0;
  ASSERT_EQ(root["repositories"].at(0)["n"].get(n), simdjson::SUCCESS);
  EXPECT_EQ(n, 3);
}

TEST(JsonReader, RejectsTruncatedDocument) {
  EXPECT_EQ(json_parse_error(R"({"a":[1,2)"),
            "invalid JSON in DescribeRepositories response: " +
                std::string(simdjson::error_message(simdjson::TAPE_ERROR)));
}

TEST(JsonReader, RejectsEmptyInput) {
  EXPECT_EQ(json_parse_error(""), "invalid JSON in DescribeRepositories response: " +
                                 std::string(simdjson::error_message(simdjson::EMPTY)));
}

TEST(JsonReader, RejectsTrailingGarbage) {
  EXPECT_NE(json_parse_error(R"({"a":1} x)"), "no error");
  EXPECT_NE(json_parse_error(R"({"a":1}{})"), "no error");
}

TEST(JsonReader, RejectsBadLiteralsAndStrings) {
  EXPECT_EQ(json_parse_error("[tru]"), "invalid JSON in DescribeRepositories response: " +
                                      std::string(simdjson::error_message(simdjson::T_ATOM_ERROR)));
  EXPECT_EQ(json_parse_error("\"a\xff\""),
            "invalid JSON in DescribeRepositories response: " +
                std::string(simdjson::error_message(simdjson::UTF8_ERROR)));
}

TEST(JsonReader, RejectsNestingDeeperThanTheLimit) {
  EXPECT_EQ(json::kMaxDepth, 1024u);
  const std::string ok = std::string(1024, '[') + std::string(1024, ']');
  EXPECT_EQ(json_parse_error(ok), "no error");
  const std::string too_deep = "invalid JSON in DescribeRepositories response: " +
                               std::string(simdjson::error_message(simdjson::DEPTH_ERROR));
  EXPECT_EQ(json_parse_error(std::string(1025, '[') + std::string(1025, ']')), too_deep);
  // Far deeper, objects and arrays: refused the same, without recursion.
  std::string hostile;
  for (int i = 0; i < 100'000; ++i) hostile += i % 2 ? "[" : "{\"a\":";
  hostile += "1";
  for (int i = 100'000 - 1; i >= 0; --i) hostile += i % 2 ? "]" : "}";
  EXPECT_EQ(json_parse_error(hostile), too_deep);
}

TEST(JsonReader, RefusesAParserAllocatedForAnotherDepth) {
  simdjson::dom::parser deeper;
  ASSERT_EQ(deeper.allocate(1024, 100'000), simdjson::SUCCESS);
  EXPECT_THROW(json::parse(deeper, "[]", "x"), std::logic_error);
}

TEST(JsonReader, ThreadParserIsPerThread) {
  simdjson::dom::parser* mine = &json::thread_parser();
  simdjson::dom::parser* other = nullptr;
  std::thread([&] { other = &json::thread_parser(); }).join();
  EXPECT_EQ(mine, &json::thread_parser());
  EXPECT_NE(mine, other);
}

}  // namespace
}  // namespace ecr
