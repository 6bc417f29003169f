// Handlers: UpdateImageStorageClass (the archive storage class).
#include "server/operations_internal.hpp"

namespace ecr::server::ops {

std::string update_image_storage_class(Env& env, simdjson::dom::element body) {
  using Req = api::UpdateImageStorageClassRequest;
  return run<Req>(body, [&](const Req& r) {
    check_registry(env, r.registryId);
    Registry::StorageClassChange change = env.registry.update_storage_class(
        r.repositoryName, from_api(r.imageId), r.targetStorageClass);
    api::UpdateImageStorageClassResponse out;
    out.imageId = api::ImageIdentifier{change.digest, r.imageId.imageTag};
    out.imageStatus = change.status;
    out.registryId = env.account();
    out.repositoryName = r.repositoryName;
    return out;
  });
}

}  // namespace ecr::server::ops
