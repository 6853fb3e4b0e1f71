#include "graph/dot.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autodiff/backward.h"
#include "gtest/gtest.h"
#include "ops/ops.h"

namespace tg {
namespace {

namespace fs = std::filesystem;

// The nesting a DOT text declares: each cluster's parent cluster and label, and the cluster
// each node statement sits in ("" for top level). Reads the line layout ToDot writes.
struct DotLayout {
  std::map<std::string, std::string> cluster_parent, cluster_label, node_cluster;
};

DotLayout ParseLayout(const std::string& dot) {
  DotLayout layout;
  std::vector<std::string> open;
  std::istringstream in(dot);
  for (std::string line; std::getline(in, line);) {
    line.erase(0, line.find_first_not_of(' '));
    const std::string top = open.empty() ? "" : open.back();
    if (line.rfind("subgraph \"", 0) == 0) {
      std::string name = line.substr(10, line.rfind('"') - 10);
      layout.cluster_parent[name] = top;
      open.push_back(name);
    } else if (line == "}") {
      if (!open.empty()) open.pop_back();
    } else if (line.rfind("label=\"", 0) == 0 && !open.empty()) {
      layout.cluster_label[top] = line.substr(7, line.rfind('"') - 7);
    } else if (line.size() > 1 && line[0] == 'n' && isdigit(line[1]) &&
               line.find(" -> ") == std::string::npos) {
      layout.node_cluster[line.substr(0, line.find(' '))] = top;
    }
  }
  return layout;
}

std::string Id(Expr e) { return absl::StrCat("n", e.id()); }

// DotOptions by field (designated initializers that skip fields trip -Wextra).
DotOptions Titled(std::string title) {
  DotOptions o;
  o.title = std::move(title);
  return o;
}
DotOptions OnlyScope(std::string scope, int64_t max_nodes = 5000) {
  DotOptions o;
  o.only_scope = std::move(scope);
  o.max_nodes = max_nodes;
  return o;
}
DotOptions MaxNodes(int64_t max_nodes) { return OnlyScope("", max_nodes); }

// x [2,3] at the top level; step_0/lstm: tanh(x @ rnn.weight_ih_l0).
struct SmallNet {
  ParameterStore store;
  Parameter w = *store.Add("rnn.weight_ih_l0", {3, 4}, Init::Uniform(-1, 1));
  Graph g;
  Expr x, param, matmul, tanh;

