#include "graph/compile/fusion_geometry.h"

#include <algorithm>

namespace tg::compile {
namespace {

int64_t Lead(const Shape& s) { return s.rank() == 0 ? 1 : s.Product(0, s.rank() - 1); }
int64_t Last(const Shape& s) { return s.rank() == 0 ? 1 : s[s.rank() - 1]; }

bool HasTile(const OpDef& op, DType dtype) {
  switch (dtype) {
    case DType::kF32: return op.pointwise.f32 != nullptr;
    case DType::kF64: return op.pointwise.f64 != nullptr;
    case DType::kI32: return false;
  }
  return false;
}

// What every fusable application shares: tiles for its dtype, no random draws (a tile sees no
// element index to draw by, and a run re-seeds only whole steps), few inputs of its dtype,
// some elements, and the op's own consent (PointwiseTiles::applies).
bool Fusable(const FusionOp& f) {
  if (f.op == nullptr || !f.op->pointwise || !HasTile(*f.op, f.output.dtype)) return false;
  if (f.op->seed_attr >= 0 || f.inputs.empty() || f.inputs.size() > kMaxTileInputs) return false;
  if (f.output.shape.num_elements() <= 0) return false;
  for (const TensorType& t : f.inputs) {
    if (t.dtype != f.output.dtype) return false;
  }
  return f.op->pointwise.applies == nullptr || f.op->pointwise.applies(*f.attrs, f.inputs);
}

// A dense operand of `width` columns.
OperandGeometry Dense(int64_t width) {
  return {.offset = 0, .row_stride = width, .width = width, .col_stride = 1};
}

// How an elementwise member of output shape `out` (width w) reads an input of shape `in`:
// the same shape, or (if the op broadcasts) kept or repeated rows and kept or repeated
// columns.
std::optional<OperandGeometry> ReadAs(const Shape& in, const Shape& out, int64_t w,
                                      bool broadcasts) {
  if (in == out) return Dense(w);
  if (!broadcasts) return std::nullopt;
  const std::optional<RowRead> r = ReadByRows(in, out);
  if (!r || (!r->rows_kept && !r->rows_one)) return std::nullopt;
  if (in.rank() == out.rank() && in.rank() == 0) return Dense(w);
  const bool rows_kept = r->rows_kept;
  const int64_t last = r->last;
  if (last == w) {
    return OperandGeometry{.offset = 0, .row_stride = rows_kept ? w : 0, .width = w,
                           .col_stride = 1};
  }
  if (last == 1) {
    return OperandGeometry{.offset = 0, .row_stride = rows_kept ? 1 : 0, .width = 1,
                           .col_stride = 0};
  }
  return std::nullopt;
}

// A fused member keeps widths and row strides in 32 bits.
bool Fits32(const MemberGeometry& g) {
  constexpr int64_t kMax = int64_t{1} << 30;
  bool fits = g.width < kMax && g.zero_width < kMax && g.output.row_stride < kMax &&
              g.output.offset < kMax;
  for (const OperandGeometry& o : g.inputs) fits = fits && o.row_stride < kMax;
  return fits;
}

std::optional<MemberGeometry> Rows(const FusionOp& f);

}  // namespace

std::optional<MemberGeometry> RowGeometry(const FusionOp& f) {
  std::optional<MemberGeometry> g = Rows(f);
  if (g && !Fits32(*g)) return std::nullopt;
  return g;
}

namespace {

std::optional<MemberGeometry> Rows(const FusionOp& f) {
  if (!Fusable(f)) return std::nullopt;
  const OpDef& op = *f.op;
  const Shape& out = f.output.shape;
  MemberGeometry g;
  g.shape = op.pointwise.shape;
  if (g.shape == TileShape::kRowSum) {
    const Shape& in = f.inputs[0].shape;
    if (in.rank() == 0 || out.num_elements() != Lead(in)) return std::nullopt;
    g.rows = Lead(in);
    g.width = Last(in);
    g.inputs.push_back(Dense(g.width));
    g.output = Dense(1);
    return g;
  }
  if (op.column_view != nullptr) {
    const std::optional<ColumnBlock> block = op.column_view(*f.attrs, f.inputs);
    const Shape& in = f.inputs[0].shape;
    if (!block || Lead(in) != Lead(out) || f.inputs.size() != 1) return std::nullopt;
    g.rows = Lead(out);
    g.width = Last(out);
    g.inputs.push_back(
        {.offset = block->offset, .row_stride = block->row_stride, .width = g.width});
    g.output = Dense(g.width);
    g.column_view = true;
    return g;
  }
  if (op.column_scatter != nullptr) {
    const std::optional<ColumnBlock> block = op.column_scatter(*f.attrs, f.inputs);
    const Shape& in = f.inputs[0].shape;
    if (!block || Lead(in) != Lead(out) || f.inputs.size() != 1) return std::nullopt;
    g.rows = Lead(out);
    g.width = Last(in);
    g.inputs.push_back(Dense(g.width));
    g.output = {.offset = block->offset, .row_stride = block->row_stride, .width = g.width};
    g.zero_width = f.accumulate ? 0 : Last(out);
    return g;
  }
  // Elementwise, or row to row (kRow: operands of the output's shape, one call per row).
  const bool broadcasts = op.pointwise.broadcasts && g.shape == TileShape::kElementwise;
  g.rows = Lead(out);
  g.width = Last(out);
  for (const TensorType& t : f.inputs) {
    std::optional<OperandGeometry> in = ReadAs(t.shape, out, g.width, broadcasts);
    if (!in) return std::nullopt;
    g.inputs.push_back(*in);
  }
  g.output = Dense(g.width);
  return g;
}

}  // namespace

std::optional<MemberGeometry> FlatGeometry(const FusionOp& f) {
  if (!Fusable(f) || f.op->pointwise.shape != TileShape::kElementwise ||
      f.op->column_view != nullptr || f.op->column_scatter != nullptr) {
    return std::nullopt;
  }
  for (const TensorType& t : f.inputs) {
    if (!(t.shape == f.output.shape)) return std::nullopt;
  }
  MemberGeometry g;
  g.rows = f.output.shape.num_elements();
  g.width = 1;
  g.inputs.assign(f.inputs.size(), Dense(1));
  g.output = Dense(1);
  return g;
}

namespace {

// The bytes one operand touches: row 0's [lo, hi), then every `stride` bytes for `rows`.
struct Access {
  int64_t key, lo, hi, stride;
  bool write;
  int64_t end(int64_t rows) const { return hi + (stride > 0 ? (rows - 1) * stride : 0); }
};

// Whether two accesses of one run keep their order when the run goes chunk by chunk: one
// row no wider than a chunk (one chunk: the members run one after the other), other
// memories, disjoint bytes, two reads, or both inside one row window of the same stride.
bool Compatible(const Access& a, const Access& b, int64_t rows) {
  if (rows == 1 && a.hi - a.lo <= kChunkBytes && b.hi - b.lo <= kChunkBytes) return true;
  if (a.key != b.key || a.end(rows) <= b.lo || b.end(rows) <= a.lo) return true;
  if (!a.write && !b.write) return true;
  if (a.stride == 0 || b.stride == 0 || a.stride != b.stride) return false;
  return std::max(a.hi, b.hi) - std::min(a.lo, b.lo) <= a.stride;
}

void AddAccesses(const FusionCandidate& c, const MemberGeometry& g, std::vector<Access>& out) {
  const int64_t size = static_cast<int64_t>(SizeOf(c.op.output.dtype));
  auto add = [&](const FusionCandidate::Place& p, const OperandGeometry& o, bool write,
                 int64_t width) {
    const int64_t lo = p.offset + o.offset * size;
    out.push_back({p.key, lo, lo + width * size, o.row_stride * size, write});
  };
  for (size_t i = 0; i < c.inputs.size(); ++i) add(c.inputs[i], g.inputs[i], false, g.inputs[i].width);
  if (g.zero_width > 0) {
    add(c.output, {.offset = 0, .row_stride = g.output.row_stride}, true, g.zero_width);
  } else {
    add(c.output, g.output, true, g.output.width);
  }
}

// One model's state while a run grows.
struct Model {
  bool ok = false;
  int64_t rows = 0;
  std::vector<Access> accesses;

