// All-reduce latency and bandwidth of tapegrad's deterministic mean (dist/all_reduce.h)
// against plain MPI_Allreduce (which does not promise equal bits), for message sizes from
// 1 KB to 64 MB, and the latency-bandwidth fit t(n) = alpha + n / beta that
// docs/distributed.md projects to more machines with. Under mpirun, e.g.
//   mpirun -np 2 build/bench/allreduce_bench                                   # shared memory
//   mpirun -np 2 --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include lo
//          --mca oob_tcp_if_include lo build/bench/allreduce_bench            # TCP loopback
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <mpi.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "dist/dist.h"

ABSL_FLAG(std::string, sizes, "1K,4K,16K,64K,256K,1M,4M,16M,64M", "message sizes in bytes (K, M suffixes)");
ABSL_FLAG(double, bytes_per_size, 64e6, "each size is reduced about this many bytes in all (3..1000 times)");
ABSL_FLAG(bool, mpi, true, "also time MPI_Allreduce(MPI_SUM) on the same buffer");

namespace {

bool ParseSize(absl::string_view s, int64_t* bytes) {
  int64_t scale = 1;
  if (!s.empty() && (s.back() == 'K' || s.back() == 'M')) {
    scale = s.back() == 'K' ? 1024 : 1024 * 1024;
    s.remove_suffix(1);
  }
  int64_t n = 0;
  if (!absl::SimpleAtoi(s, &n)) return false;
  *bytes = n * scale;
  return *bytes >= 4;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The median seconds of `reps` calls of f, each started together on every rank.
template <class F>
double Time(int reps, F f) {
  std::vector<double> seconds;
  f();  // warm-up: buffers allocated, connections made
  for (int i = 0; i < reps; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto start = std::chrono::steady_clock::now();
    f();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  // Rank 0 reports the slowest rank's view of each call.
  std::vector<double> slowest(seconds.size());
  MPI_Allreduce(seconds.data(), slowest.data(), static_cast<int>(seconds.size()), MPI_DOUBLE,
                MPI_MAX, MPI_COMM_WORLD);
  return Median(slowest);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::vector<int64_t> sizes;
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',', absl::SkipEmpty())) {
    int64_t bytes = 0;
    if (!ParseSize(s, &bytes)) {
      std::fprintf(stderr, "allreduce_bench: bad --sizes entry '%.*s' (bytes >= 4, K or M suffix)\n",
                   static_cast<int>(s.size()), s.data());
      return 2;
    }
    sizes.push_back(bytes);
  }
  auto comm = tg::Communicator::Init(&argc, &argv, {.deadline = absl::Minutes(2)});
  if (!comm.ok()) {
    std::fprintf(stderr, "allreduce_bench: %s\n", comm.status().ToString().c_str());
    return 1;
  }
  tg::Communicator& c = **comm;
  if (c.is_root()) {
    std::printf("%d ranks; float32 mean; median of the slowest rank's time per call\n", c.size());
    std::printf("%10s %6s %12s %12s %12s %12s\n", "bytes", "calls", "tapegrad_us", "tapegrad_GB/s",
                "mpi_us", "mpi_GB/s");
  }
  std::vector<double> xs, ts;  // sizes and tapegrad's times, for the fit
  for (int64_t bytes : sizes) {
    const int64_t n = bytes / 4;
    std::vector<float> values(n, static_cast<float>(c.rank() + 1)), out(n);
    const int reps = static_cast<int>(std::clamp<double>(absl::GetFlag(FLAGS_bytes_per_size) / bytes, 3, 1000));
    const tg::Tensor t(values.data(), tg::DType::kF32, {n});
    const double ours = Time(reps, [&] {
      if (absl::Status s = tg::AllReduceMean(c, {t}); !s.ok()) c.Abort(s.ToString());
    });
    double theirs = 0;
    if (absl::GetFlag(FLAGS_mpi)) {
      theirs = Time(reps, [&] {
        MPI_Allreduce(values.data(), out.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      });
    }
    xs.push_back(static_cast<double>(bytes));
    ts.push_back(ours);
    if (c.is_root()) {
      std::printf("%10lld %6d %12.1f %12.3f %12.1f %12.3f\n", static_cast<long long>(bytes), reps,
                  ours * 1e6, bytes / ours / 1e9, theirs * 1e6, theirs > 0 ? bytes / theirs / 1e9 : 0.0);
      std::fflush(stdout);
    }
  }
  if (c.is_root() && xs.size() >= 2) {
    // t(n) = alpha + n / beta by least squares on relative errors (weights 1 / t^2), so that
    // the small sizes fix alpha and the large ones beta.
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      const double w = 1 / (ts[i] * ts[i]);
      sw += w, sx += w * xs[i], sy += w * ts[i], sxx += w * xs[i] * xs[i], sxy += w * xs[i] * ts[i];
    }
    const double slope = (sw * sxy - sx * sy) / (sw * sxx - sx * sx);
    const double alpha = (sy - slope * sx) / sw;
    std::printf("fit: t(n) = %.1f us + n / (%.2f GB/s)\n", alpha * 1e6, 1e-9 / slope);
  }
  return 0;
}
