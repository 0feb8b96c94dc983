// apikeys::detail pipeline: a call as build / send / finish steps, driven on this thread or by async_send.
#ifndef APIKEYS_DETAIL_PIPELINE_HPP
#define APIKEYS_DETAIL_PIPELINE_HPP

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "../async_transport.hpp"
#include "../decoder.hpp"
#include "../error.hpp"
#include "../http.hpp"
#include "../log.hpp"
#include "../result.hpp"
#include "../transport.hpp"
#include "../version.hpp"
#include "exchange.hpp"

namespace APIKEYS_NAMESPACE::detail {

// A call, written once as a small state machine that never touches a transport itself:
//   start(request)            fills the first request, or finishes at once (a refused argument, no session);
//   finish(response)          a call of one exchange: makes the result of its classified outcome;
//   resume(response, request) a call of several: takes each outcome and fills the next request, or finishes;
//   fail(error)               the call's own wording of an error that did not come from an exchange.
// "Finishes" is returning the result; an empty optional means "send `request`". The drivers below run a
// machine on this thread (send) or hop from completion to completion (async_send). A one-exchange machine
// hands its result straight back to the caller's frame, so the synchronous path moves nothing extra.
template <class M>
concept one_exchange_machine = requires(M& m, result<http_response>&& response) {
  { m.finish(std::move(response)) } -> std::same_as<result<typename M::value_type>>;
};
template <class M>
concept many_exchange_machine = requires(M& m, http_request& request, result<http_response>&& response) {
  { m.resume(std::move(response), request) } -> std::same_as<std::optional<result<typename M::value_type>>>;
};
template <class M>
concept call_machine = requires(M& m, http_request& request, api_error error) {
  typename M::value_type;
  { m.start(request) } -> std::same_as<std::optional<result<typename M::value_type>>>;
  { m.fail(std::move(error)) } -> std::same_as<result<typename M::value_type>>;
} && (one_exchange_machine<M> || many_exchange_machine<M>);

/// What a queued call that never started completes with when its executor's pool shuts down.
inline api_error cancelled_error() {
  return client_error(errc::cancelled, "the executor shut down before the call started");
}

// An async_send's answer, finished like a sync one: a transport failure mapped, then exchange.hpp's finish.
inline result<http_response> finish_exchange(http_request& request, send_result_type&& sent) {
  if (!sent) return finish_exchange(request, result<http_response>{unexpected{from_transport_error(std::move(sent).error())}});
  return finish_exchange(request, result<http_response>{std::move(*sent)});
}

// One exchange as the log sees it: request_started when it begins, response when the transport answers
// (before section 5's classification, so the status and size are the wire's). answered() must come before
// the request is wiped, as it reads the route from it. Made only when a sink is on.
class exchange_log {
 public:
  exchange_log(const log_sink& logger, const http_request& request)
      : logger_(&logger), request_(&request), start_(std::chrono::steady_clock::now()) {
    if (!logger.enabled(log_level::debug)) return;
    log_event e;
    e.kind = log_event_kind::request_started;
    e.level = log_level::debug;
    e.method = request.method;
    e.route = route_of(request.url);
    logger.write(e);
  }
  void answered(const result<http_response>& sent) const {
    if (sent) return response(sent->status, sent->body.size(), {});
    response(0, 0, to_string(sent.error().code));
  }
  void answered(const send_result_type& sent) const {
    if (sent) return response(sent->status, sent->body.size(), {});
    response(0, 0, to_string(sent.error().code));
  }

 private:
  void response(int status, std::size_t body_size, std::string_view why) const {
    const log_level level = status == 0 ? log_level::error : status >= 400 ? log_level::warn : log_level::info;
    if (!logger_->enabled(level)) return;
    log_event e;
    e.kind = log_event_kind::response;
    e.level = level;
    e.method = request_->method;
    e.route = route_of(request_->url);
    e.status = status;
    e.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_);
    e.body_size = body_size;
    e.why = why;
    logger_->write(e);
  }

