// What a char_lm run starts from before it trains: the text, split into training and
// validation ids; the run info of a new run (from the flags) or of the checkpoint it resumes,
// whose settings a resumed run keeps; and the checks that the checkpoint's training state
// fits this run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "examples/char_lm/char_checkpoint.h"
#include "examples/char_lm/model.h"
#include "examples/char_lm/run_info.h"
#include "examples/common/text_data.h"
#include "models/optimizer.h"

namespace tg::examples {

// The text as character ids: the training part and the held-out tail (--valid_fraction).
struct Data {
  CharVocab vocab;
  std::vector<int32_t> train, valid;
};

// Reads the UTF-8 text at `path`, encoded with `saved_vocab` (CharVocab::Serialize; empty: a
// vocabulary of the text's own characters). Fails when the training part is shorter than
// one update (--batch x --seq + 1) or less than 2 characters are held out.
absl::StatusOr<Data> LoadData(const std::string& path, const std::string& saved_vocab);

// A new run's info from the flags (model shape, dropout, weight average), without the
// vocabulary, which LoadData decides.
RunInfo NewRunInfo();

// --resume: refuses an --average or --dropout given anew that differs from the one `info`
// (read from `checkpoint`) was trained with, rather than silently ignoring it.
absl::Status RefuseChangedSettings(const RunInfo& info, const std::string& checkpoint);

// Gives --lr its value when it was not given: the rate in `saved_flags` (the flags a resumed
// checkpoint recorded; empty for a new run), else kDefaultLr. Adam, the schedule and the
// flags the next checkpoint records then read one number. A rate given anew is used: unlike
// the dropout, changing it on resume is a choice the model allows.
void SettleLearningRate(const std::map<std::string, std::string>& saved_flags);

// Whether the training state `resumed` (from `checkpoint`) fits this run of `model`: a
// valid dropout stream position and carried state of the model's layers and --batch.
// Carried state of streams that --batch, --seq and the other stream flags now cut
// differently from `saved_flags` is dropped, with a note on stdout.
absl::Status CheckResumedState(TrainingState& resumed, const CharModel& model,
                               const std::map<std::string, std::string>& saved_flags,
                               const std::string& checkpoint);

// The optimizer's step count, which a checkpoint restores: the number of updates done.
int64_t UpdatesDone(Optimizer& optimizer);

}  // namespace tg::examples
