// Rng: a seeded generator that gives the same bits on every run and machine. Uses a fixed
// engine (std::mt19937_64 is specified exactly) with our own uniform and normal transforms:
// std::*_distribution is implementation-defined and absl::BitGen is deliberately random.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

namespace tg {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t NextBits() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Standard normal by Box–Muller (one value per call; the partner is discarded for simplicity).
  double Normal() {
    double u1 = 1.0 - Uniform();  // (0, 1], so log is finite
    double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  // Uniform integer in [0, n).
  uint64_t Below(uint64_t n) { return engine_() % n; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace tg