  SmallNet() {
    x = g.Input({2, 3}, std::vector<float>(6, 0.5f));
    auto step = g.Scope("step_0");
    auto lstm = g.Scope("lstm");
    param = g.Param(w);
    matmul = MatMul(x, param);
    tanh = Tanh(matmul);
  }
};

TEST(DotTest, ClustersNestLikeTheScopesAndEdgesCarryShapes) {
  SmallNet net;
  absl::StatusOr<std::string> dot = ToDot(net.g, Titled("small \"net\""));
  ASSERT_TRUE(dot.ok()) << dot.status();
  DotLayout layout = ParseLayout(*dot);

  EXPECT_EQ(layout.cluster_parent["cluster_step_0"], "");
  EXPECT_EQ(layout.cluster_parent["cluster_step_0/lstm"], "cluster_step_0");
  EXPECT_EQ(layout.cluster_label["cluster_step_0"], "step_0");
  EXPECT_EQ(layout.cluster_label["cluster_step_0/lstm"], "lstm");
  EXPECT_EQ(layout.node_cluster[Id(net.matmul)], "cluster_step_0/lstm");
  EXPECT_EQ(layout.node_cluster[Id(net.param)], "cluster_step_0/lstm");
  EXPECT_EQ(layout.node_cluster[Id(net.x)], "");

  EXPECT_NE(dot->find(absl::StrCat(Id(net.x), " -> ", Id(net.matmul), " [label=\"[2,3]\"]")),
            std::string::npos) << *dot;
  EXPECT_NE(dot->find(absl::StrCat(Id(net.param), " -> ", Id(net.matmul), " [label=\"[3,4]\"]")),
            std::string::npos) << *dot;
  EXPECT_NE(dot->find(absl::StrCat(Id(net.matmul), " -> ", Id(net.tanh), " [label=\"[2,4]\"]")),
            std::string::npos) << *dot;
  EXPECT_NE(dot->find(absl::StrCat(Id(net.param), " [label=\"rnn.weight_ih_l0\"")),
            std::string::npos) << *dot;
  EXPECT_NE(dot->find(absl::StrCat(Id(net.matmul), " [label=\"matmul\"")), std::string::npos);
  // A node nothing reads shows its own output type.
  EXPECT_NE(dot->find(absl::StrCat(Id(net.tanh), R"( [label="tanh\n[2,4]")")), std::string::npos);
  EXPECT_NE(dot->find(R"(label="small \"net\"";)"), std::string::npos) << *dot;
}

TEST(DotTest, BackwardNodesSitInABackwardClusterUnderTheirOp) {
  SmallNet net;
  Expr loss;
  {
    auto step = net.g.Scope("step_0");
    loss = Sum(net.tanh);
  }
  ASSERT_TRUE(Backward(loss).ok()) << net.g.status();
  ASSERT_GT(net.g.num_nodes(), loss.id() + 1);
  absl::StatusOr<std::string> dot = ToDot(net.g);
  ASSERT_TRUE(dot.ok()) << dot.status();
  DotLayout layout = ParseLayout(*dot);

  const std::string tanh_bw = "cluster_step_0/lstm/tanh_backward";
  EXPECT_EQ(layout.cluster_parent[tanh_bw], "cluster_step_0/lstm") << *dot;
  EXPECT_EQ(layout.cluster_label[tanh_bw], "tanh_backward");
  EXPECT_EQ(layout.cluster_parent["cluster_step_0/lstm/matmul_backward"], "cluster_step_0/lstm");
  int in_tanh_bw = 0;
  for (const auto& [node, cluster] : layout.node_cluster) in_tanh_bw += cluster == tanh_bw;
  EXPECT_GT(in_tanh_bw, 0) << *dot;
  // Without create_graph, the weight's gradient is added straight into its buffer.
  EXPECT_NE(dot->find(R"x([label="matmul +=\n[3,4]")x"), std::string::npos) << *dot;
}

TEST(DotTest, MarksNonF32DtypesAndEscapesLabels) {
  ParameterStore store;
  Parameter p = *store.Add("odd\"name\\", {2}, Init::Constant(1));
  Graph g;
  Expr x = g.Input({2}, std::vector<double>{1, 2});
  Expr y;
  {
    auto s = g.Scope("we\"ird\\scope");
    y = Tanh(x) + g.Param(p);  // f64 + f32: fails, and is drawn as failed
  }
  absl::StatusOr<std::string> dot = ToDot(g);
  ASSERT_TRUE(dot.ok()) << dot.status();
  EXPECT_NE(dot->find(R"(label="[2] f64")"), std::string::npos) << *dot;
  EXPECT_NE(dot->find(R"(subgraph "cluster_we\"ird\\scope" {)"), std::string::npos) << *dot;
  EXPECT_NE(dot->find(R"(label="we\"ird\\scope";)"), std::string::npos) << *dot;
  EXPECT_NE(dot->find(R"(label="odd\"name\\")"), std::string::npos) << *dot;
  EXPECT_NE(dot->find(absl::StrCat(Id(y), R"x( [label="add\n?\n(failed)")x")), std::string::npos)
      << *dot;
}

// x -> step_0/tanh -> step_1/tanh -> ... -> step_10/tanh, each a matmul with W (top level).
struct Chain {
  ParameterStore store;
  Parameter w = *store.Add("W", {2, 2}, Init::Uniform(-1, 1));
  Graph g;
  std::vector<Expr> steps;

  Chain() {
    Expr h = g.Input({1, 2}, std::vector<float>{1, 2});
    Expr weight = g.Param(w);
    for (int t = 0; t <= 10; ++t) {
      auto s = g.Scope(absl::StrCat("step_", t));
      h = Tanh(MatMul(h, weight));
      steps.push_back(h);
    }
  }
};

TEST(DotTest, OnlyScopeKeepsOneScopeAndDrawsWhatItReadsAsOutsideBoxes) {
  Chain chain;
  absl::StatusOr<std::string> dot = ToDot(chain.g, OnlyScope("step_1"));
  ASSERT_TRUE(dot.ok()) << dot.status();
  DotLayout layout = ParseLayout(*dot);
  EXPECT_EQ(layout.cluster_parent.count("cluster_step_1"), 1u) << *dot;
  EXPECT_EQ(layout.cluster_parent.size(), 1u) << *dot;  // not step_10, not step_0
  EXPECT_EQ(layout.node_cluster[Id(chain.steps[1])], "cluster_step_1");
  EXPECT_EQ(layout.node_cluster.count(Id(chain.steps[2])), 0u);
  EXPECT_EQ(layout.node_cluster.size(), 4u) << *dot;  // matmul, tanh, step_0/tanh, W
  EXPECT_NE(dot->find(absl::StrCat(Id(chain.steps[0]), R"( [label="step_0/tanh")")),
            std::string::npos) << *dot;
  EXPECT_NE(dot->find(R"x([label="W", tooltip="(node #1 \"parameter\")", shape=box, style=dashed)x"),
            std::string::npos) << *dot;

  for (const char* scope : {"step_99", "step", "tep_1"}) {
    absl::StatusOr<std::string> none = ToDot(chain.g, OnlyScope(scope));
    EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound) << scope;
    EXPECT_NE(none.status().message().find("only_scope"), std::string::npos) << none.status();
  }
}

TEST(DotTest, TooManyNodesIsAnErrorNamingTheCountAndTheOption) {
  Chain chain;  // 2 leaves + 11 steps of 2 ops
  absl::StatusOr<std::string> dot = ToDot(chain.g, MaxNodes(23));
  EXPECT_EQ(dot.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(dot.status().message().find("24 nodes"), std::string::npos) << dot.status();
  EXPECT_NE(dot.status().message().find("max_nodes (23)"), std::string::npos) << dot.status();
  EXPECT_TRUE(ToDot(chain.g, MaxNodes(24)).ok());
  EXPECT_TRUE(ToDot(chain.g, MaxNodes(0)).ok());
  // The limit counts what is drawn: one step and its two outside inputs.
  EXPECT_TRUE(ToDot(chain.g, OnlyScope("step_3", 4)).ok());
  const std::string path = "/nonexistent_tg_dir/never.dot";
  EXPECT_EQ(WriteDot(chain.g, path, MaxNodes(3)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DotTest, WriteDotWritesTheTextAndNamesThePathItCannotOpen) {
  SmallNet net;
  const std::string path = "/nonexistent_tg_dir/sub/graph.dot";
  absl::Status s = WriteDot(net.g, path);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_NE(s.message().find(path), std::string::npos) << s;
  EXPECT_NE(s.message().find("No such file or directory"), std::string::npos) << s;

  const fs::path dir = fs::path(::testing::TempDir()) / absl::StrCat("tg_dot_", ::getpid());
  fs::create_directories(dir);
  const std::string file = (dir / "graph.dot").string();
  ASSERT_TRUE(WriteDot(net.g, file).ok());
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), *ToDot(net.g));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1);

  absl::Status into_dir = WriteDot(net.g, dir.string());  // a directory: rename fails
  EXPECT_FALSE(into_dir.ok());
  EXPECT_NE(into_dir.message().find(dir.string()), std::string::npos) << into_dir;
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1);
  fs::remove_all(dir);
}

TEST(DotTest, GraphvizParsesTheOutput) {
  if (std::system("command -v dot >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "graphviz `dot` is not installed";
  }
  const fs::path dir = fs::path(::testing::TempDir()) / absl::StrCat("tg_dot_gv_", ::getpid());
  fs::create_directories(dir);
  SmallNet net;
  Expr loss;
  {
    auto s = net.g.Scope("we\"ird\\scope");
    loss = Sum(net.tanh);
  }
  ASSERT_TRUE(Backward(loss).ok()) << net.g.status();
  Chain chain;
  const std::vector<std::pair<const Graph*, DotOptions>> cases = {
      {&net.g, Titled("small \"net\" \\ backward")}, {&chain.g, OnlyScope("step_1")}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string dot = (dir / absl::StrCat(i, ".dot")).string();
    ASSERT_TRUE(WriteDot(*cases[i].first, dot, cases[i].second).ok());
    const std::string svg = (dir / absl::StrCat(i, ".svg")).string();
    const std::string err = (dir / absl::StrCat(i, ".err")).string();
    const std::string cmd = absl::StrCat("dot -Tsvg '", dot, "' -o '", svg, "' 2>'", err, "'");
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream errors(err);
    std::stringstream warnings;
    warnings << errors.rdbuf();
    EXPECT_EQ(warnings.str(), "") << cmd;  // no syntax warnings either
    EXPECT_GT(fs::file_size(svg), 0u);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tg
