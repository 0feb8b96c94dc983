// apikeys tests: every operation through every executor and error policy over real loopback HTTP, per adapter.
#include <doctest/doctest.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/emulator_server.hpp>
#include <apikeys/transport/httplib.hpp>
#if APIKEYS_TEST_HAVE_CURL
#include <apikeys/transport/curl.hpp>
#endif

#include <chrono>

#include "../unit/support/executor_matrix.hpp"

namespace {

using namespace std::chrono_literals;

template <class Transport, class Exec, class Policy>
struct setup {
  using transport = Transport;
  using executor = Exec;
  using policy = Policy;
};

// An emulator served on 127.0.0.1 by emulator_server, and a client reaching it through the adapter: the
// same calls as the in-process matrix, now through sockets, HTTP framing and the adapter's pool.
template <class Setup>
struct http_world {
  using executor = typename Setup::executor;
  using app_type = apikeys::basic_app_client<typename Setup::transport&, executor, typename Setup::policy>;

  static apikeys::app_config config_for(const apikeys::testing::emulator& emu,
                                        const apikeys::testing::emulator_server& server) {
    apikeys::app_config config;
    config.app_id = emu.app_id();
    config.base_url = server.base_url();
    config.timeout = 5000ms;
    return config;
  }

  apikeys::testing::emulator emu;
  apikeys::testing::emulator_server server{emu};
  typename Setup::transport transport;
  app_type app{transport, config_for(emu, server)};
};

}  // namespace

// clang-format off
#define APIKEYS_HTTP_SETUPS(T)                                                                                 \
  setup<T, apikeys::inline_executor, apikeys::throw_on_error>,                                                 \
  setup<T, apikeys::inline_executor, apikeys::return_result>,                                                  \
  setup<T, apikeys::future_executor, apikeys::throw_on_error>,                                                 \
  setup<T, apikeys::future_executor, apikeys::return_result>,                                                  \
  setup<T, apikeys::callback_executor, apikeys::throw_on_error>,                                               \
  setup<T, apikeys::callback_executor, apikeys::return_result>,                                                \
  setup<T, apikeys::coroutine_executor, apikeys::throw_on_error>,                                              \
  setup<T, apikeys::coroutine_executor, apikeys::return_result>
// clang-format on

TEST_CASE_TEMPLATE("every operation and login over loopback HTTP with cpp-httplib, through every executor and policy",
                   S, APIKEYS_HTTP_SETUPS(apikeys::httplib_transport)) {
  http_world<S> w;
  apikeys_tests::every_operation(w);
}

#if APIKEYS_TEST_HAVE_CURL
TEST_CASE_TEMPLATE("every operation and login over loopback HTTP with libcurl, through every executor and policy", S,
                   APIKEYS_HTTP_SETUPS(apikeys::curl_transport)) {
  http_world<S> w;
  apikeys_tests::every_operation(w);
}
#endif
