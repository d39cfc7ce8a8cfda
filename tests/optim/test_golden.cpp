// Golden comparison with PyTorch: tests/reference/optim_reference.py runs torch.optim.AdamW,
// torch.optim.SGD and a transcription of lion-pytorch's update on fixed parameters and
// gradients (two groups, warmup + cosine schedule, clipping for AdamW, one missing gradient)
// and writes the parameters after every step. Here tlm replays the same sequence.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "optim/clip.h"
#include "optim/registry.h"
#include "optim/schedule.h"

namespace tlm::optim {
namespace {

struct GoldenStep {
  int64_t it = 0;
  double lr = 0;
  std::map<std::string, std::vector<double>> grads, expect;
  double norm = NAN;
};

struct Golden {
  std::string optimizer;
  DType dtype = DType::F32;
  std::map<std::string, double> config, schedule;
  double clip = 0;
  std::vector<std::pair<double, double>> groups;    // (weight_decay, lr_scale)
  std::vector<std::pair<std::string, int>> params;  // (name, group), in order
  std::map<std::string, Shape> shapes;
  std::map<std::string, std::vector<double>> init;
  std::vector<GoldenStep> steps;
};

std::vector<double> read_values(std::istringstream& in) {
  std::vector<double> v;
  double x;
  while (in >> x) v.push_back(x);
  return v;
}

// Reads "key value key value ..." pairs after the record name.
std::map<std::string, double> read_pairs(std::istringstream& in) {
  std::map<std::string, double> m;
  std::string key;
  double value;
  while (in >> key >> value) m[key] = value;
  return m;
}

Golden load_golden(const std::string& file) {
  const std::string path = std::string(TLM_SOURCE_DIR) + "/tests/reference/golden/" + file;
  std::ifstream f(path);
  TLM_CHECK(f.good(), "golden file {} not found (run tests/reference/optim_reference.py)", path);
  Golden g;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string rec;
    in >> rec;
    if (rec == "optimizer") {
      in >> g.optimizer;
    } else if (rec == "dtype") {
      std::string d;
      in >> d;
      g.dtype = d == "float64" ? DType::F64 : DType::F32;
    } else if (rec == "config") {
      g.config = read_pairs(in);
    } else if (rec == "schedule") {
      std::string name;
      in >> name;
      g.schedule = read_pairs(in);
    } else if (rec == "clip") {
      in >> g.clip;
    } else if (rec == "group") {
      int idx;
      double wd, scale;
      in >> idx >> wd >> scale;
      g.groups.emplace_back(wd, scale);
    } else if (rec == "param") {
      std::string name;
      int group, ndim;
      in >> name >> group >> ndim;
      Shape shape(ndim);
      for (auto& d : shape) in >> d;
      g.params.emplace_back(name, group);
      g.shapes[name] = shape;
    } else if (rec == "init") {
      std::string name;
      in >> name;
      g.init[name] = read_values(in);
    } else if (rec == "step") {
      GoldenStep s;
      in >> s.it >> s.lr;
      g.steps.push_back(s);
    } else if (rec == "grad" || rec == "expect") {
      std::string name;
      in >> name;
      (rec == "grad" ? g.steps.back().grads : g.steps.back().expect)[name] = read_values(in);
    } else if (rec == "norm") {
      in >> g.steps.back().norm;
    } else {
      TLM_FAIL("golden file {}: unknown record '{}'", path, rec);
    }
  }
  return g;
}

Tensor make_tensor(const std::vector<double>& v, const Shape& shape, DType dtype) {
  return Tensor::from_vector(v, shape).to(dtype);
}

// |got - want| <= rtol |want| + atol for every element; reports the worst element.
void expect_close(const Tensor& got_t, const std::vector<double>& want, double rtol, double atol,
                  const std::string& what) {
  const std::vector<double> got = got_t.to_vector<double>();
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double excess = std::abs(got[i] - want[i]) / (rtol * std::abs(want[i]) + atol);
    if (!(excess <= worst)) worst = excess, worst_i = i;
  }
  EXPECT_LE(worst, 1.0) << what << ": element " << worst_i << " is " << got[worst_i]
                        << ", PyTorch has " << want[worst_i];
}

