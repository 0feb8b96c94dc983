// apikeys asynchronous transports: async_send, and the concept every client checks its Transport with.
#ifndef APIKEYS_ASYNC_TRANSPORT_HPP
#define APIKEYS_ASYNC_TRANSPORT_HPP

#include <type_traits>
#include <utility>

#include "http.hpp"
#include "result.hpp"
#include "transport.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

/// What an async_send completion is called with: the response, or why there is none.
using send_result_type = result<http_response, transport_error>;

namespace detail {
// Stands in for the completion a client passes, so the concept can try a call. Copyable, like the real
// one, so a transport may keep it in a std::function.
struct send_completion_probe {
  void operator()(send_result_type) const {}
};
}  // namespace detail

/// An asynchronous Transport: `t.async_send(request, completion)` starts one HTTP exchange and returns
/// without waiting for it. Later it calls `completion(r)` exactly once, with an http_response or a
/// result<http_response, transport_error>, on any thread (its own event loop, say) or even inside
/// async_send itself. `request` stays valid and unchanged until then. The completion is copyable and
/// cheap to copy; it must be called even when the transport shuts down (with a transport_error), or the
/// caller waits for ever. Called concurrently when a client is shared between threads.
template <class T>
concept async_transport = requires(T& t, const http_request& request, detail::send_completion_probe completion) {
  t.async_send(request, std::move(completion));
};

/// What a client takes as its Transport: `send`, `async_send`, or both. With both, the inline executor
/// uses send and the future, callback and coroutine executors use async_send.
template <class T>
concept any_transport = transport<T> || async_transport<T>;

namespace detail {
// The clients' check: one readable line when a type has neither operation.
template <class T>
constexpr bool check_any_transport() {
  static_assert(any_transport<std::remove_reference_t<T>>,
                "apikeys: the Transport type needs a member `send(const apikeys::http_request&)` returning "
                "apikeys::http_response or apikeys::result<apikeys::http_response, apikeys::transport_error>, "
                "or a member `async_send(const apikeys::http_request&, completion)` that calls completion with one");
  return true;
}
}  // namespace detail

}  // namespace apikeys

#endif  // APIKEYS_ASYNC_TRANSPORT_HPP
