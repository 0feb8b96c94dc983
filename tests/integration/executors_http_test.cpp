// apikeys tests: every operation through every executor and error policy over real loopback HTTP, per adapter.
#include <doctest/doctest.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/emulator_server.hpp>
#include <apikeys/transport/httplib.hpp>
#if APIKEYS_TEST_HAVE_CURL
#include <apikeys/transport/curl.hpp>
#endif

#include "../unit/support/executor_matrix.hpp"

namespace {

// A cell of the matrix over loopback HTTP: an executor and a policy over the adapter's `Transport`.
template <class Transport>
struct over {
  template <class Exec, class Policy>
  struct setup {
    using transport = Transport;
    using executor = Exec;
    using policy = Policy;
  };
};

// An emulator served on 127.0.0.1 by emulator_server, and a client reaching it through the adapter: the
// same calls as the in-process matrix, now through sockets, HTTP framing and the adapter's pool.
template <class Setup>
struct http_world {
  using executor = typename Setup::executor;
  using app_type = apikeys::basic_app_client<typename Setup::transport&, executor, typename Setup::policy>;

  apikeys::testing::emulator emu;
  apikeys::testing::emulator_server server{emu};
  typename Setup::transport transport;
  app_type app{transport, apikeys_tests::config_for(emu, server.base_url())};
};

}  // namespace

TEST_CASE_TEMPLATE_DEFINE("every operation and login over loopback HTTP with cpp-httplib, through every executor and policy",
                          S, httplib_cells) {
  http_world<S> w;
  apikeys_tests::every_operation(w);
}
TEST_CASE_TEMPLATE_APPLY(httplib_cells, apikeys_tests::every_pair<over<apikeys::httplib_transport>::setup>);

#if APIKEYS_TEST_HAVE_CURL
TEST_CASE_TEMPLATE_DEFINE("every operation and login over loopback HTTP with libcurl, through every executor and policy",
                          S, curl_cells) {
  http_world<S> w;
  apikeys_tests::every_operation(w);
}
TEST_CASE_TEMPLATE_APPLY(curl_cells, apikeys_tests::every_pair<over<apikeys::curl_transport>::setup>);
#endif
