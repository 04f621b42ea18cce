#include "addon.h"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace {

using Kernel = uint32_t (*)(uint32_t crc, const uint8_t* data, size_t length);

constexpr uint32_t kCastagnoliReflected = 0x82F63B78;

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (kCastagnoliReflected & (0u - (crc & 1u)));
    table[byte] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

uint32_t TableKernel(uint32_t crc, const uint8_t* data, size_t length) {
  for (size_t i = 0; i < length; ++i) crc = kTable[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
// Compiled for SSE4.2 on its own so the rest of the addon still runs on any x86-64 CPU;
// it is only called after the CPU said it has the instruction.
__attribute__((target("sse4.2"))) uint32_t Sse42Kernel(uint32_t crc, const uint8_t* data, size_t length) {
  uint64_t wide = crc;
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, sizeof word);
    wide = _mm_crc32_u64(wide, word);
  }
  crc = static_cast<uint32_t>(wide);
  for (; i < length; ++i) crc = _mm_crc32_u8(crc, data[i]);
  return crc;
}
#endif

Kernel PickKernel() {
#if defined(__x86_64__)
  // Runs during static initialisation, possibly before libgcc has filled in the CPU model.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2")) return Sse42Kernel;
#endif
  return TableKernel;
}

const Kernel kFastest = PickKernel();

// The seed is a previous result, so inverting in and out lets callers chain buffers:
// crc32c(b, crc32c(a)) == crc32c(a + b).
Napi::Value Run(const Napi::CallbackInfo& info, Kernel kernel) {
  Napi::Uint8Array buffer = info[0].As<Napi::Uint8Array>();
  const uint32_t seed = info[1].As<Napi::Number>().Uint32Value();
  return Napi::Number::New(info.Env(), ~kernel(~seed, buffer.Data(), buffer.ByteLength()));
}

}  // namespace

Napi::Value Crc32c(const Napi::CallbackInfo& info) { return Run(info, kFastest); }

Napi::Value Crc32cSoftware(const Napi::CallbackInfo& info) { return Run(info, TableKernel); }