  const log_sink* logger_;
  const http_request* request_;
  std::chrono::steady_clock::time_point start_;
};

// A synchronous call on a transport that only has async_send: wait for the completion. It must not be
// the thread the completion runs on (an event loop calling a blocking client deadlocks itself).
template <class Transport>
send_result_type blocking_send(Transport& transport, const http_request& request) {
  struct slot {
    std::mutex mutex;
    std::condition_variable ready;
    std::optional<send_result_type> value;
    void fill(send_result_type&& sent) {
      const std::lock_guard lock(mutex);
      if (!value) value.emplace(std::move(sent));
      ready.notify_all();  // under the lock: the waiter may destroy the slot's last owner right after
    }
  };
  // Shared, so a transport that calls late (or twice) never touches a dead stack frame.
  auto shared = std::make_shared<slot>();
  contain_transport_throw([&] { transport.async_send(request, [shared](send_result_type sent) { shared->fill(std::move(sent)); }); },
                          [&](transport_error failure) { shared->fill(unexpected{std::move(failure)}); });
  std::unique_lock lock(shared->mutex);
  shared->ready.wait(lock, [&] { return shared->value.has_value(); });
  return std::move(*shared->value);
}

// One classified exchange on this thread: send() when the transport has it, else async_send and wait.
// With a sink (non-null only when it is on), the exchange is reported.
template <class Transport>
result<http_response> sync_exchange(Transport& transport, http_request& request, const log_sink* logger = nullptr) {
  if (logger) [[unlikely]] {
    const exchange_log note(*logger, request);
    if constexpr (apikeys::transport<Transport>) {
      auto sent = send(transport, request);
      note.answered(sent);
      return finish_exchange(request, std::move(sent));
    } else {
      auto sent = blocking_send(transport, request);
      note.answered(sent);
      return finish_exchange(request, std::move(sent));
    }
  }
  if constexpr (apikeys::transport<Transport>) {
    return exchange(transport, request);
  } else {
    return finish_exchange(request, blocking_send(transport, request));
  }
}

// The completion handed to async_send. Copies share one state, so whichever copy the transport calls,
// `done` runs once; a throw from async_send after it called the completion changes nothing.
template <class Done>
class exchange_completion {
  struct state {
    state(http_request& r, Done&& d) : request(&r), done(std::move(d)) {}
    std::atomic<bool> fired{false};
    http_request* request;
    std::optional<Done> done;
    std::optional<exchange_log> note{};
  };

 public:
  exchange_completion(http_request& request, Done&& done, const log_sink* logger = nullptr)
      : state_(std::make_shared<state>(request, std::move(done))) {
    if (logger) [[unlikely]] state_->note.emplace(*logger, request);
  }

  void operator()(send_result_type sent) const {
    if (state_->fired.exchange(true, std::memory_order_acq_rel)) return;
    if (state_->note) [[unlikely]] state_->note->answered(sent);
    auto response = finish_exchange(*state_->request, std::move(sent));
    // Moved out first, so what `done` owns (the request included) goes when it returns, not when the
    // transport drops its copy of this completion.
    Done done = std::move(*state_->done);
    state_->done.reset();
    done(std::move(response));
  }

 private:
  std::shared_ptr<state> state_;
};

// Starts one exchange; `done(result<http_response>)` runs once, on the transport's completion thread.
template <class Transport, class Done>
void async_exchange(Transport& transport, http_request& request, Done&& done, const log_sink* logger = nullptr) {
  const exchange_completion<std::decay_t<Done>> completion(request, std::forward<Done>(done), logger);
  contain_transport_throw([&] { transport.async_send(std::as_const(request), completion); },
                          [&](transport_error failure) { completion(unexpected{std::move(failure)}); });
}

