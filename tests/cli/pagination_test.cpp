// Paging as the AWS CLI v1 does it (botocore's PageIterator), against
// scripted pages.
#include "pagination.hpp"

#include <gtest/gtest.h>

#include "ecr/error.hpp"
#include "usage_error.hpp"

namespace ecr::cli {
namespace {

const api::model::OperationInfo& list_images() { return *api::model::find_operation("ListImages"); }

JsonValue json(std::string_view text) { return parse_json(text, "test"); }

// Answers each request from a script keyed by the nextToken it carries, and
// records the requests.
struct ScriptedService {
  std::vector<std::pair<std::string, std::string>> pages;  // token ("" = first) -> response
  std::vector<std::string> requests;

  PageCall call() {
    return [this](const JsonValue& request) {
      requests.push_back(to_compact_json(request));
      const JsonValue* token = request.find("nextToken");
      const std::string key = token ? token->as_string() : "";
      for (const auto& [page_token, response] : pages) {
        if (page_token == key) return json(response);
      }
      throw std::runtime_error("unscripted token " + key);
    };
  }
};

ScriptedService three_pages() {
  return {{{"", R"({"imageIds":[{"imageTag":"a"},{"imageTag":"b"}],"nextToken":"t1"})"},
           {"t1", R"({"imageIds":[{"imageTag":"c"}],"nextToken":"t2"})"},
           {"t2", R"({"imageIds":[{"imageTag":"d"}]})"}},
          {}};
}

TEST(Pagination, FetchesEveryPageAndMergesTheResultKey) {
  ScriptedService service = three_pages();
  const JsonValue result =
      run_operation(list_images(), json(R"({"repositoryName":"app"})"), {}, service.call());
  EXPECT_EQ(to_compact_json(result),
            R"({"imageIds":[{"imageTag":"a"},{"imageTag":"b"},{"imageTag":"c"},{"imageTag":"d"}]})");
  EXPECT_EQ(service.requests,
            (std::vector<std::string>{R"({"repositoryName":"app"})",
                                      R"({"repositoryName":"app","nextToken":"t1"})",
                                      R"({"repositoryName":"app","nextToken":"t2"})"}));
}

TEST(Pagination, NoPaginateMakesOneCallAndKeepsTheServiceToken) {
  ScriptedService service = three_pages();
  PagingOptions options;
  options.paginate = false;
  const JsonValue result =
      run_operation(list_images(), json(R"({"repositoryName":"app"})"), options, service.call());
  EXPECT_EQ(to_compact_json(result),
            R"({"imageIds":[{"imageTag":"a"},{"imageTag":"b"}],"nextToken":"t1"})");
}

TEST(Pagination, GivingTheServiceTokenTurnsPagingOff) {
  ScriptedService service = three_pages();
  const JsonValue result = run_operation(
      list_images(), json(R"({"repositoryName":"app","nextToken":"t1"})"), {}, service.call());
  EXPECT_EQ(to_compact_json(result), R"({"imageIds":[{"imageTag":"c"}],"nextToken":"t2"})");
  EXPECT_EQ(service.requests.size(), 1u);
}

TEST(Pagination, MaxItemsInsideAPageCutsItAndPrintsAResumeToken) {
  ScriptedService service = three_pages();
  PagingOptions options;
  options.max_items = 1;
  const JsonValue result =
      run_operation(list_images(), json(R"({"repositoryName":"app"})"), options, service.call());
  // The token botocore's TokenEncoder makes for {"nextToken": None, "boto_truncate_amount": 1}.
  EXPECT_EQ(to_compact_json(result),
            R"({"imageIds":[{"imageTag":"a"}],)"
            R"("NextToken":"eyJuZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAxfQ=="})");
}

TEST(Pagination, MaxItemsOnAPageBoundaryResumesWithTheServiceToken) {
  ScriptedService service = three_pages();
  PagingOptions options;
  options.max_items = 2;
  const JsonValue result =
      run_operation(list_images(), json(R"({"repositoryName":"app"})"), options, service.call());
  EXPECT_EQ(to_compact_json(result), R"({"imageIds":[{"imageTag":"a"},{"imageTag":"b"}],)"
                                     R"("NextToken":"eyJuZXh0VG9rZW4iOiAidDEifQ=="})");
}

TEST(Pagination, StartingTokenResumesInsideACutPage) {
  ScriptedService service = three_pages();
  PagingOptions options;
  options.starting_token = encode_resume_token(std::nullopt, 1);
  options.max_items = 2;
  const JsonValue result =
      run_operation(list_images(), json(R"({"repositoryName":"app"})"), options, service.call());
  EXPECT_EQ(to_compact_json(result), R"({"imageIds":[{"imageTag":"b"},{"imageTag":"c"}],)"
                                     R"("NextToken":"eyJuZXh0VG9rZW4iOiAidDIifQ=="})");
}

TEST(Pagination, ResumeTokenEncodingMatchesBotocore) {
  EXPECT_EQ(encode_resume_token(std::string("t1"), 2),
            "eyJuZXh0VG9rZW4iOiAidDEiLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAyfQ==");
}

TEST(Pagination, NoPaginateWithPagingOptionsIsAPaginationError) {
  ScriptedService service = three_pages();
  PagingOptions options;
  options.paginate = false;
  options.max_items = 3;
  try {
    run_operation(list_images(), json(R"({"repositoryName":"app"})"), options, service.call());
    FAIL() << "no error";
  } catch (const UsageError&) {
    FAIL() << "the AWS CLI treats this as a pagination error (255), not a usage error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "Error during pagination: Cannot specify --no-paginate along with pagination "
                 "arguments: --max-items");
  }
}

TEST(Pagination, ABadStartingTokenIsAUsageError) {
  ScriptedService service = three_pages();
  PagingOptions options;
  options.starting_token = "not-a-token";
  EXPECT_THROW(
      run_operation(list_images(), json(R"({"repositoryName":"app"})"), options, service.call()),
      UsageError);
}

TEST(Pagination, TheSameTokenTwiceStopsWithAnError) {
  ScriptedService service{{{"", R"({"imageIds":[],"nextToken":"t"})"},
                           {"t", R"({"imageIds":[],"nextToken":"t"})"}},
                          {}};
  EXPECT_THROW(run_operation(list_images(), json(R"({"repositoryName":"app"})"), {}, service.call()),
               InputError);
}

TEST(Pagination, NonAggregateKeysComeFromTheFirstPage) {
  ScriptedService service{
      {{"", R"({"registryId":"1","repositoryCreationTemplates":[{"prefix":"a"}],"nextToken":"t"})"},
       {"t", R"({"registryId":"2","repositoryCreationTemplates":[{"prefix":"b"}]})"}},
      {}};
  const JsonValue result =
      run_operation(*api::model::find_operation("DescribeRepositoryCreationTemplates"),
                    JsonValue::object(), {}, service.call());
  EXPECT_EQ(to_compact_json(result),
            R"({"repositoryCreationTemplates":[{"prefix":"a"},{"prefix":"b"}],"registryId":"1"})");
}

TEST(Pagination, OperationWithoutPaginatorIsOneCall) {
  ScriptedService service{{{"", R"({"repository":{"repositoryName":"app"}})"}}, {}};
  PagingOptions options;
  const JsonValue result = run_operation(*api::model::find_operation("CreateRepository"),
                                         json(R"({"repositoryName":"app"})"), options, service.call());
  EXPECT_EQ(to_compact_json(result), R"({"repository":{"repositoryName":"app"}})");
}

}  // namespace
}  // namespace ecr::cli
