#include "graph/dot.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tg {
namespace {

// The body of a DOT quoted string: backslashes and quotes escaped, newlines as \n.
std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

// "[32,256]", with the dtype after it unless f32; "?" for a failed node (it has no type).
std::string TypeLabel(const Node& n) {
  if (n.poisoned) return "?";
  if (n.type.dtype == DType::kF32) return n.type.shape.ToString();
  return absl::StrCat(n.type.shape.ToString(), " ", Absl(DTypeName(n.type.dtype)));
}

// True if scope `path` is `prefix` or lies under it, compared by whole components.
bool InScope(std::string_view path, std::string_view prefix) {
  if (prefix.empty() || path == prefix) return true;
  return path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix &&
         path[prefix.size()] == '/';
}

struct Cluster {
  std::string name;  // the scope's own name: "lstm"
  std::string path;  // "step_3/lstm"; "" for the root
  std::vector<NodeId> nodes;
  std::vector<int> children;  // indices into Plan::clusters, in order of first use
  absl::flat_hash_map<std::string, int> child_index;
};

// What to draw: which nodes, where, and which of them are drawn as outside inputs.
struct Plan {
  std::vector<Cluster> clusters;       // [0] is the root (no cluster)
  std::vector<NodeId> kept;            // in node order
  std::vector<NodeId> external;        // read by kept nodes from outside only_scope
  std::vector<char> is_kept, has_consumer;
  int64_t num_drawn() const { return static_cast<int64_t>(kept.size() + external.size()); }
};

// Node scope ids -> paths ("step_3/lstm"), recovered from NodePath once per scope.
class ScopePaths {
 public:
  explicit ScopePaths(const Graph& g) : g_(g) {}
  const std::string& Of(NodeId id) {
    auto [it, inserted] = paths_.try_emplace(g_.node(id).scope);
    if (inserted) {
      std::string full = g_.NodePath(id);
      size_t op_len = g_.node(id).op->name.size();
      if (full.size() > op_len) it->second = full.substr(0, full.size() - op_len - 1);
    }
    return it->second;
  }

 private:
  const Graph& g_;
  absl::flat_hash_map<int32_t, std::string> paths_;
};

// The cluster for scope `path`, creating it and its ancestors on first use.
int ClusterOf(std::vector<Cluster>& clusters, const std::string& path) {
  int current = 0;
  if (path.empty()) return current;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    std::string name(part);
    auto it = clusters[current].child_index.find(name);
    if (it != clusters[current].child_index.end()) {
      current = it->second;
      continue;
    }
    int next = static_cast<int>(clusters.size());
    std::string child_path = clusters[current].path.empty()
                                 ? name
                                 : absl::StrCat(clusters[current].path, "/", name);
    clusters[current].child_index.emplace(name, next);
    clusters[current].children.push_back(next);
    clusters.push_back({name, std::move(child_path), {}, {}, {}});
    current = next;
  }
  return current;
}

void SelectNodes(const Graph& g, const DotOptions& options, ScopePaths& scopes, Plan& plan) {
  const NodeId n = g.num_nodes();
  plan.is_kept.assign(n, 0);
  plan.has_consumer.assign(n, 0);
  for (NodeId id = 0; id < n; ++id) {
    if (!InScope(scopes.Of(id), options.only_scope)) continue;
    plan.is_kept[id] = 1;
    plan.kept.push_back(id);
  }
  std::vector<char> is_external(n, 0);
  for (NodeId id : plan.kept) {
    for (NodeId in : g.node(id).inputs) {
      plan.has_consumer[in] = 1;
      if (plan.is_kept[in] || is_external[in]) continue;
      is_external[in] = 1;
      plan.external.push_back(in);
    }
  }
}

absl::StatusOr<Plan> MakePlan(const Graph& g, const DotOptions& options) {
  Plan plan;
  ScopePaths scopes(g);
  SelectNodes(g, options, scopes, plan);
  if (!options.only_scope.empty() && plan.kept.empty()) {
    return absl::NotFoundError(absl::StrCat("ToDot: no node of the graph (", g.num_nodes(),
                                            " nodes) lies in DotOptions::only_scope \"",
                                            options.only_scope, "\""));
  }
  if (options.max_nodes > 0 && plan.num_drawn() > options.max_nodes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ToDot: ", plan.num_drawn(), " nodes to draw, more than DotOptions::max_nodes (",
        options.max_nodes, "); raise max_nodes or draw one part with DotOptions::only_scope"));
  }
  plan.clusters.push_back({});
  for (NodeId id : plan.kept) {
    plan.clusters[ClusterOf(plan.clusters, scopes.Of(id))].nodes.push_back(id);
  }
  return plan;
}

