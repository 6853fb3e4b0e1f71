#include "models/checkpoint.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "models/safetensors.h"
#include "nlohmann/json.hpp"
#include "tests/scratch_files.h"

namespace tg {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using test_files::ReadBytes;

// A fresh directory per test under the gtest temp dir.
std::string ScratchDir() { return test_files::FreshScratchDir("tg_checkpoint"); }

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A safetensors file from a raw header string; `length` overrides the stored header length.
std::string RawFile(std::string header, size_t data_bytes, int64_t length = -1) {
  header.append((8 - header.size() % 8) % 8, ' ');
  uint64_t n = length >= 0 ? static_cast<uint64_t>(length) : header.size();
  std::string out(reinterpret_cast<const char*>(&n), 8);
  return out + header + std::string(data_bytes, '\x01');
}

// Every parameter's value bytes, to check bit-exact round trips and untouched stores.
std::vector<std::string> Snapshot(const ParameterStore& store) {
  std::vector<std::string> out;
  for (const Parameter& p : store.parameters()) {
    out.emplace_back(static_cast<const char*>(p.value().raw()), p.value().num_bytes());
  }
  return out;
}

ParameterStore MakeStore(uint64_t seed, DType dtype = DType::kF32, int64_t hidden = 4) {
  ParameterStore store({.seed = seed});
  EXPECT_TRUE(store.Add("lstm.weight_ih_l0", {hidden, 3}, Init::Uniform(-1, 1), dtype).ok());
  EXPECT_TRUE(store.Add("lstm.bias_ih_l0", {hidden}, Init::Uniform(-1, 1), dtype).ok());
  EXPECT_TRUE(store.Add("fc.weight", {2, hidden}, Init::GlorotUniform(), dtype).ok());
  return store;
}

// The smallest optimizer with state: momentum for "fc.weight" and an i32 step count.
class FakeOptimizer : public Optimizer {
 public:
  explicit FakeOptimizer(ParameterStore& store) : w_(*store.Find("fc.weight")) {}
  absl::Status Step() override {
    std::vector<float>& m = Momentum();
    for (size_t i = 0; i < m.size(); ++i) m[i] = 0.9f * m[i] + w_.grad().data<float>()[i];
    ++step_;
    return absl::OkStatus();
  }
  double learning_rate() const override { return lr_; }
  void set_learning_rate(double lr) override { lr_ = lr; }
  std::vector<std::pair<std::string, Tensor>> StateTensors() override {
    std::vector<float>& m = Momentum();
    return {{"optimizer.momentum.fc.weight", Tensor(m.data(), DType::kF32, w_.shape())},
            {"optimizer.step", Tensor(&step_, DType::kI32, {})}};
  }
  int32_t step_ = 0;

 private:
  std::vector<float>& Momentum() {
    if (momentum_.empty()) momentum_.assign(w_.value().num_elements(), 0.0f);
    return momentum_;
  }
  Parameter w_;
  double lr_ = 0.1;
  std::vector<float> momentum_;
};

TEST(SafetensorsTest, WritesTheReferenceLayoutAndReadsItBack) {
  std::string path = ScratchDir() + "/t.safetensors";
  std::vector<float> f = {1.5f, -2.0f, 3.25f, 0.0f, 5.0f, 6.0f};
  std::vector<double> d = {0.1, -0.2};
  int32_t i = -7;
  std::vector<NamedTensorView> views = {{"f", Tensor(f.data(), DType::kF32, {2, 3})},
                                        {"d", Tensor(d.data(), DType::kF64, {2})},
                                        {"scalar", Tensor(&i, DType::kI32, {})},
                                        {"empty", Tensor(nullptr, DType::kF32, {0, 5})}};
  ASSERT_TRUE(WriteSafetensors(path, views, {{"format", "tapegrad"}}).ok());

  std::string bytes = ReadBytes(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + n + 6 * 4 + 2 * 8 + 4);
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["__metadata__"]["format"], "tapegrad");
  EXPECT_EQ(header["d"]["dtype"], "F64");
  EXPECT_EQ(header["d"]["data_offsets"], nlohmann::json::array({24, 40}));
  EXPECT_EQ(header["scalar"]["shape"], nlohmann::json::array());
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + n, f.data(), 24), 0);  // packed in order

  absl::StatusOr<SafetensorsFile> file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->tensors.size(), 4u);
  EXPECT_EQ(file->metadata.at("format"), "tapegrad");
  EXPECT_EQ(file->Find("f")->shape, Shape({2, 3}));
  EXPECT_EQ(file->Find("f")->ToDoubles(), std::vector<double>(f.begin(), f.end()));
  EXPECT_EQ(file->Find("d")->ToDoubles(), d);
  EXPECT_EQ(file->Find("scalar")->values<int32_t>()[0], -7);
  EXPECT_EQ(file->Find("empty")->num_elements(), 0);
  EXPECT_EQ(file->Find("nope"), nullptr);
}