/// Runs a machine to the end on this thread: the whole call, blocking. `logger`, when not null, is a sink
/// that is on; each exchange is reported to it.
template <class Transport, call_machine Machine>
result<typename Machine::value_type> run_sync(Transport& transport, Machine& machine, const log_sink* logger = nullptr) {
  http_request request;
  if constexpr (one_exchange_machine<Machine>) {
    if (auto refused = machine.start(request)) return std::move(*refused);
    return machine.finish(sync_exchange(transport, request, logger));
  } else {
    auto outcome = machine.start(request);
    while (!outcome) outcome = machine.resume(sync_exchange(transport, request, logger), request);
    return std::move(*outcome);
  }
}

template <class Transport, class Machine, class Done>
struct async_run {
  async_run(Transport& t, Machine&& m, Done&& d, const log_sink* l)
      : transport(t), machine(std::move(m)), done(std::move(d)), logger(l) {}
  Transport& transport;
  Machine machine;
  Done done;
  const log_sink* logger;
  http_request request;
};

template <class Run, class Outcome>
void finish_run(std::unique_ptr<Run> run, Outcome&& outcome) {
  auto done = std::move(run->done);
  run.reset();
  done(std::move(outcome));
}

template <class Run>
void send_next(std::unique_ptr<Run> run) {
  Run& current = *run;
  const log_sink* logger = current.logger;
  async_exchange(current.transport, current.request, [run = std::move(run)](result<http_response>&& response) mutable {
    if constexpr (one_exchange_machine<decltype(run->machine)>) {
      auto outcome = run->machine.finish(std::move(response));
      finish_run(std::move(run), std::move(outcome));
    } else {
      auto outcome = run->machine.resume(std::move(response), run->request);
      if (!outcome) return send_next(std::move(run));
      finish_run(std::move(run), std::move(*outcome));
    }
  }, logger);
}

/// Starts a machine and returns; `done(result<T>)` runs once when it finishes: on the thread of the
/// transport's last completion, or on this one if the call finishes before sending or the transport
/// completes inside async_send. With a transport that only has send(), the whole call runs here first.
template <class Transport, class Machine, class Done>
void run_async(Transport& transport, Machine&& machine, Done&& done, const log_sink* logger = nullptr) {
  using machine_type = std::remove_cvref_t<Machine>;
  if constexpr (!async_transport<Transport>) {
    machine_type m(std::forward<Machine>(machine));
    done(run_sync(transport, m, logger));
  } else {
    using run_type = async_run<Transport, machine_type, std::decay_t<Done>>;
    auto run = std::make_unique<run_type>(transport, machine_type(std::forward<Machine>(machine)),
                                          std::decay_t<Done>(std::forward<Done>(done)), logger);
    auto outcome = run->machine.start(run->request);
    if (outcome) return finish_run(std::move(run), std::move(*outcome));
    send_next(std::move(run));
  }
}

/// What a client hands its Executor: one call of one operation, not started yet (executor.hpp lists the
/// interface). It points at its client, which must outlive it.
template <class Owner, class Machine, class Policy>
class call {
 public:
  using result_type = result<typename Machine::value_type>;
  using value_type = decltype(Policy::apply(std::declval<result_type&&>()));
  static constexpr bool is_asynchronous = Owner::asynchronous_transport;

  call(Owner& owner, Machine machine) : owner_(&owner), machine_(std::move(machine)) {}

  value_type operator()() { return Policy::apply(run()); }
  result_type run() { return owner_->run_sync(machine_); }
  template <class Completion>
  void start(Completion&& completion) && {
    owner_->run_async(std::move(machine_), std::forward<Completion>(completion));
  }
  result_type abandon() { return machine_.fail(cancelled_error()); }
  static value_type apply(result_type&& outcome) { return Policy::apply(std::move(outcome)); }

 private:
  Owner* owner_;
  Machine machine_;
};

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_PIPELINE_HPP
