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
  ParameterStore d = *s.CloneAs(DType::kF64);
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

TEST(ParameterStoreTest, CloneAsAnIntegerDtypeIsRefused) {
  ParameterStore s;
  ASSERT_TRUE(s.Add("w", {2}).ok());
  absl::StatusOr<ParameterStore> ids = s.CloneAs(DType::kI32);
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ids.status().message().find("CloneAs: parameters must be f32 or f64, got i32"),
            std::string::npos)
      << ids.status();
}

}  // namespace
}  // namespace tg

namespace tg {
namespace {

TEST(ParameterStoreTest, SetConvertsToTheParameterDtypeAndGetReadsItBack) {
  ParameterStore s;
  ASSERT_TRUE(s.Add("w32", {2, 2}).ok());
  ASSERT_TRUE(s.Add("w64", {3}, Init::Zeros(), DType::kF64).ok());
  const std::vector<double> d = {0.1, -2.5, 3.0, 1e-3};
  const std::vector<float> f = {0.5f, -1.25f, 7.0f};
  ASSERT_TRUE(s.Set("w32", d).ok());
  ASSERT_TRUE(s.Set("w64", f).ok());
  std::vector<double> want32;
  for (double v : d) want32.push_back(static_cast<float>(v));  // rounded to f32 once
  EXPECT_EQ(*s.Get("w32"), want32);
  EXPECT_EQ(*s.Get("w64"), (std::vector<double>{0.5, -1.25, 7.0}));
  EXPECT_EQ(s.Find("w32")->value().data<float>()[1], -2.5f);
  // Set twice: the second call replaces the values.
  ASSERT_TRUE(s.Set("w64", std::vector<double>{1, 2, 3}).ok());
  EXPECT_EQ(*s.Get("w64"), (std::vector<double>{1, 2, 3}));
}

TEST(ParameterStoreTest, SetAndGetNameAnUnknownParameterAndAWrongCount) {
  ParameterStore s;
  ASSERT_TRUE(s.Add("lstm.weight_hh_l0", {8, 2}).ok());
  absl::Status wrong = s.Set("lstm.weight_hh_l0", std::vector<double>(15, 0.0));
  EXPECT_EQ(wrong.code(), absl::StatusCode::kInvalidArgument);
  for (const char* part : {"lstm.weight_hh_l0", "[8,2]", "16", "15"}) {
    EXPECT_NE(wrong.message().find(part), std::string::npos) << part << " in " << wrong;
  }
  EXPECT_EQ(*s.Get("lstm.weight_hh_l0"), std::vector<double>(16, 0.0));  // left untouched
  absl::Status unknown = s.Set("lstm.weight_hh_l1", std::vector<float>(16, 0.0f));
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.message().find("lstm.weight_hh_l1"), std::string::npos) << unknown;
  absl::StatusOr<std::vector<double>> missing = s.Get("gru.weight_hh_l0");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("gru.weight_hh_l0"), std::string::npos);
}

}  // namespace
}  // namespace tg
