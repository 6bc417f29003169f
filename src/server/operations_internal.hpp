// Shared by the operation handler files; not part of Operations' contract.
#pragma once

#include <simdjson.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "api/serde.hpp"
#include "api/validate.hpp"
#include "ecr/model.hpp"
#include "ecr/service_errors.hpp"
#include "server/operations.hpp"
#include "server/registry.hpp"

namespace ecr::server::ops {

struct Env {
  Registry& registry;
  const DownloadSigner& signer;
  const RegistryTokens& tokens;
  std::chrono::seconds download_url_lifetime;
  const RequestContext& request;
  // Where UploadLayerPart decodes its part (RequestScratch::part); null: a
  // buffer of its own.
  std::string* part_buffer = nullptr;
  // UploadLayerPart's part when it was decoded before parsing (it lies in
  // *part_buffer; the body's layerPartBlob is empty then).
  std::optional<std::string_view> decoded_part;
  // When the part was decoded as it arrived: the upload and first byte the
  // intake read before the blob and the layer digest it fed the part
  // (layer_part_intake.hpp); null otherwise.
  LayerPartIntake::Part* taken_in = nullptr;
  const std::string& account() const { return registry.settings().account_id; }
};

using Handler = std::string (*)(Env&, simdjson::dom::element);

// Validates `body` as Req, decodes it, runs `fn` and encodes its answer.
template <class Req, class Fn>
std::string run(simdjson::dom::element body, Fn&& fn) {
  api::validate_json(Req::kShapeName, body);
  Req request = api::from_json<Req>(body);
  return api::to_json(fn(request));
}

// A registryId other than this registry's is refused up front.
void check_registry(Env& env, const std::optional<std::string>& registry_id);

std::string repository_arn(const Env& env, const std::string& name);

// A tag mutability's exclusion filters as ECR checks them: the
// *_WITH_EXCLUSION values need at least one, MUTABLE and IMMUTABLE take
// none (InvalidParameterException otherwise). Returns the patterns.
using ExclusionFilters = std::vector<api::ImageTagMutabilityExclusionFilter>;
std::vector<std::string> checked_exclusions(const std::string& mutability,
                                            const std::optional<ExclusionFilters>& filters);
// The filters' wire form; nullopt when there are none.
std::optional<ExclusionFilters> exclusion_filters(const std::vector<std::string>& patterns);
api::Repository to_api(const Env& env, const RepositoryInfo& info);
api::ImageIdentifier to_api(const ImageRef& ref);
ImageRef from_api(const api::ImageIdentifier& id);

// Handlers, one per operation, grouped by file.
std::string create_repository(Env&, simdjson::dom::element);
std::string describe_repositories(Env&, simdjson::dom::element);
std::string delete_repository(Env&, simdjson::dom::element);
std::string put_image_tag_mutability(Env&, simdjson::dom::element);
std::string put_image_scanning_configuration(Env&, simdjson::dom::element);
std::string tag_resource(Env&, simdjson::dom::element);
std::string untag_resource(Env&, simdjson::dom::element);
std::string list_tags_for_resource(Env&, simdjson::dom::element);
std::string describe_registry(Env&, simdjson::dom::element);
std::string get_authorization_token(Env&, simdjson::dom::element);
std::string put_account_setting(Env&, simdjson::dom::element);
std::string get_account_setting(Env&, simdjson::dom::element);

std::string initiate_layer_upload(Env&, simdjson::dom::element);
std::string upload_layer_part(Env&, simdjson::dom::element);
std::string complete_layer_upload(Env&, simdjson::dom::element);
std::string batch_check_layer_availability(Env&, simdjson::dom::element);
std::string get_download_url_for_layer(Env&, simdjson::dom::element);

std::string put_image(Env&, simdjson::dom::element);
std::string batch_get_image(Env&, simdjson::dom::element);
std::string batch_delete_image(Env&, simdjson::dom::element);
std::string list_images(Env&, simdjson::dom::element);
std::string describe_images(Env&, simdjson::dom::element);

std::string set_repository_policy(Env&, simdjson::dom::element);
std::string get_repository_policy(Env&, simdjson::dom::element);
std::string delete_repository_policy(Env&, simdjson::dom::element);
std::string put_lifecycle_policy(Env&, simdjson::dom::element);
std::string get_lifecycle_policy(Env&, simdjson::dom::element);
std::string delete_lifecycle_policy(Env&, simdjson::dom::element);
std::string start_lifecycle_policy_preview(Env&, simdjson::dom::element);
std::string get_lifecycle_policy_preview(Env&, simdjson::dom::element);

// The archive storage class (operations_archive.cpp).
std::string update_image_storage_class(Env&, simdjson::dom::element);

// Repository creation templates (operations_templates.cpp).
std::string create_repository_creation_template(Env&, simdjson::dom::element);
std::string describe_repository_creation_templates(Env&, simdjson::dom::element);
std::string update_repository_creation_template(Env&, simdjson::dom::element);
std::string delete_repository_creation_template(Env&, simdjson::dom::element);

// Registry-wide configuration, stored and echoed, and image scan and signing
// status (operations_registry_config.cpp).
std::string put_signing_configuration(Env&, simdjson::dom::element);
std::string get_signing_configuration(Env&, simdjson::dom::element);
std::string delete_signing_configuration(Env&, simdjson::dom::element);
std::string describe_image_signing_status(Env&, simdjson::dom::element);
std::string register_pull_time_update_exclusion(Env&, simdjson::dom::element);
std::string deregister_pull_time_update_exclusion(Env&, simdjson::dom::element);
std::string list_pull_time_update_exclusions(Env&, simdjson::dom::element);
std::string put_registry_policy(Env&, simdjson::dom::element);
std::string get_registry_policy(Env&, simdjson::dom::element);
std::string delete_registry_policy(Env&, simdjson::dom::element);
std::string put_registry_scanning_configuration(Env&, simdjson::dom::element);
std::string get_registry_scanning_configuration(Env&, simdjson::dom::element);
std::string batch_get_repository_scanning_configuration(Env&, simdjson::dom::element);
std::string start_image_scan(Env&, simdjson::dom::element);
std::string describe_image_scan_findings(Env&, simdjson::dom::element);

// OCI 1.1 referrers (operations_referrers.cpp).
std::string list_image_referrers(Env&, simdjson::dom::element);

}  // namespace ecr::server::ops
