// Tokenizer throughput (MB/s of text encoded) on data/tinyshakespeare.txt (1.1 MB), the text
// repeated 8 times (8.9 MB: the pre-token cache is warm after the first copy), and the same on
// 1 and 2 threads through encode_parallel (wall-clock time: the threads' work is not CPU time of
// the main thread). Tokenizers trained on the text itself: char (65 ids), bpe 1024 and 4352.
// BM_BpeTrain: training tlm's BPE on the 1.1 MB text, for 256..4096 merges (time per merge
// count shows the growth: the incremental pair counts make it far from quadratic).
// Run: ./build/bench_tokenizer   (configure with -DTLM_BUILD_BENCH=ON)
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "train/data/bpe_tokenizer.h"
#include "train/data/data.h"
#include "train/data/parallel_encode.h"
#include "train/data/tokenizer.h"

namespace tlm::train {
namespace {

const std::string& text(int copies) {
  static const std::string one = read_text_file(TLM_SOURCE_DIR "/data/tinyshakespeare.txt");
  static std::string eight;
  if (copies == 1) return one;
  if (eight.empty())
    for (int i = 0; i < 8; ++i) eight += one;
  return eight;
}

const Tokenizer& tokenizer(int kind) {  // 0: char, 1: bpe 1024, 2: bpe 4352
  static std::unique_ptr<Tokenizer> toks[3];
  if (!toks[kind])
    toks[kind] = kind == 0 ? make_tokenizer("char", text(1))
                           : make_tokenizer("bpe", text(1), {{"bpe_vocab_size", kind == 1 ? 1024 : 4352}});
  return *toks[kind];
}

// Args: tokenizer kind, copies of the text, threads.
void BM_Encode(benchmark::State& state) {
  const Tokenizer& tok = tokenizer(static_cast<int>(state.range(0)));
  const std::string& t = text(static_cast<int>(state.range(1)));
  const int threads = static_cast<int>(state.range(2));
  size_t n = 0;
  for (auto _ : state) {
    std::vector<int32_t> ids = encode_parallel(tok, t, threads, size_t{1} << 20);
    n = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(t.size()) * state.iterations() / 1e6,
                                              benchmark::Counter::kIsRate);
  state.counters["tokens"] = static_cast<double>(n);
  state.SetLabel(fmt::format("{} vocab {}, {:.1f} MB, {} thread(s)", tok.name(), tok.vocab_size(),
                             static_cast<double>(t.size()) / 1e6, threads));
}
BENCHMARK(BM_Encode)
    ->ArgsProduct({{0, 1, 2}, {1, 8}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_BpeTrain(benchmark::State& state) {
  const auto merges = static_cast<int32_t>(state.range(0));
  for (auto _ : state) {
    BpeTokenizer tok = BpeTokenizer::train(text(1), 256 + merges);
    benchmark::DoNotOptimize(tok.vocab_size());
  }
  state.SetLabel(fmt::format("{} merges on 1.1 MB", merges));
}
BENCHMARK(BM_BpeTrain)->RangeMultiplier(2)->Range(256, 4096)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tlm::train

BENCHMARK_MAIN();
