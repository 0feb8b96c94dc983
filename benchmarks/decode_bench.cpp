// apikeys benchmarks, part 1: decoding each answer with apikeys, by hand with simdjson, and with nlohmann.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <apikeys/apikeys.hpp>

#include "support/alloc_counter.hpp"
#include "support/fixtures.hpp"
#include "support/hand_decoders.hpp"
#include "support/profile.hpp"

namespace {

using apikeys::api_error;
using apikeys::api_key;
using apikeys::http_response;
using apikeys::login_response;
using apikeys::object_id;
using apikeys::result;
using apikeys::unexpected;
namespace hand = apikeys_bench::hand;
using apikeys_bench::malformed;

// --- nlohmann::json, parse then get: the usual way to read JSON in C++ ------------------------------------
namespace nl {

using json = nlohmann::json;

const std::string* string_member(const json& j, const char* name) {
  const auto it = j.find(name);
  return it != j.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

bool read_key(const json& j, api_key& key, bool with_secret) {
  if (!j.is_object()) return false;
  const std::string* id = string_member(j, "_id");
  const std::string* name = string_member(j, "name");
  const auto disabled = j.find("disabled");
  if (!id || !name || disabled == j.end() || !disabled->is_boolean()) return false;
  const auto parsed = object_id::parse(*id);
  if (!parsed) return false;
  key.id = *parsed;
  key.name = *name;
  key.enabled = !disabled->get<bool>();
  if (with_secret) {
    const std::string* value = string_member(j, "key");
    if (!value) return false;
    key.value.emplace(*value);
  }
  return true;
}

result<api_key> decode_created_key(const http_response& r) {
  const json j = json::parse(r.body, nullptr, false);
  api_key key;
  if (j.is_discarded() || !read_key(j, key, true)) return unexpected{malformed()};
  return key;
}

result<std::vector<api_key>> decode_key_list(const http_response& r) {
  const json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return unexpected{malformed()};
  std::vector<api_key> keys;
  for (const auto& element : j) {
    api_key key;
    if (!read_key(element, key, false)) return unexpected{malformed()};
    keys.push_back(std::move(key));
  }
  return keys;
}

result<login_response> decode_login(const http_response& r) {
  const json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return unexpected{malformed()};
  const std::string* access = string_member(j, "access_token");
  const std::string* refresh = string_member(j, "refresh_token");
  const std::string* user = string_member(j, "user_id");
  const std::string* device = string_member(j, "device_id");
  if (!access || !refresh || !user || !device) return unexpected{malformed()};
  login_response out;
  out.access_token = apikeys::secret{*access};
  out.refresh_token = apikeys::secret{*refresh};
  out.user_id = *user;
  out.device_id = *device;
  return out;
}

std::optional<api_error> classify_response(const http_response& r) {
  if (apikeys_bench::hand::json_content_type(r)) {
    const json j = json::parse(r.body, nullptr, false);
    if (!j.is_discarded() && j.is_object()) {
      const std::string* code = string_member(j, "error_code");
      if (code && !code->empty()) {
        api_error e;
        e.code = apikeys::errc_from_server_code(*code);
        e.http_status = r.status;
        e.server_code = *code;
        if (const std::string* message = string_member(j, "error")) e.message = *message;
        if (const std::string* link = string_member(j, "link")) e.link = *link;
        return e;
      }
    }
  }
  if (r.status < 200 || r.status > 299) {
    api_error e;
    e.code = apikeys::errc::http_error;
    e.http_status = r.status;
    e.message = r.body;
    return e;
  }
  return std::nullopt;
}

}  // namespace nl

// --- the same answer from all three, checked before anything is timed -----------------------------------

bool same(const api_key& a, const api_key& b) {
  return a.id == b.id && a.name == b.name && a.enabled == b.enabled && a.value.has_value() == b.value.has_value() &&
         (!a.value || *a.value == *b.value);
}
bool same(const std::vector<api_key>& a, const std::vector<api_key>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same(a[i], b[i])) return false;
  return true;
}
bool same(const login_response& a, const login_response& b) {
  return a.user_id == b.user_id && a.device_id == b.device_id && a.access_token == b.access_token &&
         a.refresh_token == b.refresh_token;
}
bool same(const api_error& a, const api_error& b) {
  return a.code == b.code && a.http_status == b.http_status && a.server_code == b.server_code &&
         a.message == b.message && a.link == b.link;
}
template <class T>
bool same(const result<T>& a, const result<T>& b) {
  return a && b && same(*a, *b);
}
template <class T>
bool same(const std::optional<T>& a, const std::optional<T>& b) {
  return a && b && same(*a, *b);
}

// --- what a result must allocate: the target for allocations per decode -------------------------------------
// Heap blocks a decoded value owns: strings past the small-string buffer, secrets, a vector's array.

std::size_t heap_blocks(const std::string& s) { return s.capacity() > std::string{}.capacity() ? 1 : 0; }
std::size_t heap_blocks(const apikeys::secret& s) { return s.empty() ? 0 : 1; }
std::size_t heap_blocks(const api_key& k) { return heap_blocks(k.name) + (k.value ? heap_blocks(*k.value) : 0); }
std::size_t heap_blocks(const login_response& l) {
  return heap_blocks(l.user_id) + heap_blocks(l.device_id) + heap_blocks(l.access_token) + heap_blocks(l.refresh_token);
}
std::size_t heap_blocks(const api_error& e) {
  return heap_blocks(e.server_code) + heap_blocks(e.message) + heap_blocks(e.link) + heap_blocks(e.context);
}
std::size_t heap_blocks(const std::vector<api_key>& keys) {
  std::size_t n = keys.empty() ? 0 : 1;  // one array, exactly sized, is all a list needs
  for (const auto& k : keys) n += heap_blocks(k);
  return n;
}
template <class T>
std::size_t heap_blocks(const result<T>& r) {
  return r ? heap_blocks(*r) : 0;
}
template <class T>
std::size_t heap_blocks(const std::optional<T>& o) {
  return o ? heap_blocks(*o) : 0;
}

// --- the benchmarks ---------------------------------------------------------------------------------------

const http_response& create_answer() {
  static const http_response r = apikeys_bench::json_response(201, apikeys_bench::create_body());
  return r;
}
const http_response& list20_answer() {
  static const http_response r = apikeys_bench::json_response(200, apikeys_bench::key_list_body(20));
  return r;
}
const http_response& list1000_answer() {
  static const http_response r = apikeys_bench::json_response(200, apikeys_bench::key_list_body(1000));
  return r;
}
const http_response& error_answer() {
  static const http_response r = apikeys_bench::json_response(404, apikeys_bench::error_body());
  return r;
}
const http_response& login_answer() {
  static const http_response r = apikeys_bench::json_response(200, apikeys_bench::login_body());
  return r;
}

template <auto Decode>
void run_decode(benchmark::State& state, const http_response& response) {
  std::size_t needed = 0;
  {
    auto warm = Decode(response);  // parser buffers and thread-locals are allocated once, before counting
    if (!warm) state.SkipWithError("the decoder refused the benchmark's answer");
    needed = heap_blocks(warm);
  }
  apikeys_bench::alloc_scope allocs;
  for (auto _ : state) {
    auto decoded = Decode(response);
    benchmark::DoNotOptimize(decoded);
  }
  allocs.report(state);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(response.body.size()));
  state.counters["body_bytes"] = static_cast<double>(response.body.size());
  state.counters["result_heap_blocks"] = static_cast<double>(needed);
}

