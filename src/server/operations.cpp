// Operation dispatch and the request decoding every handler shares.
#include "server/operations.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "api/model_table.hpp"
#include "core/base64.hpp"
#include "server/layer_part_body.hpp"
#include "server/operations_internal.hpp"

namespace ecr::server {
namespace {

using ops::Handler;

// Sorted by name for binary search.
constexpr std::array<std::pair<std::string_view, Handler>, 51> kHandlers = {{
    {"BatchCheckLayerAvailability", ops::batch_check_layer_availability},
    {"BatchDeleteImage", ops::batch_delete_image},
    {"BatchGetImage", ops::batch_get_image},
    {"BatchGetRepositoryScanningConfiguration", ops::batch_get_repository_scanning_configuration},
    {"CompleteLayerUpload", ops::complete_layer_upload},
    {"CreateRepository", ops::create_repository},
    {"CreateRepositoryCreationTemplate", ops::create_repository_creation_template},
    {"DeleteLifecyclePolicy", ops::delete_lifecycle_policy},
    {"DeleteRegistryPolicy", ops::delete_registry_policy},
    {"DeleteRepository", ops::delete_repository},
    {"DeleteRepositoryCreationTemplate", ops::delete_repository_creation_template},
    {"DeleteRepositoryPolicy", ops::delete_repository_policy},
    {"DeleteSigningConfiguration", ops::delete_signing_configuration},
    {"DeregisterPullTimeUpdateExclusion", ops::deregister_pull_time_update_exclusion},
    {"DescribeImageScanFindings", ops::describe_image_scan_findings},
    {"DescribeImageSigningStatus", ops::describe_image_signing_status},
    {"DescribeImages", ops::describe_images},
    {"DescribeRegistry", ops::describe_registry},
    {"DescribeRepositories", ops::describe_repositories},
    {"DescribeRepositoryCreationTemplates", ops::describe_repository_creation_templates},
    {"GetAccountSetting", ops::get_account_setting},
    {"GetAuthorizationToken", ops::get_authorization_token},
    {"GetDownloadUrlForLayer", ops::get_download_url_for_layer},
    {"GetLifecyclePolicy", ops::get_lifecycle_policy},
    {"GetLifecyclePolicyPreview", ops::get_lifecycle_policy_preview},
    {"GetRegistryPolicy", ops::get_registry_policy},
    {"GetRegistryScanningConfiguration", ops::get_registry_scanning_configuration},
    {"GetRepositoryPolicy", ops::get_repository_policy},
    {"GetSigningConfiguration", ops::get_signing_configuration},
    {"InitiateLayerUpload", ops::initiate_layer_upload},
    {"ListImageReferrers", ops::list_image_referrers},
    {"ListImages", ops::list_images},
    {"ListPullTimeUpdateExclusions", ops::list_pull_time_update_exclusions},
    {"ListTagsForResource", ops::list_tags_for_resource},
    {"PutAccountSetting", ops::put_account_setting},
    {"PutImage", ops::put_image},
    {"PutImageScanningConfiguration", ops::put_image_scanning_configuration},
    {"PutImageTagMutability", ops::put_image_tag_mutability},
    {"PutLifecyclePolicy", ops::put_lifecycle_policy},
    {"PutRegistryPolicy", ops::put_registry_policy},
    {"PutRegistryScanningConfiguration", ops::put_registry_scanning_configuration},
    {"PutSigningConfiguration", ops::put_signing_configuration},
    {"RegisterPullTimeUpdateExclusion", ops::register_pull_time_update_exclusion},
    {"SetRepositoryPolicy", ops::set_repository_policy},
    {"StartImageScan", ops::start_image_scan},
    {"StartLifecyclePolicyPreview", ops::start_lifecycle_policy_preview},
    {"TagResource", ops::tag_resource},
    {"UntagResource", ops::untag_resource},
    {"UpdateImageStorageClass", ops::update_image_storage_class},
    {"UpdateRepositoryCreationTemplate", ops::update_repository_creation_template},
    {"UploadLayerPart", ops::upload_layer_part},
}};

Handler find_handler(std::string_view operation) {
  auto it =
      std::lower_bound(kHandlers.begin(), kHandlers.end(), operation,
                       [](const auto& entry, std::string_view name) { return entry.first < name; });
  return it != kHandlers.end() && it->first == operation ? it->second : nullptr;
}

}  // namespace

Operations::Operations(Registry& registry, const DownloadSigner& signer,
                       const RegistryTokens& tokens, std::chrono::seconds download_url_lifetime)
    : registry_(registry),
      signer_(signer),
      tokens_(tokens),
      download_url_lifetime_(download_url_lifetime) {}

bool Operations::implements(std::string_view operation) noexcept {
  return find_handler(operation) != nullptr;
}

std::string Operations::invoke(std::string_view operation, std::string_view body,
                               const RequestContext& context) {
  simdjson::dom::parser parser;
  return dispatch(operation, parser, body, false, nullptr, context);
}

namespace {

// UploadLayerPart's part decoded from where its base64 lies in the body,
// into `part` at a 4 KiB-aligned address, and the base64 cut out of the body
// so the parser reads a few hundred bytes instead of copying megabytes.
// nullopt, with the body untouched, when the body is not the plain shape
// (find_plain_string_member), the base64 does not decode, or the part is
// over the model's limit: the whole body is then parsed as for any request,
// with the errors that path gives.
std::optional<std::string_view> take_layer_part(std::string& body, std::string& part) {
  const auto span = find_plain_string_member(body, "layerPartBlob");
  if (!span) return std::nullopt;
  const std::string_view base64_text =
      std::string_view(body).substr(span->begin, span->end - span->begin);
  const std::size_t room = base64::max_decoded_size(base64_text.size()) + kLayerPartAlignment;
  // Only grows, so a warm buffer is neither reallocated nor zeroed again.
  if (part.size() < room) part.resize(room);
  const std::size_t skew = layer_part_skew(part.data());
  std::size_t size = 0;
  try {
    size = base64::decode_to(base64_text, part.data() + skew);
  } catch (const InputError&) {
    return std::nullopt;
  }
  if (size > kMaxLayerPartBytes) return std::nullopt;
  body.erase(span->begin, span->end - span->begin);
  return std::string_view(part.data() + skew, size);
}

// UploadLayerPart's part as the listener's intake decoded it while the body
// arrived, with the base64 cut out of the body; nullopt, the body untouched,
// unless the body is the plain shape find_plain_string_member accepts with
// its blob exactly where the intake saw it (whose characters the intake
// checked: no quote, no escape, all base64).
std::optional<LayerPartIntake::Part> take_intake_part(RequestScratch& scratch) {
  std::optional<LayerPartIntake::Part> taken = scratch.intake.take_part();
  if (!taken) return std::nullopt;
  std::string& body = scratch.body;
  const auto span = find_plain_string_member(body, "layerPartBlob", taken->blob);
  if (!span || span->begin != taken->blob.begin || span->end != taken->blob.end) {
    return std::nullopt;
  }
  body.erase(span->begin, span->end - span->begin);
  return taken;
}

}  // namespace

std::string Operations::invoke(std::string_view operation, RequestScratch& scratch,
                               const RequestContext& context) {
  std::optional<std::string_view> decoded_part;
  std::optional<LayerPartIntake::Part> taken_in;
  if (operation == "UploadLayerPart") {
    taken_in = take_intake_part(scratch);
    decoded_part =
        taken_in ? std::optional(taken_in->bytes) : take_layer_part(scratch.body, scratch.part);
  }
  bool padded = scratch.body.capacity() - scratch.body.size() >= simdjson::SIMDJSON_PADDING;
  return dispatch(operation, scratch.parser, scratch.body, padded, &scratch.part, context,
                  decoded_part, taken_in ? &*taken_in : nullptr);
}

std::string Operations::dispatch(std::string_view operation, simdjson::dom::parser& parser,
                                 std::string_view body, bool padded, std::string* part_buffer,
                                 const RequestContext& context,
                                 std::optional<std::string_view> decoded_part,
                                 LayerPartIntake::Part* taken_in) {
  Handler handler = find_handler(operation);
  if (!handler) {
    if (api::model::find_operation(operation)) {
      throw ServiceError("UnsupportedOperationException",
                         "ecr-local does not implement " + std::string(operation));
    }
    throw ServiceError("UnknownOperationException", "");
  }
  // An empty body is an empty request, as botocore sends for no input.
  if (body.empty()) {
    body = "{}";
    padded = false;
  }
  simdjson::dom::element document;
  // Without padding after the body, simdjson parses a padded copy of it.
  if (auto error = parser.parse(body.data(), body.size(), !padded).get(document)) {
    throw ServiceError("SerializationException", "invalid JSON in request body: " +
                                                     std::string(simdjson::error_message(error)));
  }
  if (!document.is_object()) {
    throw ServiceError("SerializationException",
                       "Start of list or value found where an object was expected");
  }
  ops::Env env{registry_, signer_,     tokens_,      download_url_lifetime_,
               context,   part_buffer, decoded_part, taken_in};
  try {
    return handler(env, document);
  } catch (const api::ValidationError& e) {
    if (e.constraint() == "type") throw ServiceError("SerializationException", e.what());
    throw api::InvalidParameterException(e.what());
  } catch (const ServiceError&) {
    throw;
  } catch (const InputError& e) {
    // A member of the wrong JSON type (from_json names the member path).
    throw ServiceError("SerializationException", e.what());
  }
}

namespace ops {

void check_registry(Env& env, const std::optional<std::string>& registry_id) {
  if (registry_id && *registry_id != env.account()) {
    throw api::InvalidParameterException(
        "Invalid parameter at 'registryId' failed to satisfy constraint: 'registry id " +
        *registry_id + " is not this registry (" + env.account() + ")'");
  }
}

std::string repository_arn(const Env& env, const std::string& name) {
  return "arn:aws:ecr:" + env.registry.settings().region + ":" + env.account() + ":repository/" +
         name;
}

std::vector<std::string> checked_exclusions(const std::string& mutability,
                                            const std::optional<ExclusionFilters>& filters) {
  const bool with_exclusion = mutability.ends_with("_WITH_EXCLUSION");
  const bool given = filters && !filters->empty();
  if (with_exclusion != given) {
    throw api::InvalidParameterException(
        "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy "
        "constraint: '" +
        std::string(with_exclusion ? "at least one exclusion filter is required with "
                                   : "exclusion filters are not allowed with ") +
        "imageTagMutability " + mutability + "'");
  }
  std::vector<std::string> patterns;
  if (given) {
    for (const auto& f : *filters) patterns.push_back(f.filter);
  }
  return patterns;
}

std::optional<ExclusionFilters> exclusion_filters(const std::vector<std::string>& patterns) {
  if (patterns.empty()) return std::nullopt;
  ExclusionFilters out;
  for (const auto& p : patterns) out.push_back({p, "WILDCARD"});
  return out;
}

api::Repository to_api(const Env& env, const RepositoryInfo& info) {
  api::Repository r;
  r.repositoryArn = repository_arn(env, info.name);
  r.registryId = env.account();
  r.repositoryName = info.name;
  r.repositoryUri =
      env.account() + ".dkr.ecr." + env.registry.settings().region + ".amazonaws.com/" + info.name;
  r.createdAt = info.created_at;
  r.imageTagMutability = info.tag_mutability;
  r.imageTagMutabilityExclusionFilters = exclusion_filters(info.tag_mutability_exclusions);
  r.imageScanningConfiguration = api::ImageScanningConfiguration{info.scan_on_push};
  r.encryptionConfiguration = api::EncryptionConfiguration{info.encryption_type, info.kms_key};
  return r;
}

api::ImageIdentifier to_api(const ImageRef& ref) { return {ref.digest, ref.tag}; }
ImageRef from_api(const api::ImageIdentifier& id) { return {id.imageDigest, id.imageTag}; }

}  // namespace ops
}  // namespace ecr::server