void replay(const std::string& file, double rtol, double atol) {
  SCOPED_TRACE(file);
  const Golden g = load_golden(file);
  std::vector<ParamGroup> groups;
  for (auto [wd, scale] : g.groups) groups.push_back({{}, wd, scale});
  std::map<std::string, Tensor> params;
  for (const auto& [name, gi] : g.params) {
    Tensor p = make_tensor(g.init.at(name), g.shapes.at(name), g.dtype);
    p.set_requires_grad(true);
    params[name] = p;
    groups[gi].params.emplace_back(name, p);
  }
  OptimizerConfig cfg{.lr = g.config.at("lr"),
                      .beta1 = g.config.at("beta1"),
                      .beta2 = g.config.at("beta2"),
                      .eps = g.config.at("eps"),
                      .momentum = g.config.at("momentum"),
                      .nesterov = g.config.at("nesterov") != 0};
  auto opt = make_optimizer(g.optimizer, groups, cfg);
  auto sched = make_schedule(
      "cosine", {.lr = g.schedule.at("lr"),
                        .min_lr = g.schedule.at("min_lr"),
                        .warmup_iters = static_cast<int64_t>(g.schedule.at("warmup_iters")),
                        .lr_decay_iters = static_cast<int64_t>(g.schedule.at("lr_decay_iters"))});
  for (const GoldenStep& s : g.steps) {
    SCOPED_TRACE(fmt::format("step {}", s.it));
    EXPECT_NEAR(sched->lr_at(s.it), s.lr, 1e-15 * s.lr);
    opt->set_lr(sched->lr_at(s.it));
    opt->zero_grad();
    for (auto& [name, p] : params) {
      auto it = s.grads.find(name);
      if (it != s.grads.end()) p.set_grad(make_tensor(it->second, p.shape(), g.dtype));
    }
    if (g.clip > 0) {
      const double norm = clip_grad_norm(opt->parameters(), g.clip);
      EXPECT_NEAR(norm, s.norm, 1e-6 * s.norm);
    }
    opt->step();
    for (auto& [name, p] : params) expect_close(p, s.expect.at(name), rtol, atol, name);
  }
}

// float64: tlm and PyTorch agree to rounding (measured < 1e-13); 1e-10 leaves room for FMA.
TEST(OptimGolden, AdamWF64) { replay("optim_adamw_f64.txt", 1e-10, 1e-14); }
TEST(OptimGolden, SgdMomentumF64) { replay("optim_sgd_f64.txt", 1e-10, 1e-14); }
TEST(OptimGolden, SgdNesterovF64) { replay("optim_sgd_nesterov_f64.txt", 1e-10, 1e-14); }
TEST(OptimGolden, LionF64) { replay("optim_lion_f64.txt", 1e-10, 1e-14); }
TEST(OptimGolden, LionNlpBetasClipAndGroupDecayF64) { replay("optim_lion_nlp_f64.txt", 1e-10, 1e-14); }
TEST(OptimGolden, AdamWTorchDefaultsLargeEpsF64) { replay("optim_adamw_torch_f64.txt", 1e-10, 1e-14); }
// float32 vs PyTorch float32: same operation order; measured differences are a few ulp
// (up to ~1e-7 absolute, ~1e-6 relative on elements near 0.005).
TEST(OptimGolden, AdamWF32) { replay("optim_adamw_f32.txt", 1e-6, 1e-7); }
TEST(OptimGolden, SgdMomentumF32) { replay("optim_sgd_f32.txt", 1e-6, 1e-7); }
TEST(OptimGolden, SgdNesterovF32) { replay("optim_sgd_nesterov_f32.txt", 1e-6, 1e-7); }
TEST(OptimGolden, LionF32) { replay("optim_lion_f32.txt", 1e-6, 1e-7); }
TEST(OptimGolden, LionNlpBetasClipAndGroupDecayF32) { replay("optim_lion_nlp_f32.txt", 1e-6, 1e-7); }
TEST(OptimGolden, AdamWTorchDefaultsLargeEpsF32) { replay("optim_adamw_torch_f32.txt", 1e-6, 1e-7); }

}  // namespace
}  // namespace tlm::optim
