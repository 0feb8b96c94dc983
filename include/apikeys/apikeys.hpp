// apikeys: the whole library but transport adapters and testing helpers, in one include.
#ifndef APIKEYS_APIKEYS_HPP
#define APIKEYS_APIKEYS_HPP

#include "version.hpp"
#include "object_id.hpp"
#include "secret.hpp"
#include "http.hpp"
#include "log.hpp"
#include "error.hpp"
#include "result.hpp"
#include "api_key.hpp"
#include "auth_types.hpp"
#include "transport.hpp"
#include "async_transport.hpp"
#include "config.hpp"
#include "credentials.hpp"
#include "session.hpp"
#include "session_store.hpp"
#include "decoder.hpp"
#include "operations.hpp"
#include "operations/keys.hpp"
#include "operations/auth.hpp"
#include "error_policy.hpp"
#include "executor.hpp"
#include "thread_pool.hpp"
#include "executors/future.hpp"
#include "executors/callback.hpp"
#include "executors/coroutine.hpp"
#include "task.hpp"
#include "client.hpp"
#include "app.hpp"

#endif  // APIKEYS_APIKEYS_HPP
