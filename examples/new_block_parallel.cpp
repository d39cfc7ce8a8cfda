// Worked extension 4 (docs/extending.md): a new block type, selectable by `block = parallel`.
//
//   GPT-J / PaLM's parallel block (Wang & Komatsuzaki 2021; Chowdhery et al. 2022,
//   arXiv:2204.02311 §2): attention and MLP read the same normed input, side by side,
//
//     y = x + Attn(LN(x)) + MLP(LN(x))          (the sequential block: h = x + Attn(LN_1(x)),
//                                                 y = h + MLP(LN_2(h)))
//
// The whole extension is this file: the block (a subclass of nn::Block, nn/block.h) and one
// registration line (nn::RegisterBlock, nn/block_registry.h). GPT, LoRA (its Linears through
// for_each_linear), `tlm diag` (its attention and cost through the interface), checkpoints
// (parameters h.i.ln_1, h.i.attn.*, h.i.mlp.*) and the config's `block` choices take it from
// there. Inside the library it would be a file pair nn/parallel_block.{h,cpp} (the block and a
// function returning the same entry, as nn/gau.cpp:gau_block_type does), its test, and one line
// listing it in nn/block_registry.cpp. The block has no hyperparameter of its own; a block type
// that has one names it as a key of its entry (GAU: gau_expansion, gau_attn_size), and the
// memory estimates count an entry without a `shape` as a Transformer block.
//
// ctest runs this program (example_new_block_parallel): it gradchecks the block in float64
// (input and every parameter), checks the names and cost of a GPT built of it, and trains it
// 30 steps through the command line, `tlm train --set block=parallel ...`, which it is: given
// arguments, this program is `tlm` with the block registered.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/gradcheck.h"
#include "nn/block_registry.h"
#include "nn/gpt.h"
#include "nn/init.h"
#include "nn/mlp.h"
#include "nn/norm.h"
#include "train/cli/cli.h"
#include "train/diag/diag.h"
#include "train/run/trainer.h"

namespace tlm {

class ParallelBlock : public nn::Block {
 public:
  ParallelBlock(const nn::BlockOptions& o, Rng& rng)
      : ln_1(nn::make_norm(o.norm_type, o.attn.n_embd, o.attn.bias, o.norm_eps)),
        attn(o.attn, rng),
        mlp(o.attn.n_embd,
            o.mlp_hidden > 0 ? o.mlp_hidden : nn::MLP::default_hidden(o.attn.n_embd, o.ffn), o.ffn,
            o.attn.bias, o.attn.dropout, rng),
        C_(o.attn.n_embd) {
    register_module("ln_1", *ln_1);
    register_module("attn", attn);
    register_module("mlp", mlp);
    // GPT-2's init (nn/transformer_block.h): weights N(0, 0.02), the two residual outputs
    // N(0, 0.02 / sqrt(2N)).
    const double std = 0.02 / std::sqrt(2.0 * static_cast<double>(o.n_layer));
    nn::init::normal_(attn.c_proj.weight, rng, std);
    nn::init::normal_(mlp.c_proj.weight, rng, std);
  }

  // x [B,T,C] -> x + Attn(LN(x)) + MLP(LN(x))
  Tensor forward(const Tensor& x, Rng& rng, nn::KVCache::Layer* cache = nullptr,
                 int64_t offset = 0) override {
    Tensor h = ln_1->forward(x);  // [B,T,C]
    return add(add(x, attn.forward(h, rng, cache, offset)), mlp.forward(h, rng));
  }
  void for_each_linear(const LinearVisitor& fn) override {
    fn("attn.c_attn", attn.c_attn);
    fn("attn.c_proj", attn.c_proj);
    fn("mlp.c_fc", mlp.c_fc);
    fn("mlp.c_proj", mlp.c_proj);
  }
  void set_attention_probe(nn::AttentionProbe* probe) override { attn.probe = probe; }
  double attention_flops_per_token(int64_t T) const override {  // as the Transformer block
    return 12.0 * static_cast<double>(C_) * static_cast<double>(T);
  }
  nn::CostComponent component_of(const std::string& name) const override {
    if (name.rfind("attn.", 0) == 0) return nn::CostComponent::Attention;
    if (name.rfind("mlp.", 0) == 0) return nn::CostComponent::Mlp;
    return nn::CostComponent::Norms;  // ln_1
  }