TEST(SafetensorsTest, RejectsDuplicateAndReservedNames) {
  std::string path = ScratchDir() + "/t.safetensors";
  float x = 1;
  Tensor t(&x, DType::kF32, {1});
  EXPECT_FALSE(WriteSafetensors(path, {{"a", t}, {"a", t}}).ok());
  EXPECT_FALSE(WriteSafetensors(path, {{"__metadata__", t}}).ok());
  EXPECT_FALSE(WriteSafetensors(path, {{"bad\xff", t}}).ok());
  EXPECT_FALSE(fs::exists(path));
}

TEST(CheckpointTest, RoundTripIsBitExactInF32AndF64) {
  std::string dir = ScratchDir();
  for (DType dtype : {DType::kF32, DType::kF64}) {
    std::string path = fmt::format("{}/{}.safetensors", dir, dtype);
    ParameterStore saved = MakeStore(1, dtype), loaded = MakeStore(2, dtype);
    ASSERT_NE(Snapshot(saved), Snapshot(loaded));
    ASSERT_TRUE(SaveCheckpoint(path, saved).ok());
    absl::Status s = LoadCheckpoint(path, loaded);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(Snapshot(saved), Snapshot(loaded)) << DTypeName(dtype);
  }
}

TEST(CheckpointTest, F32CheckpointLoadsIntoF64Store) {
  std::string path = ScratchDir() + "/c.safetensors";
  ParameterStore f32 = MakeStore(1, DType::kF32), f64 = MakeStore(2, DType::kF64);
  ASSERT_TRUE(SaveCheckpoint(path, f32).ok());
  ASSERT_TRUE(LoadCheckpoint(path, f64).ok());
  EXPECT_EQ(Snapshot(*f32.CloneAs(DType::kF64)), Snapshot(f64));
}

TEST(CheckpointTest, RoundTripWithOptimizerState) {
  std::string path = ScratchDir() + "/c.safetensors";
  ParameterStore a = MakeStore(1), b = MakeStore(2);
  FakeOptimizer opt_a(a), opt_b(b);
  a.parameters()[2].grad().data<float>()[3] = 2.0f;
  ASSERT_TRUE(opt_a.Step().ok());
  ASSERT_TRUE(opt_a.Step().ok());
  ASSERT_TRUE(SaveCheckpoint(path, a, &opt_a).ok());

  absl::Status s = LoadCheckpoint(path, b, &opt_b);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Snapshot(a), Snapshot(b));
  EXPECT_EQ(opt_b.step_, 2);
  EXPECT_EQ(opt_b.StateTensors()[0].second.data<float>()[3], 0.9f * 2.0f + 2.0f);

  // Without an optimizer the "optimizer.*" keys are ignored ...
  ParameterStore c = MakeStore(3);
  EXPECT_TRUE(LoadCheckpoint(path, c).ok());
  EXPECT_EQ(Snapshot(a), Snapshot(c));
  // ... but an optimizer needs its state in the file.
  ASSERT_TRUE(SaveCheckpoint(path, a).ok());
  FakeOptimizer opt_c(c);
  s = LoadCheckpoint(path, c, &opt_c);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("'optimizer.step'"));
}

