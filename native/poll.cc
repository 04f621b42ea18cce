#include "addon.h"

#include <uv.h>

#include <cerrno>

namespace {

// Lives from watchPriority until the loop has closed the handle; owned by the handle.
struct PriorityWatch {
  uv_poll_t handle;
  napi_env env;
  Napi::FunctionReference callback;
  bool stopped = false;
};

void OnPriority(uv_poll_t* handle, int /*status*/, int /*events*/) {
  auto* watch = static_cast<PriorityWatch*>(handle->data);
  Napi::Env env(watch->env);
  Napi::HandleScope scope(env);
  try {
    // MakeCallback, not Call: it runs the microtasks the callback queues, as Node's own
    // handles do when they call into JavaScript from the loop.
    watch->callback.MakeCallback(env.Global(), {});
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

void OnClosed(uv_handle_t* handle) {
  delete static_cast<PriorityWatch*>(handle->data);
}

}  // namespace

Napi::Value WatchPriority(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) ThrowErrno(env, EINVAL, "napi_get_uv_event_loop", "");

  auto* watch = new PriorityWatch();
  watch->env = env;
  watch->callback = Napi::Persistent(info[1].As<Napi::Function>());
  watch->handle.data = watch;
  // PSI triggers and other kernel notifications signal POLLPRI, which only UV_PRIORITIZED asks for.
  int err = uv_poll_init(loop, &watch->handle, fd);
  if (err == 0) err = uv_poll_start(&watch->handle, UV_PRIORITIZED, OnPriority);
  if (err != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->handle), OnClosed);
    ThrowErrno(env, -err, "uv_poll_start", std::to_string(fd));
  }
  return Napi::Function::New(env, [watch](const Napi::CallbackInfo& stopInfo) -> Napi::Value {
    if (!watch->stopped) {
      watch->stopped = true;
      watch->callback.Reset();
      uv_close(reinterpret_cast<uv_handle_t*>(&watch->handle), OnClosed);
    }
    return stopInfo.Env().Undefined();
  }, "stop");
}