  std::unique_ptr<nn::Norm> ln_1;  // [C], shared by both branches
  nn::CausalSelfAttention attn;
  nn::MLP mlp;

 private:
  int64_t C_;
};

// Block `layer` of a model with config c (the registry's factory signature).
std::unique_ptr<nn::Block> make_parallel(const nn::GPTConfig& c, int64_t layer, Rng& rng) {
  return std::make_unique<ParallelBlock>(nn::block_options(c, layer), rng);
}

// Run by GPTConfig::validate (and by the config's validate, train/io/config.cpp): the block is
// pre-norm by construction.
void check_parallel(const nn::GPTConfig& c) {
  TLM_CHECK(c.norm == nn::NormPlacement::Pre, "GPTConfig.norm: block = parallel is pre-norm only "
            "(x + Attn(LN(x)) + MLP(LN(x))), got norm = {}", nn::name_of(c.norm));
}

// The registration: `block = parallel` now builds ParallelBlock layers.
static const nn::RegisterBlock kParallel({"parallel", "x + Attn(LN(x)) + MLP(LN(x)) (GPT-J, PaLM)",
                                          {}, make_parallel, check_parallel});

}  // namespace tlm

namespace {

using namespace tlm;

bool check(bool ok, const std::string& what) {
  fmt::print("{}: {}\n", what, ok ? "ok" : "FAILED");
  return ok;
}

// Every parameter entry's gradient against a central difference of the same loss (float64).
bool parameter_grads_match(nn::Module& m, const std::function<Tensor()>& loss_fn) {
  m.zero_grad();
  loss_fn().backward();
  double worst = 0;
  for (auto& [name, p_const] : m.named_parameters()) {
    Tensor p = p_const;
    const std::vector<double> g = p.grad().to_vector<double>();
    double* d = p.data<double>();
    for (int64_t i = 0; i < p.numel(); ++i) {
      const double orig = d[i], eps = 1e-6;
      double lp, lm;
      {
        NoGradGuard no_grad;
        d[i] = orig + eps;
        lp = loss_fn().item();
        d[i] = orig - eps;
        lm = loss_fn().item();
        d[i] = orig;
      }
      const double num = (lp - lm) / (2 * eps);
      const double err = std::abs(g[static_cast<size_t>(i)] - num);
      if (err > 1e-7 + 1e-5 * std::abs(num)) {
        fmt::print("  {}[{}]: analytic {:.10g}, numeric {:.10g}\n", name, i, g[i], num);
        return false;
      }
      worst = std::max(worst, err);
    }
  }
  fmt::print("  parameters: max abs error {:.2e}\n", worst);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) return cli::run(argc, argv);  // `tlm` with the block registered
  bool ok = true;

  // 1. Gradients in float64: the input's by gradcheck, every parameter's by central differences.
  {
    Rng rng(3);
    nn::BlockOptions o;
    o.attn.n_embd = 8, o.attn.n_head = 2, o.attn.block_size = 8, o.attn.pos = nn::Pos::Rope;
    o.n_layer = 2;
    ParallelBlock block(o, rng);
    block.to(DType::F64);
    const Tensor x = Tensor::randn({2, 5, 8}, rng, 1.0, DType::F64);
    GradcheckResult r =
        gradcheck([&](const std::vector<Tensor>& in) { return block.forward(in[0], rng); }, {x});
    ok = check(r.ok, fmt::format("parallel block input gradcheck (max abs error {:.2e})",
                                 r.max_abs_error)) && ok;
    const Tensor w = Tensor::randn({2, 5, 8}, rng, 1.0, DType::F64);
    ok = check(parameter_grads_match(block, [&] { return sum(mul(block.forward(x, rng), w)); }),
               "parallel block parameter gradients") && ok;
    // The formula, from its parts: x + Attn(LN(x)) + MLP(LN(x)).
    NoGradGuard no_grad;
    Tensor h = block.ln_1->forward(x);
    Tensor want = add(add(x, block.attn.forward(h, rng)), block.mlp.forward(h, rng));
    const std::vector<double> a = block.forward(x, rng).to_vector<double>(), b = want.to_vector<double>();
    ok = check(a == b, "y = x + Attn(LN(x)) + MLP(LN(x))") && ok;
  }