template <auto Decode>
bool profile_decode(const char* name, const http_response& (*answer)()) {
  return apikeys_bench::add_profile(name, [answer] { benchmark::DoNotOptimize(Decode(answer())); });
}

// Each shape three ways: apikeys, the hand-written baseline, nlohmann; each also a --profile body.
#define APIKEYS_BENCH_DECODE(shape_name, answer, library, hand_written, nlohmann_way)                       \
  [[maybe_unused]] const bool profile_##shape_name =                                                        \
      profile_decode<library>("decode/" #shape_name "/apikeys", &answer) &&                                 \
      profile_decode<hand_written>("decode/" #shape_name "/simdjson", &answer) &&                           \
      profile_decode<nlohmann_way>("decode/" #shape_name "/nlohmann", &answer);                             \
  void decode_##shape_name##_apikeys(benchmark::State& s) { run_decode<library>(s, answer()); }             \
  void decode_##shape_name##_simdjson(benchmark::State& s) { run_decode<hand_written>(s, answer()); }       \
  void decode_##shape_name##_nlohmann(benchmark::State& s) { run_decode<nlohmann_way>(s, answer()); }       \
  BENCHMARK(decode_##shape_name##_apikeys)->Name("decode/" #shape_name "/apikeys");                        \
  BENCHMARK(decode_##shape_name##_simdjson)->Name("decode/" #shape_name "/simdjson");                      \
  BENCHMARK(decode_##shape_name##_nlohmann)->Name("decode/" #shape_name "/nlohmann")

APIKEYS_BENCH_DECODE(create, create_answer, &apikeys::decode_created_key, &hand::decode_created_key,
                     &nl::decode_created_key);
APIKEYS_BENCH_DECODE(list20, list20_answer, &apikeys::decode_key_list, &hand::decode_key_list,
                     &nl::decode_key_list);
APIKEYS_BENCH_DECODE(list1000, list1000_answer, &apikeys::decode_key_list, &hand::decode_key_list,
                     &nl::decode_key_list);
APIKEYS_BENCH_DECODE(error, error_answer, &apikeys::classify_response, &hand::classify_response,
                     &nl::classify_response);
APIKEYS_BENCH_DECODE(login, login_answer, &apikeys::decode_login, &hand::decode_login, &nl::decode_login);

// A decoder that disagrees with the others would make its timing meaningless: refuse to start.
[[maybe_unused]] const bool checked = [] {
  const bool ok = same(apikeys::decode_created_key(create_answer()), hand::decode_created_key(create_answer())) &&
                  same(apikeys::decode_created_key(create_answer()), nl::decode_created_key(create_answer())) &&
                  same(apikeys::decode_key_list(list20_answer()), hand::decode_key_list(list20_answer())) &&
                  same(apikeys::decode_key_list(list20_answer()), nl::decode_key_list(list20_answer())) &&
                  same(apikeys::decode_key_list(list1000_answer()), hand::decode_key_list(list1000_answer())) &&
                  same(apikeys::decode_key_list(list1000_answer()), nl::decode_key_list(list1000_answer())) &&
                  same(apikeys::classify_response(error_answer()), hand::classify_response(error_answer())) &&
                  same(apikeys::classify_response(error_answer()), nl::classify_response(error_answer())) &&
                  same(apikeys::decode_login(login_answer()), hand::decode_login(login_answer())) &&
                  same(apikeys::decode_login(login_answer()), nl::decode_login(login_answer()));
  if (!ok) {
    std::fputs("decode_bench: the three decoders disagree on a benchmark answer\n", stderr);
    std::abort();
  }
  return ok;
}();

}  // namespace