// One node statement. Outside inputs are named in full, since they sit in no cluster.
std::string NodeStatement(const Graph& g, const Plan& plan, NodeId id, bool external) {
  const Node& n = g.node(id);
  std::string label = n.param != nullptr ? n.param->name
                      : external        ? g.NodePath(id)
                                        : std::string(n.op->name);
  if (!external && n.accumulate) label.append(" +=");  // adds into a buffer (a gradient)
  if (!external && !plan.has_consumer[id]) absl::StrAppend(&label, "\n", TypeLabel(n));
  if (n.poisoned) absl::StrAppend(&label, "\n(failed)");
  std::string attrs = absl::StrCat("label=\"", Escape(label), "\", tooltip=\"",
                                   Escape(g.NodeLabel(id)), "\"");
  if (external) {
    absl::StrAppend(&attrs, ", shape=box, style=dashed, fontsize=8");
  } else if (n.param != nullptr) {
    absl::StrAppend(&attrs, ", shape=box, style=\"rounded,filled\", fillcolor=\"#fff2cc\"");
  } else if (n.op->is_leaf) {
    absl::StrAppend(&attrs, ", shape=box");
  }
  if (n.poisoned) absl::StrAppend(&attrs, ", color=red, fontcolor=red");
  return absl::StrCat("n", id, " [", attrs, "];\n");
}

void AppendCluster(const Graph& g, const Plan& plan, int index, int depth, std::string& out) {
  const Cluster& c = plan.clusters[index];
  const std::string indent(2 * depth, ' ');
  const bool is_root = index == 0;
  if (!is_root) {
    absl::StrAppend(&out, indent, "subgraph \"cluster_", Escape(c.path), "\" {\n", indent,
                    "  label=\"", Escape(c.name), "\";\n");
  }
  const std::string inner = is_root ? indent : absl::StrCat(indent, "  ");
  for (NodeId id : c.nodes) absl::StrAppend(&out, inner, NodeStatement(g, plan, id, false));
  for (int child : c.children) AppendCluster(g, plan, child, is_root ? depth : depth + 1, out);
  if (!is_root) absl::StrAppend(&out, indent, "}\n");
}

void AppendEdges(const Graph& g, const Plan& plan, std::string& out) {
  for (NodeId id : plan.kept) {
    for (NodeId in : g.node(id).inputs) {
      absl::StrAppend(&out, "  n", in, " -> n", id, " [label=\"", Escape(TypeLabel(g.node(in))),
                      "\"];\n");
    }
  }
}

absl::Status ErrnoError(int err, const char* what, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat("WriteDot: cannot ", what, " ", path));
}

// Writes `text` to a temporary file next to `path`, then renames it into place.
absl::Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return ErrnoError(errno, "open for writing", path);
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  int err = wrote ? 0 : errno;
  if (std::fclose(f) != 0 && err == 0) err = errno;
  if (!wrote || err != 0) {
    std::remove(tmp.c_str());
    return ErrnoError(err != 0 ? err : EIO, "write", path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    std::remove(tmp.c_str());
    return ErrnoError(err, "rename the temporary file into", path);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ToDot(const Graph& g, const DotOptions& options) {
  absl::StatusOr<Plan> plan = MakePlan(g, options);
  if (!plan.ok()) return plan.status();
  std::string out = "digraph tapegrad {\n";
  absl::StrAppend(&out, "  graph [fontname=\"Helvetica\"];\n",
                  "  node [fontname=\"Helvetica\", fontsize=10];\n",
                  "  edge [fontname=\"Helvetica\", fontsize=8];\n");
  if (!options.title.empty()) {
    absl::StrAppend(&out, "  label=\"", Escape(options.title), "\";\n  labelloc=t;\n");
  }
  AppendCluster(g, *plan, 0, 1, out);
  for (NodeId id : plan->external) absl::StrAppend(&out, "  ", NodeStatement(g, *plan, id, true));
  AppendEdges(g, *plan, out);
  out.append("}\n");
  return out;
}

absl::Status WriteDot(const Graph& g, const std::string& path, const DotOptions& options) {
  absl::StatusOr<std::string> text = ToDot(g, options);
  if (!text.ok()) return text.status();
  return WriteFileAtomically(path, *text);
}

}  // namespace tg