TEST(CheckpointTest, ExtrasRoundTripAndAreIgnoredUnlessAskedFor) {
  std::string path = ScratchDir() + "/c.safetensors";
  ParameterStore a = MakeStore(1), b = MakeStore(2);
  std::vector<float> carried = {0.5f, -1.25f, 3.0f};
  CheckpointExtras extras{.metadata = {{"run.position", "17"}},
                          .tensors = {{"extra.carried", Tensor(carried.data(), DType::kF32, {3})}}};
  ASSERT_TRUE(SaveCheckpoint(path, a, nullptr, extras).ok());

  LoadedExtras loaded;
  absl::Status s = LoadCheckpoint(path, b, nullptr, &loaded);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Snapshot(a), Snapshot(b));
  EXPECT_EQ(loaded.metadata.at("run.position"), "17");
  EXPECT_EQ(loaded.metadata.at("format"), "tapegrad");
  ASSERT_EQ(loaded.tensors.size(), 1u);
  EXPECT_EQ(loaded.tensors[0].name, "extra.carried");
  EXPECT_EQ(loaded.tensors[0].ToDoubles(), (std::vector<double>{0.5, -1.25, 3.0}));
  // Not asked for: ignored, as "optimizer.*" is without an optimizer.
  ParameterStore c = MakeStore(3);
  EXPECT_TRUE(LoadCheckpoint(path, c).ok());
  EXPECT_EQ(Snapshot(a), Snapshot(c));
  // A failed load returns no extras.
  ParameterStore other = MakeStore(4, DType::kF32, 8);
  LoadedExtras untouched;
  EXPECT_FALSE(LoadCheckpoint(path, other, nullptr, &untouched).ok());
  EXPECT_TRUE(untouched.metadata.empty());
  EXPECT_TRUE(untouched.tensors.empty());
  // The metadata alone.
  absl::StatusOr<std::map<std::string, std::string>> meta = ReadCheckpointMetadata(path);
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->at("run.position"), "17");
}

TEST(CheckpointTest, RefusesExtrasOutsideTheirNamespace) {
  std::string path = ScratchDir() + "/c.safetensors";
  ParameterStore a = MakeStore(1);
  float x = 1;
  absl::Status s =
      SaveCheckpoint(path, a, nullptr, {.tensors = {{"carried", Tensor(&x, DType::kF32, {1})}}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("extra tensor 'carried' does not begin with 'extra.'"));
  s = SaveCheckpoint(path, a, nullptr, {.metadata = {{"format", "mine"}}});
  EXPECT_THAT(s.message(), HasSubstr("metadata key 'format' is the library's own"));
  EXPECT_FALSE(fs::exists(path));
}

TEST(CheckpointTest, EveryTruncationFailsCleanlyAndLeavesTheStoreAlone) {
  std::string dir = ScratchDir();
  std::string full = dir + "/full.safetensors", cut = dir + "/cut.safetensors";
  ParameterStore saved = MakeStore(1, DType::kF32, 2), store = MakeStore(2, DType::kF32, 2);
  FakeOptimizer opt_saved(saved), opt(store);
  ASSERT_TRUE(SaveCheckpoint(full, saved, &opt_saved).ok());
  std::string bytes = ReadBytes(full);
  const auto before = Snapshot(store);
  for (size_t size = 0; size < bytes.size(); ++size) {
    // A new file each time: ext4 flushes a truncated-and-rewritten file on close (slow).
    std::string prefix = fmt::format("{}.{}", cut, size);
    WriteBytes(prefix, bytes.substr(0, size));
    absl::Status s = LoadCheckpoint(prefix, store, &opt);
    ASSERT_FALSE(s.ok()) << "prefix of " << size << " bytes loaded";
    EXPECT_THAT(s.message(), HasSubstr("'" + prefix + "'")) << size;
    ASSERT_EQ(Snapshot(store), before) << size;
    fs::remove(prefix);
  }
  WriteBytes(cut, bytes);
  EXPECT_TRUE(LoadCheckpoint(cut, store, &opt).ok());
}

TEST(CheckpointTest, CorruptHeadersAreRejectedWithTheReason) {
  std::string path = ScratchDir() + "/bad.safetensors";
  ParameterStore store({.seed = 1});
  ASSERT_TRUE(store.Add("w", {2, 3}, Init::Constant(0.5)).ok());
  const auto before = Snapshot(store);
  auto entry = [](const std::string& dtype, const std::string& shape, const std::string& offs) {
    return fmt::format(R"({{"w":{{"dtype":"{}","shape":{},"data_offsets":{}}}}})", dtype, shape,
                       offs);
  };
  struct Case {
    std::string name, file, expected;
  };
  std::vector<Case> cases = {
      {"bad json", RawFile(R"({"w":{"dtype":"F32",,}})", 24), "invalid at byte offset 28"},
      {"length past the end", RawFile(entry("F32", "[2,3]", "[0,24]"), 24, 4000),
       "header length 4000"},
      {"not an object", RawFile("[1,2]", 24), "not an object"},
      {"entry not an object", RawFile(R"({"w":3})", 24), "not a JSON object"},
      {"overlap",
       RawFile(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
               R"("v":{"dtype":"F32","shape":[1],"data_offsets":[20,24]}})",
               24),
       "overlap"},
      {"offsets past the end", RawFile(entry("F32", "[2,3]", "[8,32]"), 24), "data_offsets [8,32]"},
      {"offsets reversed", RawFile(entry("F32", "[0]", "[8,4]"), 24), "begin <= end"},
      {"unknown dtype", RawFile(entry("F16", "[2,3]", "[0,12]"), 24), "dtype \"F16\""},
      {"negative dim", RawFile(entry("F32", "[2,-3]", "[0,24]"), 24), "non-negative"},
      {"fractional dim", RawFile(entry("F32", "[2,1.5]", "[0,24]"), 24), "non-negative"},
      {"huge dims", RawFile(entry("F32", "[4294967296,4294967296]", "[0,24]"), 24), "needs more"},
      {"empty but overflowing dims",
       RawFile(entry("F32", "[4611686018427387904,4611686018427387904,0]", "[0,0]"), 24),
       "product overflows int64"},
      {"rank 9", RawFile(entry("F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]"), 24), "rank"},
      {"size mismatch", RawFile(entry("F32", "[2,3]", "[0,20]"), 24), "needs 24 bytes"},
      {"metadata not an object", RawFile(R"({"__metadata__":1})", 0), "__metadata__"},
      {"too short", std::string(5, '\0'), "too short"},
  };
  for (const Case& c : cases) {
    WriteBytes(path, c.file);
    absl::Status s = LoadCheckpoint(path, store);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << c.name << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr("checkpoint '" + path + "'")) << c.name;
    EXPECT_THAT(s.message(), HasSubstr(c.expected)) << c.name;
    EXPECT_EQ(Snapshot(store), before) << c.name;
  }
}