  bool Admits(const FusionCandidate& c, const std::optional<MemberGeometry>& g,
              std::vector<Access>& scratch) const {
    if (!ok || !g || g->rows != rows) return false;
    scratch.clear();
    AddAccesses(c, *g, scratch);
    for (const Access& a : scratch) {
      for (const Access& b : accesses) {
        if (!Compatible(a, b, rows)) return false;
      }
    }
    // Within the member itself: a row-broadcast input it also writes.
    for (const Access& a : scratch) {
      for (const Access& b : scratch) {
        if (&a != &b && (a.stride == 0 || b.stride == 0) && !Compatible(a, b, rows)) return false;
      }
    }
    return true;
  }
  void Start(const FusionCandidate& c, const std::optional<MemberGeometry>& g) {
    ok = g.has_value();
    accesses.clear();
    if (ok) {
      rows = g->rows;
      AddAccesses(c, *g, accesses);
    }
  }
};

}  // namespace

std::vector<RunSpan> GroupRuns(const std::vector<std::optional<FusionCandidate>>& candidates) {
  std::vector<RunSpan> runs;
  Model row, flat;
  int begin = 0;
  DType dtype = DType::kF32;
  std::vector<Access> scratch;
  auto flush = [&](int end) {
    if (end - begin >= 2) runs.push_back({begin, end, /*flat=*/flat.ok});
    row.ok = flat.ok = false;
  };
  const int n = static_cast<int>(candidates.size());
  for (int i = 0; i < n; ++i) {
    if (!candidates[i]) {
      flush(i);
      begin = i + 1;
      continue;
    }
    const FusionCandidate& c = *candidates[i];
    const std::optional<MemberGeometry> rg = RowGeometry(c.op), fg = FlatGeometry(c.op);
    if (!rg && !fg) {
      flush(i);
      begin = i + 1;
      continue;
    }
    const bool same_dtype = (row.ok || flat.ok) && c.op.output.dtype == dtype;
    const bool row_joins = same_dtype && row.Admits(c, rg, scratch);
    const bool flat_joins = same_dtype && flat.Admits(c, fg, scratch);
    if (row_joins || flat_joins) {
      if (row_joins) {
        AddAccesses(c, *rg, row.accesses);
      } else {
        row.ok = false;
      }
      if (flat_joins) {
        AddAccesses(c, *fg, flat.accesses);
      } else {
        flat.ok = false;
      }
      continue;
    }
    flush(i);
    begin = i;
    dtype = c.op.output.dtype;
    row.Start(c, rg);
    flat.Start(c, fg);
  }
  flush(n);
  return runs;
}

}  // namespace tg::compile
