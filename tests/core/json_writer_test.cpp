#include "core/json_writer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>

namespace ecr {
namespace {

std::string escaped(std::string_view s) {
  std::string out;
  json::escape_to(out, s);
  return out;
}

TEST(JsonEscape, EveryControlCharacter) {
  const char* expected[32] = {
      "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
      "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
      "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
      "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
  };
  for (int c = 0; c < 32; ++c) {
    EXPECT_EQ(escaped(std::string(1, static_cast<char>(c))), expected[c]) << c;
  }
}

TEST(JsonEscape, QuotesAndBackslash) {
  EXPECT_EQ(escaped("say \"hi\" \\o/"), "say \\\"hi\\\" \\\\o/");
}

TEST(JsonEscape, PassesPrintableAsciiDelAndUtf8Through) {
  EXPECT_EQ(escaped("a/b <tag> 'x' \x7f"), "a/b <tag> 'x' \x7f");
  EXPECT_EQ(escaped("d\xc3\xa9j\xc3\xa0 vu \xe2\x82\xac \xf0\x9f\x90\xb3"),
            "d\xc3\xa9j\xc3\xa0 vu \xe2\x82\xac \xf0\x9f\x90\xb3");
}

TEST(JsonEscape, AppendsToExistingText) {
  std::string out = "x=";
  json::escape_to(out, "a\nb");
  EXPECT_EQ(out, "x=a\\nb");
}

TEST(JsonWriter, CompactHasNoWhitespace) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.key("repositoryName");
  w.string("app");
  w.key("imageIds");
  w.begin_array();
  w.begin_object();
  w.key("imageTag");
  w.string("v1");
  w.end_object();
  w.begin_object();
  w.end_object();
  w.end_array();
  w.key("maxResults");
  w.integer(100);
  w.key("force");
  w.boolean(false);
  w.key("none");
  w.null();
  w.key("empty");
  w.begin_array();
  w.end_array();
  w.end_object();
  EXPECT_EQ(out, R"({"repositoryName":"app","imageIds":[{"imageTag":"v1"},{}],"maxResults":100,)"
                 R"("force":false,"none":null,"empty":[]})");
}

// Expected text produced by Python 3.11:
//   json.dumps({"repositories": [{"repositoryName": "app", "n": 3, "scan": {"on": True},
//               "tags": [], "meta": {}, "x": None, "note": "caf\u00e9\n"}], "empty": [],
//               "f": 1.5, "nested": [[1, [2]], {}]}, indent=4, ensure_ascii=False)
TEST(JsonWriter, PrettyMatchesPythonJsonDumpsIndent4) {
  std::string out;
  json::Writer w(out, true);
  w.begin_object();
  w.key("repositories");
  w.begin_array();
  w.begin_object();
  w.key("repositoryName");
  w.string("app");
  w.key("n");
  w.integer(3);
  w.key("scan");
  w.begin_object();
  w.key("on");
  w.boolean(true);
  w.end_object();
  w.key("tags");
  w.begin_array();
  w.end_array();
  w.key("meta");
  w.begin_object();
  w.end_object();
  w.key("x");
  w.null();
  w.key("note");
  w.string("caf\xc3\xa9\n");
  w.end_object();
  w.end_array();
  w.key("empty");
  w.begin_array();
  w.end_array();
  w.key("f");
  w.number(1.5);
  w.key("nested");
  w.begin_array();
  w.begin_array();
  w.integer(1);
  w.begin_array();
  w.integer(2);
  w.end_array();
  w.end_array();
  w.begin_object();
  w.end_object();
  w.end_array();
  w.end_object();
  EXPECT_EQ(out,
            "{\n"
            "    \"repositories\": [\n"
            "        {\n"
            "            \"repositoryName\": \"app\",\n"
            "            \"n\": 3,\n"
            "            \"scan\": {\n"
            "                \"on\": true\n"
            "            },\n"
            "            \"tags\": [],\n"
            "            \"meta\": {},\n"
            "            \"x\": null,\n"
            "            \"note\": \"caf\xc3\xa9\\n\"\n"
            "        }\n"
            "    ],\n"
            "    \"empty\": [],\n"
            "    \"f\": 1.5,\n"
            "    \"nested\": [\n"
            "        [\n"
            "            1,\n"
            "            [\n"
            "                2\n"
            "            ]\n"
            "        ],\n"
            "        {}\n"
            "    ]\n"
            "}");
}

TEST(JsonWriter, PrettyEmptyTopLevelContainers) {
  std::string object, array;
  json::Writer wo(object, true);
  wo.begin_object();
  wo.end_object();
  json::Writer wa(array, true);
  wa.begin_array();
  wa.end_array();
  EXPECT_EQ(object, "{}");
  EXPECT_EQ(array, "[]");
}

TEST(JsonWriter, EscapesKeysAndStrings) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.key("a\"b");
  w.string("\t\\");
  w.end_object();
  EXPECT_EQ(out, R"({"a\"b":"\t\\"})");
}

