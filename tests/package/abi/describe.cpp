// The unit that decodes: header-only or separately compiled, as the target says.
#include "describe.hpp"

bool decode_canned_key(apikeys::api_key& key) {
  apikeys::http_response response;
  response.status = 200;
  response.headers.push_back({"Content-Type", "application/json"});
  response.body = R"({"_id":"5e5e6f0abe4ae2a2c2c2d329","name":"laptop","disabled":false})";
  auto decoded = apikeys::decode_key(response);
  if (!decoded) return false;
  key = std::move(*decoded);
  return true;
}
