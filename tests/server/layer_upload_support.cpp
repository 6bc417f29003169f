#include "server/layer_upload_support.hpp"

#include "ecr/digest.hpp"

namespace ecr::testing {

std::string upload_blob(Client& client, const std::string& repo, const std::string& bytes) {
  api::InitiateLayerUploadRequest initiate;
  initiate.repositoryName = repo;
  const std::string upload_id = client.initiate_layer_upload(initiate).uploadId.value();
  api::UploadLayerPartRequest part;
  part.repositoryName = repo;
  part.uploadId = upload_id;
  part.partFirstByte = 0;
  part.partLastByte = static_cast<std::int64_t>(bytes.size()) - 1;
  part.layerPartBlob = bytes;
  client.upload_layer_part(part);
  const std::string digest = Digest::of(bytes).str();
  api::CompleteLayerUploadRequest complete;
  complete.repositoryName = repo;
  complete.uploadId = upload_id;
  complete.layerDigests = {digest};
  client.complete_layer_upload(complete);
  return digest;
}

}  // namespace ecr::testing