TEST(JsonWriter, IntegersAreExact) {
  std::string out;
  json::Writer w(out);
  w.begin_array();
  w.integer(0);
  w.integer(-1);
  w.integer(std::numeric_limits<std::int64_t>::max());
  w.integer(std::numeric_limits<std::int64_t>::min());
  w.integer(52428800000);
  w.end_array();
  EXPECT_EQ(out, "[0,-1,9223372036854775807,-9223372036854775808,52428800000]");
}

std::string number_text(double v) {
  std::string out;
  json::Writer(out).number(v);
  return out;
}

// Each expected value is Python's repr() of the same double, which is what
// json.dumps writes.
TEST(JsonWriter, DoublesUsePythonReprLayout) {
  EXPECT_EQ(number_text(1.0), "1.0");
  EXPECT_EQ(number_text(0.0), "0.0");
  EXPECT_EQ(number_text(-0.0), "-0.0");
  EXPECT_EQ(number_text(0.1), "0.1");
  EXPECT_EQ(number_text(1.5), "1.5");
  EXPECT_EQ(number_text(-2.25), "-2.25");
  EXPECT_EQ(number_text(1700000000.123), "1700000000.123");
  EXPECT_EQ(number_text(1700000000.0), "1700000000.0");
  EXPECT_EQ(number_text(1e15), "1000000000000000.0");
  EXPECT_EQ(number_text(1e16), "1e+16");
  EXPECT_EQ(number_text(123456789012345678.0), "1.2345678901234568e+17");
  EXPECT_EQ(number_text(0.0001), "0.0001");
  EXPECT_EQ(number_text(0.00012), "0.00012");
  EXPECT_EQ(number_text(0.00001), "1e-05");
  EXPECT_EQ(number_text(1.5e-7), "1.5e-07");
  EXPECT_EQ(number_text(5e-324), "5e-324");
  EXPECT_EQ(number_text(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(number_text(12345.678), "12345.678");
}

TEST(JsonWriter, NonFiniteDoublesBecomeNull) {
  EXPECT_EQ(number_text(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(number_text(std::numeric_limits<double>::quiet_NaN()), "null");
}

TEST(JsonWriter, RawInsertsTextAsOneValue) {
  std::string out;
  json::Writer w(out);
  w.begin_array();
  w.raw(R"({"a":1})");
  w.raw("2");
  w.end_array();
  EXPECT_EQ(out, R"([{"a":1},2])");
}

TEST(JsonWriter, StringInPlaceReservesPayloadBetweenQuotes) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.key("uploadId");
  w.string("u");
  w.key("layerPartBlob");
  char* payload = w.string_in_place(8);
  std::memcpy(payload, "Zm9vYmFy", 8);
  w.key("partFirstByte");
  w.integer(0);
  w.end_object();
  EXPECT_EQ(out, R"({"uploadId":"u","layerPartBlob":"Zm9vYmFy","partFirstByte":0})");
}

}  // namespace
}  // namespace ecr