TEST(CheckpointTest, ModelMismatchesAreNamed) {
  std::string dir = ScratchDir();
  std::string path = dir + "/x.safetensors";
  ParameterStore store = MakeStore(1, DType::kF32, 16);
  const auto before = Snapshot(store);
  auto load = [&](const std::string& file) {
    WriteBytes(path, file);
    absl::Status s = LoadCheckpoint(path, store);
    EXPECT_EQ(Snapshot(store), before);
    return std::string(s.message());
  };
  // Shape that doesn't fit the model.
  ParameterStore small = MakeStore(1, DType::kF32, 8);
  ASSERT_TRUE(SaveCheckpoint(path, small).ok());
  EXPECT_EQ(load(ReadBytes(path)),
            fmt::format("checkpoint '{}': parameter 'lstm.weight_ih_l0' has shape [8,3] in the "
                        "file but [16,3] in the model",
                        path));
  // I32 into a float parameter.
  EXPECT_THAT(load(RawFile(R"({"lstm.weight_ih_l0":{"dtype":"I32","shape":[16,3],)"
                           R"("data_offsets":[0,192]}})",
                           192)),
              HasSubstr("parameter 'lstm.weight_ih_l0' is i32 in the file but f32"));
  // Missing and extra parameters.
  ParameterStore other({.seed = 1});
  ASSERT_TRUE(other.Add("lstm.weight_ih_l0", {16, 3}).ok());
  ASSERT_TRUE(other.Add("lstm.bias_ih_l0", {16}).ok());
  ASSERT_TRUE(other.Add("decoder.weight", {2, 16}).ok());
  ASSERT_TRUE(SaveCheckpoint(path, other).ok());
  EXPECT_THAT(load(ReadBytes(path)), HasSubstr("parameter 'fc.weight' is not in the file"));
  ASSERT_TRUE(other.Add("fc.weight", {2, 16}).ok());
  ASSERT_TRUE(SaveCheckpoint(path, other).ok());
  EXPECT_THAT(load(ReadBytes(path)), HasSubstr("the model does not: 'decoder.weight'"));
}

TEST(CheckpointTest, MissingFileIsNotFound) {
  std::string path = ScratchDir() + "/none.safetensors";
  ParameterStore store = MakeStore(1);
  absl::Status s = LoadCheckpoint(path, store);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_THAT(s.message(), HasSubstr("No such file"));
}

