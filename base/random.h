/// \file
/// Rng: a seeded generator that gives the same bits on every run and machine. Uses a fixed
/// engine (std::mt19937_64 is specified exactly) with our own uniform and normal transforms:
/// `std::*_distribution` is implementation-defined and absl::BitGen is deliberately random.
/// Also the counter-based streams that random ops (dropout) draw from.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <string>

namespace tg {

/// A seeded random generator that gives the same sequence on every run and machine.
class Rng {
 public:
  /// A generator whose sequence is fixed by `seed`.
  explicit Rng(uint64_t seed) : engine_(seed) {}

  /// The next 64 random bits.
  uint64_t NextBits() { return engine_(); }
  /// Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  /// Standard normal by Box–Muller (one value per call; the partner is discarded for simplicity).
  double Normal() {
    double u1 = 1.0 - Uniform();  // (0, 1], so log is finite
    double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  /// Uniform integer in [0, n); n must be > 0.
  uint64_t Below(uint64_t n) { return engine_() % n; }

  // The stream's position as text (the engine's standard state format), to continue it in
  // another process, e.g. after resuming from a checkpoint.
  std::string SaveState() const;
  // Continues from SaveState()'s text; false, leaving the generator as it was, for anything
  // else.
  bool RestoreState(const std::string& text);

 private:
  std::mt19937_64 engine_;
};

/// SplitMix64's finaliser: a bijection on 64 bits whose outputs pass as independent uniforms.
inline uint64_t MixBits(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// murmur3's 32-bit finaliser: cheap enough to vectorise (8 lanes under AVX2).
inline uint32_t MixBits32(uint32_t x) {
  x = (x ^ (x >> 16)) * 0x85EBCA6Bu;
  x = (x ^ (x >> 13)) * 0xC2B2AE35u;
  return x ^ (x >> 16);
}

/// The key of a counter-based stream of 32 random bits per index: element i of stream `key`
/// is CounterBits(key, i), drawable on its own, so a kernel and its gradient redraw the same
/// numbers from the seed alone. Index i < 2^32 (a kernel keys each 2^32-block on its own,
/// StreamKey). Two rounds, so that streams of different keys are not shifts of each other.
struct CounterKey {
  /// \var a
  /// Mixed into the index before the first round.
  /// \var b
  /// Added between the two rounds.
  uint32_t a, b;
};
/// The key of block `block` (elements [block * 2^32, (block + 1) * 2^32)) of the stream
/// seeded with `seed`.
inline CounterKey StreamKey(uint64_t seed, uint64_t block = 0) {
  const uint64_t k = MixBits(seed ^ MixBits(block));
  return {static_cast<uint32_t>(k), static_cast<uint32_t>(k >> 32)};
}
/// Element i of the stream `key`: 32 random bits.
inline uint32_t CounterBits(CounterKey key, uint32_t i) {
  return MixBits32(MixBits32((i * 0x9E3779B9u) ^ key.a) + key.b);
}

/// The seed an op recorded with `seed` uses on replay number `run` of a compiled program:
/// run 0 repeats the recording, every later run draws new numbers.
inline uint64_t ReplaySeed(uint64_t seed, uint64_t run) {
  return run == 0 ? seed : MixBits(seed ^ MixBits(~run));
}

}  // namespace tg
