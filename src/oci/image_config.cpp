// Image config parsing: the fields a transfer needs (platform, diff_ids,
// history); the bytes themselves are kept and never re-serialized.
#include "core/json_reader.hpp"
#include "ecr/error.hpp"
#include "ecr/manifest.hpp"
#include "oci/json_fields.hpp"

namespace ecr {

ImageConfig parse_image_config(std::string_view bytes) {
  if (bytes.size() > kMaxManifestBytes) {
    throw InputError("image config is " + std::to_string(bytes.size()) + " bytes; at most " +
                     std::to_string(kMaxManifestBytes) + " are accepted");
  }
  simdjson::dom::parser parser;
  oci::JsonObject doc = oci::as_object(json::parse(parser, bytes, "image config"), "config");
  ImageConfig c{.raw = std::string(bytes), .digest = Digest::of(bytes)};
  c.platform.architecture = oci::required_string(doc, "architecture", "config");
  c.platform.os = oci::required_string(doc, "os", "config");
  c.platform.variant = oci::optional_string(doc, "variant", "config");
  c.platform.os_version = oci::optional_string(doc, "os.version", "config");
  c.created = oci::optional_string(doc, "created", "config");

  auto rootfs = oci::field(doc, "rootfs");
  if (!rootfs) throw InputError("config.rootfs is missing");
  oci::JsonObject fs = oci::as_object(*rootfs, "config.rootfs");
  const std::string type = oci::required_string(fs, "type", "config.rootfs");
  if (type != "layers") {
    throw InputError("config.rootfs.type must be \"layers\" (found \"" + type + "\")");
  }
  auto ids = oci::field(fs, "diff_ids");
  if (!ids) throw InputError("config.rootfs.diff_ids is missing");
  std::size_t i = 0;
  for (oci::JsonElement id : oci::as_array(*ids, "config.rootfs.diff_ids")) {
    const std::string where = "config.rootfs.diff_ids[" + std::to_string(i++) + "]";
    const std::string text = oci::as_string(id, where);
    if (!Digest::valid(text)) {
      throw InputError(where + " is not a valid sha256 digest: \"" + text + "\"");
    }
    c.diff_ids.push_back(Digest::parse(text));
  }

  if (auto history = oci::field(doc, "history"); history && !history->is_null()) {
    i = 0;
    for (oci::JsonElement h : oci::as_array(*history, "config.history")) {
      const std::string where = "config.history[" + std::to_string(i++) + "]";
      oci::JsonObject o = oci::as_object(h, where);
      HistoryEntry entry;
      entry.created = oci::optional_string(o, "created", where);
      entry.created_by = oci::optional_string(o, "created_by", where);
      entry.author = oci::optional_string(o, "author", where);
      entry.comment = oci::optional_string(o, "comment", where);
      if (auto empty = oci::field(o, "empty_layer"); empty && !empty->is_null()) {
        if (empty->get_bool().get(entry.empty_layer) != simdjson::SUCCESS) {
          throw InputError(where + ".empty_layer must be a boolean");
        }
      }
      c.history.push_back(std::move(entry));
    }
  }
  return c;
}

}  // namespace ecr