// Lists a directory, to see that no temp file is left behind.
std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(CheckpointTest, FailedSaveKeepsThePreviousFileAndNoTempFile) {
  std::string dir = ScratchDir();
  std::string path = dir + "/c.safetensors";
  ParameterStore old_store = MakeStore(1), big = MakeStore(2, DType::kF32, 64);
  ASSERT_TRUE(SaveCheckpoint(path, old_store).ok());
  EXPECT_EQ(Listing(dir), std::vector<std::string>{"c.safetensors"});
  const std::string old_bytes = ReadBytes(path);

  // Fail partway through the data: a file size limit stops write() with EFBIG (works as
  // root too, unlike a read-only directory).
  rlimit saved_limit{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved_limit), 0);
  auto saved_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit low = saved_limit;
  low.rlim_cur = old_bytes.size() + 100;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &low), 0);
  absl::Status s = SaveCheckpoint(path, big);
  setrlimit(RLIMIT_FSIZE, &saved_limit);
  std::signal(SIGXFSZ, saved_handler);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_THAT(s.message(), HasSubstr("write('" + path + ".tmp."));
  EXPECT_THAT(s.message(), HasSubstr("File too large"));
  EXPECT_EQ(ReadBytes(path), old_bytes);
  EXPECT_EQ(Listing(dir), std::vector<std::string>{"c.safetensors"});

  // Fail at creating the temp file: its directory is gone.
  const std::string gone = dir + "/gone/c.safetensors";
  s = SaveCheckpoint(gone, big);
  EXPECT_THAT(s.message(), HasSubstr("mkstemp('" + gone + ".tmp.XXXXXX') failed"));
  EXPECT_THAT(s.message(), HasSubstr("No such file"));
  EXPECT_EQ(ReadBytes(path), old_bytes);

  // Fail at rename: `path` is now a non-empty directory; the temp file is removed.
  std::string dir_path = dir + "/d.safetensors";
  fs::create_directories(dir_path + "/inside");
  s = SaveCheckpoint(dir_path, big);
  EXPECT_THAT(s.message(), HasSubstr("rename("));
  EXPECT_EQ(Listing(dir), (std::vector<std::string>{"c.safetensors", "d.safetensors"}));

  // And a good save replaces the file, whatever sits at a temp name another writer might
  // pick (temp names are unique: mkstemp).
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  fs::create_directory(tmp);
  ASSERT_TRUE(SaveCheckpoint(path, big).ok());
  EXPECT_NE(ReadBytes(path), old_bytes);
  fs::remove(tmp);
  EXPECT_EQ(Listing(dir), (std::vector<std::string>{"c.safetensors", "d.safetensors"}));
}

TEST(CheckpointTest, PythonRoundTripDoublesEveryFloat) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not available";
  }
  fs::path script = fs::path(__FILE__).parent_path() / "safetensors_roundtrip.py";
  ASSERT_TRUE(fs::exists(script)) << script;
  std::string dir = ScratchDir();
  std::string in = dir + "/in.safetensors", out = dir + "/out.safetensors";
  ParameterStore store = MakeStore(1);
  ASSERT_TRUE(store.Add("f64_param", {3}, Init::Uniform(-1, 1), DType::kF64).ok());
  FakeOptimizer opt(store);
  opt.step_ = 7;
  ASSERT_TRUE(SaveCheckpoint(in, store, &opt).ok());
  std::string cmd = fmt::format("/usr/bin/python3 '{}' '{}' '{}'", script.string(), in, out);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  absl::StatusOr<SafetensorsFile> file = ReadSafetensors(out);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->metadata.at("format"), "tapegrad");
  ParameterStore doubled = MakeStore(2);
  ASSERT_TRUE(doubled.Add("f64_param", {3}, Init::Zeros(), DType::kF64).ok());
  FakeOptimizer opt_doubled(doubled);
  absl::Status s = LoadCheckpoint(out, doubled, &opt_doubled);
  ASSERT_TRUE(s.ok()) << s;
  std::vector<Parameter> a = store.parameters(), b = doubled.parameters();
  for (size_t i = 0; i < a.size(); ++i) {
    const std::vector<double> va = *store.Get(a[i].name()), vb = *doubled.Get(b[i].name());
    ASSERT_EQ(va.size(), vb.size()) << a[i].name();
    // Doubling is exact in either dtype, so the values compare equal as doubles.
    for (size_t j = 0; j < va.size(); ++j) EXPECT_EQ(vb[j], 2 * va[j]) << a[i].name() << " " << j;
  }
  EXPECT_EQ(opt_doubled.step_, 7);  // i32 passes through unchanged
}

}  // namespace
}  // namespace tg
