#include "tests/reliability/char_lm_runs.h"

#include <cstring>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "examples/char_lm/run_info.h"
#include "models/safetensors.h"
#include "nlohmann/json.hpp"

namespace tg::reliability {
namespace {

// A checkpoint's header JSON without the wall-clock metadata, and its data section.
struct Parsed {
  nlohmann::json header;
  std::string data;
  std::vector<std::string> wall_clock;  // the wall-clock keys that were there
};

Parsed Parse(const std::string& path) {
  Parsed p;
  const std::string bytes = ReadBytes(path);
  if (bytes.size() < 8) return p;
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > bytes.size() - 8) return p;
  p.header = nlohmann::json::parse(bytes.substr(8, n), nullptr, /*allow_exceptions=*/false);
  p.data = bytes.substr(8 + n);
  if (p.header.is_object() && p.header.contains("__metadata__")) {
    for (const char* key : examples::kWallClockMetadataKeys) {
      if (p.header["__metadata__"].erase(key) == 1) p.wall_clock.push_back(key);
    }
  }
  return p;
}

}  // namespace

std::vector<std::string> CharLmFlags(const std::string& out_dir, int max_updates) {
  return {TG_CHAR_LM,
          "--data=" TG_RELIABILITY_TESTDATA "/tiny.txt",
          "--out_dir=" + out_dir,
          "--hidden=16",
          "--embedding=8",
          "--seq=16",
          "--batch=4",
          "--eval_every=5",
          "--valid_streams=2",
          "--sample=0",
          "--dropout=0.2",
          "--average=0.9",
          "--shift_epochs",
          "--lr_decay=cosine",
          "--checkpoint_every=4",
          "--max_updates=" + std::to_string(max_updates)};
}

ChildResult RunCharLm(const std::vector<std::string>& launcher, std::vector<std::string> args,
                      const std::vector<std::string>& more, const std::string& log) {
  args.insert(args.begin(), launcher.begin(), launcher.end());
  args.insert(args.end(), more.begin(), more.end());
  return Wait(Spawn(args, log), log);
}

testing::AssertionResult SameCheckpoints(const std::string& a, const std::string& b) {
  Parsed pa = Parse(a), pb = Parse(b);
  if (!pa.header.is_object() || !pb.header.is_object()) {
    return testing::AssertionFailure() << "'" << a << "' or '" << b << "' is not a checkpoint";
  }
  const size_t wall_clock = std::size(examples::kWallClockMetadataKeys);
  if (pa.wall_clock.size() != wall_clock || pb.wall_clock.size() != wall_clock) {
    return testing::AssertionFailure() << "a wall-clock metadata entry is missing";
  }
  if (pa.header != pb.header) {
    return testing::AssertionFailure() << "headers differ beyond the wall-clock entries:\n"
                                       << pa.header.dump() << "\n"
                                       << pb.header.dump();
  }
  if (pa.data != pb.data) {
    size_t at = 0;
    while (at < pa.data.size() && at < pb.data.size() && pa.data[at] == pb.data[at]) ++at;
    return testing::AssertionFailure()
           << "tensor data differs from byte " << at << " of the data section";
  }
  return testing::AssertionSuccess();
}

std::vector<std::string> CurveRows(const std::string& path) {
  std::vector<std::string> lines = absl::StrSplit(ReadBytes(path), '\n', absl::SkipEmpty());
  if (lines.empty()) return {};
  std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  std::vector<std::string> rows;
  for (const std::string& line : lines) {
    std::vector<std::string> cells = absl::StrSplit(line, ',');
    std::string kept;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i < header.size() && header[i] == kWallClockColumn) continue;
      kept += cells[i] + ";";
    }
    rows.push_back(kept);
  }
  return rows;
}

int64_t UpdatesIn(const std::string& path) {
  absl::StatusOr<SafetensorsFile> file = ReadSafetensors(path);
  if (!file.ok()) return -1;
  const NamedTensor* step = file->Find("optimizer.step");
  return step == nullptr ? -1 : static_cast<int64_t>(step->values<double>()[0]);
}

std::vector<ChildResult> ExpectRunsRepeat(const CharLmRunner& run,
                                          const std::vector<std::string>& config,
                                          const std::string& dir) {
  std::vector<ChildResult> results;
  for (const char* name : {"a", "b"}) {
    results.push_back(run(dir + "/" + name, config, dir + "/" + name + ".log"));
    EXPECT_SUCCEEDED(results.back());
  }
  const std::string a = dir + "/a/char_lm.safetensors", b = dir + "/b/char_lm.safetensors";
  EXPECT_EQ(UpdatesIn(a), kUpdates);
  EXPECT_TRUE(SameCheckpoints(a, b));
  const std::vector<std::string> curve = CurveRows(dir + "/a/curve.csv");
  EXPECT_EQ(curve.size(), 1u + kUpdates / 5 + 1);  // header, every 5th update, the last
  EXPECT_EQ(curve, CurveRows(dir + "/b/curve.csv"));
  std::vector<std::string> other_seed = config;
  other_seed.push_back("--seed=2");
  ChildResult r = run(dir + "/c", other_seed, dir + "/c.log");
  EXPECT_SUCCEEDED(r);
  EXPECT_FALSE(SameCheckpoints(a, dir + "/c/char_lm.safetensors"));
  return results;
}

void ExpectResumeEndsAsWhole(const CharLmRunner& run, const std::vector<std::string>& config,
                             const std::string& dir) {
  ChildResult whole = run(dir + "/whole", config, dir + "/whole.log");
  EXPECT_SUCCEEDED(whole);

  std::vector<std::string> stop = config;
  stop.push_back("--stop_after_updates=" + std::to_string(kStopAt));
  ChildResult stopped = run(dir + "/parts", stop, dir + "/stopped.log");
  EXPECT_SUCCEEDED(stopped);
  EXPECT_NE(stopped.output.find("stopped after update 10 without a final checkpoint"),
            std::string::npos)
      << stopped.output;
  EXPECT_EQ(UpdatesIn(dir + "/parts/char_lm.safetensors"), 8);

  std::vector<std::string> resume = config;
  resume.push_back("--resume");
  ChildResult resumed = run(dir + "/parts", resume, dir + "/resumed.log");
  EXPECT_SUCCEEDED(resumed);
  EXPECT_NE(resumed.output.find("at update 8"), std::string::npos) << resumed.output;

  EXPECT_TRUE(
      SameCheckpoints(dir + "/whole/char_lm.safetensors", dir + "/parts/char_lm.safetensors"));
  EXPECT_EQ(CurveRows(dir + "/whole/curve.csv"), CurveRows(dir + "/parts/curve.csv"));
}

}  // namespace tg::reliability