  // 2. A GPT of parallel blocks: checkpoint names, FLOPs and diag cost through the interface.
  {
    Rng rng(4);
    nn::GPTConfig c;
    c.vocab_size = 11, c.block_size = 16, c.n_layer = 2, c.n_head = 2, c.n_embd = 8;
    c.block = "parallel";
    nn::GPT model(c, rng);
    const auto state = model.state_dict();
    ok = check(state.count("h.1.ln_1.weight") && state.count("h.1.attn.c_attn.weight") &&
                   state.count("h.1.mlp.c_proj.weight") && !state.count("h.1.ln_2.weight"),
               "parameters named h.i.ln_1, h.i.attn.*, h.i.mlp.* (one norm)") && ok;
    double flops = 0;
    bool placed = true;
    for (const auto& r : train::diag::cost_by_component(model)) {
      flops += r.flops_per_token;
      placed = placed && r.component != "other";
    }
    ok = check(placed && flops == model.flops_per_token(), "diag cost places every parameter") && ok;
    nn::GPTConfig post = c;
    post.norm = nn::NormPlacement::Post;
    bool refused = false;
    try {
      post.validate();
    } catch (const Error& e) {
      refused = std::string(e.what()).find("pre-norm only") != std::string::npos;
    }
    ok = check(refused, "norm = post refused with the reason") && ok;
  }

  // 3. Through the command line: 30 steps of `tlm train --set block=parallel` lower the loss,
  // and the checkpoint loads back as parallel blocks.
  {
    const std::string out = "example_new_block_parallel_out";
    std::filesystem::remove_all(out);
    std::vector<std::string> args = {
        argv[0], "train", "--set", "block=parallel", "--set", "n_layer=2", "--set", "n_head=2",
        "--set", "n_embd=32", "--set", "block_size=32", "--set", "batch_size=4",
        "--set", "max_iters=30", "--set", "warmup_iters=0", "--set", "learning_rate=3e-3",
        "--set", "eval_interval=30", "--set", "eval_iters=2", "--set", "out_dir=" + out};
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    const int rc = cli::run(static_cast<int>(cargs.size()), cargs.data());
    ok = check(rc == 0, "tlm train --set block=parallel ...") && ok;
    std::vector<double> losses;
    std::ifstream log(out + "/log.jsonl");
    for (std::string line; std::getline(log, line);) {
      auto j = nlohmann::json::parse(line);
      if (j.value("kind", "") == "step") losses.push_back(j.at("loss").get<double>());
    }
    ok = check(losses.size() >= 2 && losses.back() < losses.front() - 0.5,
               fmt::format("training lowers the loss ({:.4f} -> {:.4f})",
                           losses.empty() ? NAN : losses.front(), losses.empty() ? NAN : losses.back())) && ok;
    train::LoadedModel m = train::load_model(out + "/ckpt.bin");
    ok = check(m.config.block == "parallel" && dynamic_cast<ParallelBlock*>(m.model->h[0].get()),
               "the checkpoint loads back as parallel blocks") && ok;
    std::filesystem::remove_all(out);
  }
  fmt::print("{}\n", ok ? "all ok" : "FAILED");
  return ok ? 0 : 1;
}
