#include "addon.h"

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

// Fills `address` for a numeric IPv4 or IPv6 host and returns its length.
socklen_t InetAddress(Napi::Env env, const std::string& host, int port, sockaddr_storage& address) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return sizeof(sockaddr_in);
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return sizeof(sockaddr_in6);
  }
  ThrowErrno(env, EINVAL, "inet_pton", host);
}

// A TCP socket bound to host:port with SO_REUSEADDR, and SO_REUSEPORT when asked.
int BoundSocket(Napi::Env env, const std::string& host, int port, bool reusePort) {
  const std::string subject = host + ":" + std::to_string(port);
  sockaddr_storage address{};
  const socklen_t length = InetAddress(env, host, port, address);
  const int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) ThrowErrno(env, errno, "socket", subject);
  auto fail = [&](const char* syscall) {
    const int err = errno;
    close(fd);
    ThrowErrno(env, err, syscall, subject);
  };
  const int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) fail("setsockopt");
  // SO_REUSEPORT gives every process that binds the port its own accept queue, and the
  // kernel spreads new connections across them; Node 20 has no way to ask for it.
  if (reusePort && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) fail("setsockopt");
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) < 0) fail("bind");
  return fd;
}

}  // namespace

Napi::Value ListenReusePort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string host = info[0].As<Napi::String>();
  const int port = info[1].As<Napi::Number>().Int32Value();
  const int backlog = info[2].As<Napi::Number>().Int32Value();
  const int fd = BoundSocket(env, host, port, true);
  if (listen(fd, backlog) < 0) {
    const int err = errno;
    close(fd);
    ThrowErrno(env, err, "listen", host + ":" + std::to_string(port));
  }
  return Napi::Number::New(env, fd);
}

Napi::Value ProbeBind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string host = info[0].As<Napi::String>();
  const int port = info[1].As<Napi::Number>().Int32Value();
  // Without SO_REUSEPORT, bind fails with EADDRINUSE while any socket listens on the
  // address, a reuseport group included; SO_REUSEADDR keeps TIME_WAIT leftovers out of it.
  // The socket never listens, so no connection can land in it.
  close(BoundSocket(env, host, port, false));
  return env.Undefined();
}

Napi::Value ListenUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = info[0].As<Napi::String>();
  const int backlog = info[1].As<Napi::Number>().Int32Value();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof address.sun_path - 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) ThrowErrno(env, errno, "socket", path);
  auto fail = [&](const char* syscall) {
    const int err = errno;
    close(fd);
    ThrowErrno(env, err, syscall, path);
  };
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) fail("bind");
  if (listen(fd, backlog) < 0) fail("listen");
  return Napi::Number::New(env, fd);
}

Napi::Value LocalPort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    ThrowErrno(env, errno, "getsockname", std::to_string(fd));
  }
  switch (address.ss_family) {
    case AF_INET:
      return Napi::Number::New(env, ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port));
    case AF_INET6:
      return Napi::Number::New(env, ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port));
    default:
      ThrowSyscallError(env, EAFNOSUPPORT, "getsockname",
                        "getsockname(" + std::to_string(fd) + "): not an IPv4 or IPv6 socket");
  }
}

Napi::Value PeerCred(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) < 0) {
    ThrowErrno(env, errno, "getsockopt", std::to_string(fd) + ", SO_PEERCRED");
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, credentials.pid));
  result.Set("uid", Napi::Number::New(env, credentials.uid));
  result.Set("gid", Napi::Number::New(env, credentials.gid));
  return result;
}
