#include "graph/parameter.h"

#include <cmath>

#include "gtest/gtest.h"
#include "testing/test_values.h"

namespace tg {
namespace {

using testing::Values;

TEST(ParameterStoreTest, InitialisersAreSeededAndRepeatExactly) {
  ParameterStore a({.seed = 42}), b({.seed = 42}), c({.seed = 43});
  auto pa = *a.Add("w", {8, 16}, Init::GlorotUniform());
  auto pb = *b.Add("w", {8, 16}, Init::GlorotUniform());
  auto pc = *c.Add("w", {8, 16}, Init::GlorotUniform());
  EXPECT_EQ(Values(pa), Values(pb));
  EXPECT_NE(Values(pa), Values(pc));
  double bound = std::sqrt(6.0 / (8 + 16));
  for (double v : Values(pa)) EXPECT_LE(std::abs(v), bound);
}

TEST(ParameterStoreTest, ZerosConstantAndUniformFillAsAsked) {
  ParameterStore s({.seed = 1});
  for (double v : Values(*s.Add("z", {5}, Init::Zeros()))) EXPECT_EQ(v, 0);
  for (double v : Values(*s.Add("c", {5}, Init::Constant(0.25)))) EXPECT_EQ(v, 0.25);
  for (double v : Values(*s.Add("u", {100}, Init::Uniform(2, 3)))) {
    EXPECT_GE(v, 2);
    EXPECT_LT(v, 3);
  }
}

TEST(ParameterStoreTest, OrthogonalRowsOrColumnsAreOrthonormal) {
  ParameterStore s({.seed = 7});
  for (Shape shape : {Shape{6, 6}, Shape{4, 9}, Shape{9, 4}}) {
    Parameter p = *s.Add(fmt::format("q{}", shape), shape, Init::Orthogonal(), DType::kF64);
    std::vector<double> m = Values(p);
    int64_t r = shape[0], c = shape[1];
    bool rows = r <= c;  // the shorter side is orthonormal
    int64_t n = rows ? r : c, len = rows ? c : r;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double dot = 0;
        for (int64_t k = 0; k < len; ++k) {
          dot += rows ? m[i * c + k] * m[j * c + k] : m[k * c + i] * m[k * c + j];
        }
        EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-12) << shape;
      }
    }
  }
  EXPECT_FALSE(s.Add("bad", {2, 2, 2}, Init::Orthogonal()).ok());
}

TEST(ParameterStoreTest, RefusesDuplicateNamesAndEmptyShapes) {
  ParameterStore s;
  ASSERT_TRUE(s.Add("encoder.lstm.weight_ih_l0", {4, 2}).ok());
  absl::StatusOr<Parameter> dup = s.Add("encoder.lstm.weight_ih_l0", {4, 2});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(s.Add("empty", {0, 3}).ok());
  EXPECT_FALSE(s.Add("ints", {3}, Init::Zeros(), DType::kI32).ok());
  EXPECT_TRUE(s.Find("encoder.lstm.weight_ih_l0").ok());
  EXPECT_EQ(s.Find("nope").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tg

namespace tg {
namespace {

TEST(ParameterStoreTest, CloneAsCopiesValuesAndGetOrAddBindsToTheCopy) {
  ParameterStore s({.seed = 5});
  Parameter w = *s.Add("lstm.weight_hh_l0", {3, 2}, Init::Uniform(-1, 1));
  w.set_frozen(true);
  ParameterStore d = s.CloneAs(DType::kF64);
  Parameter w64 = *d.GetOrAdd("lstm.weight_hh_l0", {3, 2}, Init::Zeros(), DType::kF64);
  EXPECT_EQ(w64.dtype(), DType::kF64);
  EXPECT_TRUE(w64.frozen());
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(w64.value().data<double>()[i], static_cast<double>(w.value().data<float>()[i]));
  }
  EXPECT_FALSE(d.GetOrAdd("lstm.weight_hh_l0", {2, 3}, Init::Zeros(), DType::kF64).ok());
  EXPECT_FALSE(d.GetOrAdd("lstm.weight_hh_l0", {3, 2}).ok());  // f32 asked of an f64 copy
  EXPECT_TRUE(d.GetOrAdd("new", {2}).ok());
  EXPECT_EQ(d.num_parameters(), 2);
}

}  // namespace
}  // namespace tg
